import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fromZarr } from "@zask/array";
import { IoLane } from "@zask/scheduler";
import { shardedLayers } from "../../packages/array/src/read-sessions.ts";
import { ShardReadSession } from "../../packages/array/src/shard-read-session.ts";
import type { ShardedReader } from "../../packages/array/src/sharded-reader.ts";
import { serveRangesDuringTests } from "../helpers/range-server.ts";
import { gridOf, writeShardedStore } from "../helpers/sharded-store.ts";

// 6 x 40 float32 in 2 shards of [6, 20], inner chunks [6, 5]: gzip-compressed, and raw
const dir = mkdtempSync(join(tmpdir(), "zask-sharded-reader-"));
const DATA = Float32Array.from({ length: 6 * 40 }, (_, i) => i * 0.5);
writeShardedStore(join(dir, "gzip.zarr"), { shape: [6, 40], shards: [6, 20], chunks: [6, 5], data: DATA, codec: "gzip" });
writeShardedStore(join(dir, "raw.zarr"), { shape: [6, 40], shards: [6, 20], chunks: [6, 5], data: DATA, codec: "bytes" });

const server = serveRangesDuringTests(dir);

async function twoAdjacent(name: string): Promise<(Uint8Array | null)[]> {
  const x = await fromZarr(`${server.url}/${name}`);
  const [[, reader]] = shardedLayers(x.graph) as [[unknown, ShardedReader]];
  const session = new ShardReadSession(reader, gridOf([1, 2]));
  const lane = new IoLane();
  return Promise.all([session.read(lane, [0, 0]), session.read(lane, [0, 1])]);
}

test("reads the merged inner chunks of a compressed array into shared memory, those of an uncompressed one not", async () => {
  const [a, b] = await twoAdjacent("gzip.zarr");
  assert.ok(a!.buffer instanceof SharedArrayBuffer);
  assert.equal(a!.buffer, b!.buffer);
  // raw inner chunks decode to views of their bytes, which a result must not share
  const [c, d] = await twoAdjacent("raw.zarr");
  assert.ok(c!.buffer instanceof ArrayBuffer && d!.buffer instanceof ArrayBuffer);
});

test("computes the same values from shared and unshared reads, and no result lives in shared memory", async () => {
  for (const name of ["gzip.zarr", "raw.zarr"]) {
    const x = await fromZarr(`${server.url}/${name}`);
    const all = await x.compute();
    assert.deepEqual(Array.from(all.data as Float32Array), Array.from(DATA));
    assert.ok(!((all.data as Float32Array).buffer instanceof SharedArrayBuffer), name);
    const block = await x.slice(null, [7]).compute();
    assert.deepEqual(Array.from(block.data as Float32Array), [3.5, 23.5, 43.5, 63.5, 83.5, 103.5]);
    assert.ok(!((block.data as Float32Array).buffer instanceof SharedArrayBuffer), name);
  }
});
