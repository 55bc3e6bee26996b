import assert from "node:assert/strict";
import { test } from "node:test";
import { computeArrays, fromZarr, ZarrStore } from "@zask/array";
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { FIXTURES, expected, mapStore, plain } from "./helpers.ts";

for (const [name, e] of Object.entries(expected.stores)) {
  test(`fromZarr reads ${name} (written by zarr-python) as numpy does`, async () => {
    const x = await fromZarr(FIXTURES + name);
    assert.deepEqual(x.shape, e.shape);
    assert.equal(x.dtype, e.dtype);
    const r = await x.compute();
    assert.deepEqual(r.shape, e.shape);
    assert.deepEqual(plain(r), e.data);
  });
}

test("a chunk the store does not have reads as the fill value, counted as missing", async () => {
  const store = new ZarrStore(FIXTURES + "missing.c3x4.blosc-lz4.fill7.i4.zarr");
  const x = await fromZarr(store);
  const r = await x.compute({ scheduler: "sync" });
  assert.deepEqual(plain(r), expected.stores["missing.c3x4.blosc-lz4.fill7.i4.zarr"]!.data);
  assert.equal(store.counters.chunkRequests, 6);
  assert.equal(store.counters.missingChunks, 4);
});

test("fromZarr accepts an opened zarrita Array and a zarrita store", async () => {
  const name = "dense.c5x4.blosc-lz4.f4.zarr";
  const arr = await zarr.open(new FileSystemStore(FIXTURES + name), { kind: "array" });
  const a = await fromZarr(arr);
  assert.deepEqual(plain(await a.compute()), expected.stores[name]!.data);
  const b = await fromZarr(new FileSystemStore(FIXTURES + name));
  assert.deepEqual(plain(await b.compute({ scheduler: "sync" })), expected.stores[name]!.data);
});

for (const transposed of [false, true]) {
  test(`fromZarr reads a zarr v3 array written by zarrita${transposed ? " with a transpose codec" : ""}, missing chunks as the fill value`, async () => {
    const store = new Map<string, Uint8Array>();
    const values = Float64Array.from({ length: 7 * 5 }, (_, i) => i * 1.5 - 3);
    const arr = await zarr.create(zarr.root(store).resolve("v3"), {
      shape: [7, 5],
      chunkShape: [3, 2],
      dtype: "float64",
      codecs: [...(transposed ? [{ name: "transpose", configuration: { order: [1, 0] } }] : []), { name: "bytes", configuration: { endian: "little" } }],
      fillValue: -1,
    });
    await zarr.set(arr, null, { data: values, shape: [7, 5], stride: [5, 1] });
    const x = await fromZarr(mapStore(store), { path: "v3" });
    assert.equal(x.dtype, "float64");
    assert.deepEqual(x.chunks, [
      [3, 3, 1],
      [2, 2, 1],
    ]);
    assert.deepEqual(Array.from((await x.compute()).data as Float64Array), Array.from(values));
    assert.ok(store.delete("/v3/c/2/2"));
    const y = await fromZarr(mapStore(store), { path: "v3" });
    const s = await y.compute({ scheduler: "sync" });
    assert.equal((s.data as Float64Array)[6 * 5 + 4], -1);
    assert.equal((s.data as Float64Array)[6 * 5 + 3], values[6 * 5 + 3]);
  });
}

test("an empty array whose other axes span several chunks is one empty block, and computes", async () => {
  const store = new Map<string, Uint8Array>();
  for (const shape of [
    [0, 4],
    [7, 1, 0],
  ]) {
    const path = `e${shape.length}`;
    await zarr.create(zarr.root(store).resolve(path), {
      shape,
      chunkShape: shape.map(() => 2),
      dtype: "int16",
      fillValue: 0,
      codecs: [{ name: "bytes", configuration: { endian: "little" } }],
    });
    const x = await fromZarr(mapStore(store), { path });
    assert.deepEqual(
      x.chunks,
      shape.map((n) => [n]),
    );
    const r = await x.compute();
    assert.deepEqual([r.shape, r.data.length, r.dtype], [shape, 0, "int16"]);
    assert.deepEqual((await x.sum({ axis: 0 }).compute()).shape, shape.slice(1));
  }
});

test("fromZarr names the location when there is no array", async () => {
  await assert.rejects(fromZarr(FIXTURES + "does-not-exist.zarr"), (e: Error) => e.name === "ZarrArrayError" && e.message.includes("does-not-exist.zarr"));
});

/** A zarr v3 shard by the spec: inner chunks (raw little-endian int32) then the index (offset, length) as uint64. */
function shard(inner: (Int32Array | null)[]): Uint8Array {
  const parts = inner.filter((c): c is Int32Array => c !== null).map((c) => new Uint8Array(c.buffer));
  const body = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(body + inner.length * 16);
  const index = new DataView(out.buffer, body);
  let offset = 0;
  inner.forEach((c, i) => {
    if (c === null) {
      index.setBigUint64(i * 16, 2n ** 64n - 1n, true);
      index.setBigUint64(i * 16 + 8, 2n ** 64n - 1n, true);
      return;
    }
    out.set(new Uint8Array(c.buffer), offset);
    index.setBigUint64(i * 16, BigInt(offset), true);
    index.setBigUint64(i * 16 + 8, BigInt(c.byteLength), true);
    offset += c.byteLength;
  });
  return out;
}

test("fromZarr reads a sharded zarr v3 array: one block per inner chunk, missing inner chunks as the fill value", async () => {
  const value = (i: number, j: number) => i * 10 + j;
  const inner = (r0: number, c0: number) => Int32Array.from({ length: 4 }, (_, t) => value(r0 + (t >> 1), c0 + (t & 1)));
  const bytes = { name: "bytes", configuration: { endian: "little" } };
  const meta = {
    zarr_format: 3,
    node_type: "array",
    shape: [6, 4],
    data_type: "int32",
    chunk_grid: { name: "regular", configuration: { chunk_shape: [4, 4] } },
    chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
    fill_value: -1,
    codecs: [{ name: "sharding_indexed", configuration: { chunk_shape: [2, 2], codecs: [bytes], index_codecs: [bytes], index_location: "end" } }],
    attributes: {},
  };
  const store = new Map<string, Uint8Array>([
    ["/s/zarr.json", new TextEncoder().encode(JSON.stringify(meta))],
    ["/s/c/0/0", shard([inner(0, 0), null, inner(2, 0), inner(2, 2)])],
    ["/s/c/1/0", shard([inner(4, 0), inner(4, 2), null, null])],
  ]);
  const zs = new ZarrStore(mapStore(store));
  const x = await fromZarr(zs, { path: "s" });
  assert.deepEqual(x.chunks, [
    [2, 2, 2],
    [2, 2],
  ]);
  assert.deepEqual(x.shards, [4, 4]);
  const r = await x.compute();
  const want = Array.from({ length: 24 }, (_, t) => {
    const [i, j] = [Math.floor(t / 4), t % 4];
    return i < 2 && j >= 2 ? -1 : value(i, j);
  });
  assert.deepEqual(Array.from(r.data as Int32Array), want);
  assert.deepEqual([zs.counters.chunkRequests, zs.counters.missingChunks], [6, 1]);
  assert.deepEqual(plain(await x.slice(5, [3, 0]).compute()), [53, 50]);
});

test("fromZarr with an aborted signal rejects without opening", async () => {
  const ac = new AbortController();
  ac.abort(new Error("no"));
  await assert.rejects(fromZarr(FIXTURES + "dense.c3.gzip.u2.zarr", { signal: ac.signal }), (e: Error) => e.message === "no");
});

test("every valid store of test/fixtures/bad-stores (each codec, C and Fortran order) reads as numpy wrote it", async () => {
  const { BAD, badExpected } = await import("./bad-stores.ts");
  for (const [name, e] of Object.entries(badExpected)) {
    if (!name.startsWith("dense.")) continue;
    const r = await (await fromZarr(BAD + name)).compute();
    assert.deepEqual(r.shape, e.shape, name);
    const want = e.dtype === "float32" ? e.data.map((v) => Math.fround(v)) : e.data;
    assert.deepEqual(Array.from(r.data as Float32Array | Float64Array), want, name);
  }
});

test("computeArrays computes several arrays in one run: chunks they share are read once, each result as its own compute gives it", async () => {
  const name = "dense.c5x4.blosc-lz4.f4.zarr";
  const store = new ZarrStore(FIXTURES + name);
  const x = await fromZarr(store);
  const sum = x.sum({ axis: 0 });
  const plus = x.add(1);
  const [a, b, c] = await computeArrays([sum, plus, x]);
  const chunks = x.chunks.reduce((n, c) => n * c.length, 1);
  assert.equal(store.counters.chunkRequests, chunks, "each chunk once for the three");
  assert.deepEqual(plain(a!), plain(await sum.compute()));
  assert.deepEqual(plain(b!), plain(await plus.compute()));
  assert.deepEqual(plain(c!), expected.stores[name]!.data);
  assert.deepEqual(await computeArrays([]), []);
});
