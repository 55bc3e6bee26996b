import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { fromZarr } from "@zask/array";
import { IoLane } from "@zask/scheduler";
import { shardedLayers } from "../../packages/array/src/read-sessions.ts";
import { ShardReadSession } from "../../packages/array/src/shard-read-session.ts";
import type { ShardedReader } from "../../packages/array/src/sharded-reader.ts";
import { serveRangesDuringTests } from "../helpers/range-server.ts";
import { gridOf, writeShardedStore } from "../helpers/sharded-store.ts";

// 4 x 64 float32 in 16 shards of [4, 4], inner chunks [4, 2]: 2 inner chunks per shard
const dir = mkdtempSync(join(tmpdir(), "zask-shard-session-"));
const DATA = Float32Array.from({ length: 4 * 64 }, (_, i) => i + 0.5);
writeShardedStore(join(dir, "many.zarr"), { shape: [4, 64], shards: [4, 4], chunks: [4, 2], data: DATA });

const server = serveRangesDuringTests(dir);

/** The shards whose index the server has sent (suffix ranges), by number. */
const indexesRead = (): number[] =>
  server.log
    .filter((e) => e.range?.startsWith("bytes=-"))
    .map((e) => Number(e.path.split("/").pop()))
    .sort((a, b) => a - b);

async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!done() && Date.now() < deadline) await sleep(5);
}

test("a task's first read sends the indexes of the next 8 shards at once, and reads further on extend that window", async () => {
  const x = await fromZarr(`${server.url}/many.zarr`);
  const [[, reader]] = shardedLayers(x.graph) as [[unknown, ShardedReader]];
  const session = new ShardReadSession(reader, gridOf([1, 32]));
  const lane = new IoLane();
  server.reset();
  const first = await session.read(lane, [0, 0]);
  assert.ok(first !== null && first.byteLength === 4 * 2 * 4);
  await until(() => indexesRead().length >= 9);
  await sleep(30);
  // shard 0's own index, then shards 1-8 without waiting for one another
  assert.deepEqual(indexesRead(), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  await session.read(lane, [0, 9]); // shard 4
  await until(() => indexesRead().length >= 13);
  await sleep(30);
  assert.deepEqual(indexesRead(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  // every index once, and the values read from them are the inner chunks'
  const bytes = await session.read(lane, [0, 25]); // shard 12, its second inner chunk
  assert.deepEqual(
    Array.from(new Float32Array(bytes!.buffer.slice(bytes!.byteOffset, bytes!.byteOffset + bytes!.byteLength))),
    [50.5, 51.5, 114.5, 115.5, 178.5, 179.5, 242.5, 243.5],
  );
  assert.equal(server.log.filter((e) => e.range?.startsWith("bytes=-")).length, 13);
});

test("a compute asks for the indexes of its first 8 shards while it is prepared, before any task runs, and reads each index once", async () => {
  const x = await fromZarr(`${server.url}/many.zarr`);
  server.reset();
  const before = x.stores[0]!.counters.requests; // the metadata's
  let atStart = -1;
  const mean = await x.mean({ axis: 0 }).compute({ callbacks: { start: () => (atStart = x.stores[0]!.counters.requests - before) } });
  assert.equal(atStart, 8);
  assert.deepEqual(
    indexesRead(),
    Array.from({ length: 16 }, (_, k) => k),
  );
  const expected = Array.from({ length: 64 }, (_, j) => (j + 0.5 + (64 + j + 0.5) + (128 + j + 0.5) + (192 + j + 0.5)) / 4);
  assert.deepEqual(Array.from(mean.data as Float64Array), expected);
});
