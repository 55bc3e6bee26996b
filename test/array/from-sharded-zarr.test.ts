import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ChunkDecodeError, ShardIndexError, fromZarr, slice } from "@zask/array";
import { TaskError } from "@zask/scheduler";
import { serveRangesDuringTests } from "../helpers/range-server.ts";
import { writeShardedStore } from "../helpers/sharded-store.ts";
import { sharedBodyPool } from "../../packages/scheduler/src/http/shared-body-pool.ts";

// 40 x 47 float32, shards [40, 20] (3 shards, the last one partial), inner chunks [40, 5]:
// 4 inner chunks per shard, 10 blocks along axis 1, gzip inner codec; index at the end.
const dir = mkdtempSync(join(tmpdir(), "zask-sharded-"));
const SHAPE = [40, 47];
const DATA = Float32Array.from({ length: 40 * 47 }, (_, i) => (i % 997) + 0.25);
const INDEX = 16 * 4 + 4;
const column = (j: number, data = DATA) => Array.from({ length: 40 }, (_, i) => data[i * 47 + j]!);
const spec = { shape: SHAPE, shards: [40, 20], chunks: [40, 4], data: DATA, codec: "gzip" as const };
writeShardedStore(join(dir, "a.zarr"), { ...spec, chunks: [40, 5] });
writeShardedStore(join(dir, "start.zarr"), { ...spec, chunks: [40, 5], indexLocation: "start" });
// inner chunk 3 (columns 15-19) empty, shard 2 (columns 40-46) absent
writeShardedStore(join(dir, "holes.zarr"), { ...spec, chunks: [40, 5], omitChunk: (c) => c[1] === 3, omitShard: (s) => s[1] === 2 });
const holes = Float32Array.from(DATA, (v, i) => ((i % 47 >= 15 && i % 47 < 20) || i % 47 >= 40 ? 0 : v));

const server = serveRangesDuringTests(dir);

/** The byte range of inner chunk `e` of shard file `file` (index at the end). */
function entry(file: string, e: number): [number, number] {
  const bytes = readFileSync(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset + bytes.byteLength - INDEX);
  return [Number(view.getBigUint64(16 * e, true)), Number(view.getBigUint64(16 * e + 8, true))];
}

describe("a sharded zarr v3 array over HTTP", () => {
  test("has the inner chunks as its blocks, shows its shard shape, and reads back the values written", async () => {
    const x = await fromZarr(`${server.url}/a.zarr`);
    assert.deepEqual(x.chunks, [[40], [5, 5, 5, 5, 5, 5, 5, 5, 5, 2]]);
    assert.deepEqual(x.shards, [40, 20]);
    assert.deepEqual(x.slice(null, slice(0, 5)).shards, undefined);
    const all = await x.compute();
    assert.deepEqual(Array.from(all.data as Float32Array), Array.from(DATA));
  });

  test("reads one column with a suffix range for the index and one range for its inner chunk, then with one request once the index is cached", async () => {
    const x = await fromZarr(`${server.url}/a.zarr`);
    server.reset();
    const one = await x.slice(null, [27]).compute();
    assert.deepEqual(Array.from(one.data as Float32Array), column(27));
    const [offset, length] = entry(join(dir, "a.zarr/c/0/1"), 1); // column 27: shard 1, inner chunk 1
    assert.deepEqual(
      server.log.map((e) => [e.path, e.range]),
      [
        ["/a.zarr/c/0/1", `bytes=-${INDEX}`],
        ["/a.zarr/c/0/1", `bytes=${offset}-${offset + length - 1}`],
      ],
    );
    assert.deepEqual(server.totals(), { requests: 2, bytes: INDEX + length });
    server.reset();
    await x.slice(null, [26]).compute();
    assert.deepEqual(server.totals(), { requests: 1, bytes: length });
  });

  test("reads an index once however many tasks of a compute need it at once", async () => {
    const x = await fromZarr(`${server.url}/a.zarr`);
    server.reset();
    await x.compute({ coalesce: { maxGap: 0, maxBytes: 1 } });
    const indexReads = server.log.filter((e) => e.range?.startsWith("bytes=-"));
    assert.deepEqual(indexReads.map((e) => e.path).sort(), ["/a.zarr/c/0/0", "/a.zarr/c/0/1", "/a.zarr/c/0/2"]);
    // maxBytes 1: no merging, one request per inner chunk besides the indexes
    assert.equal(server.totals().requests, 3 + 10);
  });

  test("reads adjacent inner chunks of one shard with one request, and a full scan with at most 2 requests per shard", async () => {
    const x = await fromZarr(`${server.url}/a.zarr`);
    server.reset();
    const r = await x.slice(null, [1, 7, 12, 30]).compute(); // inner chunks 0, 1, 2 (shard 0) and 6 (shard 1)
    const cols = [1, 7, 12, 30];
    assert.deepEqual(
      Array.from(r.data as Float32Array),
      Array.from({ length: 160 }, (_, t) => DATA[Math.floor(t / 4) * 47 + cols[t % 4]!]!),
    );
    assert.deepEqual(server.totals().requests, 2 + 2);
    server.reset();
    const y = await fromZarr(`${server.url}/a.zarr`);
    await y.mean({ axis: 0 }).compute();
    const perShard = new Map<string, number>();
    for (const e of server.log) if (e.path.includes("/c/")) perShard.set(e.path, (perShard.get(e.path) ?? 0) + 1);
    assert.deepEqual([...perShard.values()], [2, 2, 2]);
  });

  test("computes that reuse the shared bodies of earlier ones read their own values, and persisted blocks stay intact", async () => {
    const x = await fromZarr(`${server.url}/a.zarr`);
    const persisted = await x.slice(null, slice(0, 20)).persist();
    const cols = [0, 1, 2, 3, 6, 7, 8, 25, 26, 27, 28, 40, 41, 45];
    const picked = Array.from({ length: 40 * cols.length }, (_, t) => DATA[Math.floor(t / cols.length) * 47 + cols[t % cols.length]!]!);
    const before = sharedBodyPool.reused;
    for (let round = 0; round < 3; round++) {
      const all = await (await fromZarr(`${server.url}/a.zarr`)).compute();
      assert.deepEqual(Array.from(all.data as Float32Array), Array.from(DATA), `round ${round}`);
      const some = await (await fromZarr(`${server.url}/a.zarr`)).slice(null, cols).compute();
      assert.deepEqual(Array.from(some.data as Float32Array), picked, `round ${round}`);
    }
    assert.ok(sharedBodyPool.reused > before, "later computes read into bodies earlier ones gave back");
    const again = await persisted.compute();
    assert.deepEqual(
      Array.from(again.data as Float32Array),
      Array.from({ length: 40 * 20 }, (_, t) => DATA[Math.floor(t / 20) * 47 + (t % 20)]!),
    );
  });

  test("planAsync() reads the indexes it needs and predicts the requests and bytes the server sees; plan() is exact once they are cached", async () => {
    const x = await fromZarr(`${server.url}/a.zarr`);
    const q = x.slice(null, [3, 8, 22, 46]);
    assert.equal(q.plan().exact, false);
    server.reset();
    const p = await q.planAsync();
    assert.deepEqual(p.indexes, { requests: 3, bytes: 3 * INDEX, readByPlan: 3 });
    await q.compute();
    assert.deepEqual(server.totals(), { requests: p.requests, bytes: p.readBytes });
    assert.equal(p.exact, true);
    server.reset();
    const again = q.plan();
    assert.deepEqual([again.exact, again.indexes!.requests], [true, 0]);
    await q.compute();
    assert.deepEqual(server.totals(), { requests: again.requests, bytes: again.readBytes });
  });

  test("reads the index of a shard that keeps it at the start with a prefix range", async () => {
    const x = await fromZarr(`${server.url}/start.zarr`);
    server.reset();
    const r = await x.slice(null, [44]).compute();
    assert.deepEqual(Array.from(r.data as Float32Array), column(44));
    assert.equal(server.log[0]!.range, `bytes=0-${INDEX - 1}`);
    assert.equal(server.totals().requests, 2);
  });

  test("reads an empty inner chunk and an absent shard as the fill value, with no request beyond their index", async () => {
    const x = await fromZarr(`${server.url}/holes.zarr`);
    server.reset();
    const r = await x.slice(null, [16, 41]).compute();
    assert.deepEqual(Array.from(r.data as Float32Array), new Array(80).fill(0));
    assert.deepEqual(server.log.map((e) => [e.path, e.status]).sort(), [
      ["/holes.zarr/c/0/0", 206],
      ["/holes.zarr/c/0/2", 404],
    ]);
    const all = await x.compute();
    assert.deepEqual(Array.from(all.data as Float32Array), Array.from(holes));
  });
});

describe("a sharded zarr v3 array in a local directory", () => {
  test("reads the same values with positioned reads and the same plan", async () => {
    const x = await fromZarr(join(dir, "holes.zarr"));
    const p = await x.planAsync();
    const before = { ...x.stores[0]!.counters };
    const all = await x.compute();
    assert.deepEqual(Array.from(all.data as Float32Array), Array.from(holes));
    const c = x.stores[0]!.counters;
    assert.equal(p.exact, true);
    assert.equal(c.requests - before.requests + p.indexes!.requests, p.requests);
  });
});

describe("a shard with a bad index", () => {
  const bad = (name: string, edit: (shard: Uint8Array, view: DataView) => void): string => {
    const where = join(dir, `${name}.zarr`);
    writeShardedStore(where, { ...spec, chunks: [40, 5] });
    const file = join(where, "c/0/0");
    const shard = new Uint8Array(readFileSync(file));
    edit(shard, new DataView(shard.buffer, shard.byteLength - INDEX));
    writeFileSync(file, shard);
    return where;
  };
  const rejectsWith = async (name: string, check: (e: ShardIndexError) => void): Promise<void> => {
    const x = await fromZarr(`${server.url}/${name}.zarr`);
    await assert.rejects(x.slice(null, [7]).compute(), (e: unknown) => {
      assert.ok(e instanceof TaskError);
      assert.ok(e.cause instanceof ShardIndexError, String(e.cause));
      assert.equal(e.cause.shard, `${server.url}/${name}.zarr/c/0/0`);
      check(e.cause);
      return true;
    });
  };

  test("whose crc32c does not match is a ShardIndexError naming the shard's URL", async () => {
    bad("crc", (_s, v) => v.setUint32(16, v.getUint32(16, true) + 1, true)); // offset of inner chunk 1
    await rejectsWith("crc", (e) => assert.match(e.message, /crc32c 0x[0-9a-f]{8} does not match the stored 0x[0-9a-f]{8}/));
  });

  const withCrc = (v: DataView, edit: () => void): void => {
    edit();
    // a valid crc32c over the edited entries, so that the entries themselves are checked
    const entries = new Uint8Array(v.buffer, v.byteOffset, 64);
    v.setUint32(64, crc32c(entries), true);
  };

  test("with an entry past the end of the shard is a ShardIndexError naming the shard and the inner chunk", async () => {
    bad("past-end", (s, v) => withCrc(v, () => v.setBigUint64(16 * 2, BigInt(s.byteLength), true)));
    await rejectsWith("past-end", (e) => {
      assert.deepEqual(e.chunk, [0, 2]);
      assert.match(e.message, /outside the shard's data/);
    });
  });

  test("with an absurd length is a ShardIndexError, and nothing of that size is allocated", async () => {
    bad("absurd", (_s, v) => withCrc(v, () => v.setBigUint64(16 * 1 + 8, 2n ** 62n, true)));
    await rejectsWith("absurd", (e) => {
      assert.deepEqual(e.chunk, [0, 1]);
      assert.match(e.message, /entry length 4611686018427387904 is more than an encoded inner chunk can be/);
    });
  });
});

test("an inner chunk whose bytes do not decode is a ChunkDecodeError naming the shard's URL and the inner chunk", async () => {
  const where = join(dir, "garbled.zarr");
  writeShardedStore(where, { ...spec, chunks: [40, 5] });
  const file = join(where, "c/0/0");
  const shard = new Uint8Array(readFileSync(file));
  const [offset, length] = entry(file, 1);
  shard.fill(0x55, offset, offset + length); // not gzip any more, same length
  writeFileSync(file, shard);
  const x = await fromZarr(`${server.url}/garbled.zarr`);
  await assert.rejects(x.slice(null, [7]).compute(), (e: unknown) => {
    assert.ok(e instanceof TaskError);
    assert.ok(e.cause instanceof ChunkDecodeError, String(e.cause));
    assert.equal(e.cause.url, `${server.url}/garbled.zarr/c/0/0`);
    assert.match(e.cause.chunkKey, /^c\/0\/0 \(inner chunk \[0, 1\]\)$/);
    return true;
  });
});

// the same crc32c zask uses (a well-kept package), for the tests that forge valid checksums
import { crc32c as crc } from "@aws-crypto/crc32c";
function crc32c(bytes: Uint8Array): number {
  return crc(bytes) >>> 0;
}
