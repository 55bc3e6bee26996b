import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import FileSystemStore from "@zarrita/storage/fs";
import * as zarr from "zarrita";
import { fromTypedArray, fromZarr } from "@zask/array";
import { serveRanges } from "../helpers/range-server.ts";

const dir = mkdtempSync(join(tmpdir(), "zask-to-zarr-v3-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// 30 x 23 float32 with a band of zeros (columns 8-11: whole inner chunks of zeros)
const DATA = Float32Array.from({ length: 30 * 23 }, (_, i) => (i % 23 >= 8 && i % 23 < 12 ? 0 : i * 0.5 + 1));
const x = () => fromTypedArray(DATA, [30, 23], { chunks: [10, 7] });

async function readWithZarrita(path: string): Promise<{ data: number[]; chunks: number[]; meta: Record<string, unknown> }> {
  const arr = await zarr.open.v3(new FileSystemStore(path), { kind: "array" });
  const got = await zarr.get(arr);
  return { data: Array.from(got.data as Float32Array), chunks: arr.chunks, meta: JSON.parse(readFileSync(join(path, "zarr.json"), "utf8")) };
}

test("toZarr with format 3 and shards writes a sharded array that zarrita reads back equal, index at the end with crc32c", async () => {
  const where = join(dir, "sharded.zarr");
  const r = await x().toZarr(where, { format: 3, chunks: [10, 4], shards: [20, 8], progress: false });
  assert.equal(r.chunks, 2 * 3); // shards: ceil(30 / 20) x ceil(23 / 8)
  const { data, chunks, meta } = await readWithZarrita(where);
  assert.deepEqual(data, Array.from(DATA));
  assert.deepEqual(chunks, [10, 4]);
  const codec = (meta["codecs"] as { name: string; configuration: Record<string, unknown> }[])[0]!;
  assert.equal(codec.name, "sharding_indexed");
  assert.deepEqual(codec.configuration["index_codecs"], [{ name: "bytes", configuration: { endian: "little" } }, { name: "crc32c" }]);
  assert.equal(codec.configuration["index_location"], "end");
  assert.deepEqual((meta["chunk_grid"] as { configuration: unknown }).configuration, { chunk_shape: [20, 8] });
  assert.deepEqual(readdirSync(join(where, "c")).sort(), ["0", "1"]);
});

test("toZarr leaves inner chunks of zeros and inner chunks outside the array out of their shard, and they read back as the fill value", async () => {
  const where = join(dir, "holes.zarr");
  await x().toZarr(where, { format: 3, chunks: [10, 4], shards: [30, 24], compressor: null, progress: false });
  const shard = readFileSync(join(where, "c/0/0"));
  const entries = 3 * 6;
  const index = new DataView(shard.buffer, shard.byteOffset + shard.byteLength - (16 * entries + 4));
  const empty = [];
  for (let e = 0; e < entries; e++) if (index.getBigUint64(16 * e, true) === 2n ** 64n - 1n) empty.push(e);
  // columns 8-11 are inner chunk column 2 (all zeros); column 5 (columns 20-23) is partly outside, column 6 does not exist
  assert.deepEqual(empty, [2, 8, 14]);
  assert.equal(shard.byteLength, 15 * 10 * 4 * 4 + 16 * entries + 4);
  assert.deepEqual((await readWithZarrita(where)).data, Array.from(DATA));
  const y = await fromZarr(where);
  assert.deepEqual(Array.from((await y.compute()).data as Float32Array), Array.from(DATA));
});

test('toZarr with shards "auto" sizes shards as anndata 0.13 does, and zask reads the array back over HTTP by inner chunk', async () => {
  const where = join(dir, "auto.zarr");
  await x().toZarr(where, { format: 3, chunks: [5, 4], shards: "auto", progress: false });
  const { meta } = await readWithZarrita(where);
  // 1 GiB holds far more than the array: the shard grows while it fits the array on every axis (n = 5: [25, 20])
  assert.deepEqual((meta["chunk_grid"] as { configuration: unknown }).configuration, { chunk_shape: [25, 20] });
  const server = await serveRanges(dir);
  try {
    const y = await fromZarr(`${server.url}/auto.zarr`);
    assert.deepEqual(y.shards, [25, 20]);
    assert.deepEqual(
      y.chunks.map((c) => c[0]),
      [5, 4],
    );
    assert.deepEqual(Array.from((await y.compute()).data as Float32Array), Array.from(DATA));
    // rewritten from HTTP as zarr v2: the inner chunks are read through one read plan (2 x 2 shards: an index and one request each)
    server.reset();
    await (await fromZarr(`${server.url}/auto.zarr`)).toZarr(join(dir, "back.v2.zarr"), { chunks: [30, 23], progress: false });
    assert.equal(server.log.filter((e) => e.path.includes("/c/")).length, 8);
    assert.deepEqual(Array.from((await (await fromZarr(join(dir, "back.v2.zarr"))).compute()).data as Float32Array), Array.from(DATA));
  } finally {
    await server.close();
  }
});

test("toZarr with format 3 and no shards writes an unsharded v3 array that zarrita reads back", async () => {
  const where = join(dir, "plain.zarr");
  await x().toZarr(where, { format: 3, chunks: [10, 10], compressor: { id: "gzip", level: 1 }, progress: false });
  const { data, chunks } = await readWithZarrita(where);
  assert.deepEqual(data, Array.from(DATA));
  assert.deepEqual(chunks, [10, 10]);
});

test("toZarr rejects shards that are not multiples of the chunks, and shards without format 3", async () => {
  await assert.rejects(
    x().toZarr(join(dir, "bad.zarr"), { format: 3, chunks: [10, 4], shards: [20, 6] }),
    /Expected `shards` to be "auto" or 2 positive multiples of the chunks \[10, 4\], got `\[20,6\]`/,
  );
  await assert.rejects(x().toZarr(join(dir, "bad2.zarr"), { shards: [20, 8] }), /Expected `format: 3` with `shards`/);
});
