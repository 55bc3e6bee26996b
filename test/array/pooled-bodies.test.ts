import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { encodeVlenUtf8, fromTypedArray, fromZarr, readPackedStrings } from "@zask/array";
import { close } from "@zask/scheduler";
import { bodyPool } from "@zask/scheduler/body-pool";
import { serveRangesDuringTests } from "../helpers/range-server.ts";

// 40 chunks of 6,000 float32 values (24 KB decoded each), so every chunk body is pooled
const dir = mkdtempSync(join(tmpdir(), "zask-pooled-bodies-"));
const N = 240_000;
const values = Float32Array.from({ length: N }, (_, i) => Math.sin(i) * 1000 + (i % 7));
await fromTypedArray(values, [N], { chunks: 6000 }).toZarr(join(dir, "blosc.zarr"));
await fromTypedArray(values, [N], { chunks: 6000 }).toZarr(join(dir, "raw.zarr"), { compressor: null });
// the same values less 1,000: a last chunk cut short, whose block is the start of its values
const EDGE = N - 1000;
await fromTypedArray(values.subarray(0, EDGE), [EDGE], { chunks: 6000 }).toZarr(join(dir, "raw-edge.zarr"), { compressor: null });
await fromTypedArray(values.subarray(0, EDGE), [EDGE], { chunks: 6000 }).toZarr(join(dir, "blosc-edge.zarr"));
const server = serveRangesDuringTests(dir);
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await close();
});

test("chunks read over HTTP and decoded on the main thread give their bodies back, and every value is right", async () => {
  const x = await fromZarr(`${server.url}/blosc.zarr`);
  for (let run = 0; run < 3; run++) {
    const free = bodyPool.freeBytes;
    const got = await x.compute({ inlineThreshold: Infinity });
    assert.deepEqual(got.data, values, `run ${run}`);
    if (run > 0) assert.ok(bodyPool.freeBytes >= free, "the bodies taken were given back");
  }
  assert.ok(bodyPool.freeBytes > 0, "bodies were given back to the pool");
  // a reduction over the same chunks after others reused the buffers
  const sum = (await x.sum().compute({ inlineThreshold: Infinity })).data[0] as number;
  let expect = 0;
  for (const v of values) expect += v;
  assert.ok(Math.abs(sum - expect) <= Math.abs(expect) * 1e-6, `${sum} vs ${expect}`);
});

test("uncompressed chunks, whose blocks view their bodies, are never given back", async () => {
  const x = await fromZarr(`${server.url}/raw.zarr`);
  const first = await x.compute({ inlineThreshold: Infinity });
  const free = bodyPool.freeBytes;
  // more reads of the compressed store reuse whatever is free: the raw result must not change
  await (await fromZarr(`${server.url}/blosc.zarr`)).compute({ inlineThreshold: Infinity });
  assert.deepEqual(first.data, values);
  assert.equal(bodyPool.freeBytes >= free, true);
});

test("persisted edge blocks, which view the start of their chunk's values, keep them while later reads reuse buffers", async () => {
  for (const name of ["raw-edge.zarr", "blosc-edge.zarr"]) {
    const kept = await (await fromZarr(`${server.url}/${name}`)).persist({ inlineThreshold: Infinity });
    // reads of other stores take whatever bodies and buffers are free
    for (let run = 0; run < 2; run++) await (await fromZarr(`${server.url}/blosc.zarr`)).compute({ inlineThreshold: Infinity });
    const got = await kept.compute({ inlineThreshold: Infinity });
    assert.equal(got.data.length, EDGE, name);
    assert.deepEqual(got.data, values.subarray(0, EDGE), name);
  }
});

test("bodies decoded on the worker pool come back to the main thread's pool, and every value is right", async () => {
  const x = await fromZarr(`${server.url}/blosc.zarr`);
  // a body is taken for every chunk and moved to a worker; the free list holds none of them
  for (let run = 0; run < 3; run++) {
    const got = await x.compute({ inlineThreshold: 0 });
    assert.deepEqual(got.data, values, `run ${run}`);
  }
  // on the pool, every body moves to a worker, which sends it back once decoded
  bodyPool.clear();
  const got = await x.compute({ inlineThreshold: 0 });
  assert.deepEqual(got.data, values);
  assert.ok(bodyPool.freeBytes > 0, "no body came back from the workers");
});

test("strings read packed from uncompressed vlen-utf8 chunks keep their bodies while later reads reuse buffers", async () => {
  // 40 chunks of 2,000 names (about 28 KB each), stored without a compressor
  const names = Array.from({ length: 80_000 }, (_, i) => `CELL-${String(i).padStart(8, "0")}`);
  const store = join(dir, "names.zarr");
  mkdirSync(store);
  const meta = {
    zarr_format: 2,
    shape: [names.length],
    chunks: [2000],
    dtype: "|O",
    compressor: null,
    fill_value: 0,
    filters: [{ id: "vlen-utf8" }],
    order: "C",
  };
  writeFileSync(join(store, ".zarray"), JSON.stringify(meta));
  for (let c = 0; c < 40; c++) writeFileSync(join(store, String(c)), encodeVlenUtf8(names.slice(c * 2000, (c + 1) * 2000)));
  const packed = await readPackedStrings(await fromZarr(`${server.url}/names.zarr`), { inlineThreshold: Infinity });
  assert.equal(packed?.length, names.length);
  for (let run = 0; run < 2; run++) await (await fromZarr(`${server.url}/blosc.zarr`)).compute({ inlineThreshold: Infinity });
  assert.deepEqual(packed?.toArray(), names);
});
