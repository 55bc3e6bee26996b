import assert from "node:assert/strict";
import { test } from "node:test";
import { concatenate, fromTypedArray, fromZarr, slice, stack } from "@zask/array";
import { FIXTURES, expected, plain } from "./helpers.ts";

test("concatenate along axis 0 matches numpy, reusing the blocks", async () => {
  const x = await fromZarr(FIXTURES + "dense.c5x4.blosc-lz4.f4.zarr");
  const y = concatenate([x, x.slice(slice(0, 4))]);
  const e = expected.ops["concatenate f4,f4[:4] axis 0"]!;
  assert.deepEqual(y.shape, e.shape);
  assert.deepEqual(y.chunks[0], [5, 5, 3, 4]);
  assert.deepEqual(plain(await y.compute()), e.data);
});

test("stack adds an axis, as numpy's stack", async () => {
  const u = await fromZarr(FIXTURES + "dense.c3.gzip.u2.zarr");
  const e = expected.ops["stack u2,u2 axis 1"]!;
  const s = stack([u, u], { axis: 1 });
  assert.deepEqual(s.shape, e.shape);
  assert.deepEqual(plain(await s.compute()), e.data);
});

test("concatenate promotes dtypes and rejects shapes that do not line up", async () => {
  const a = fromTypedArray(Int8Array.of(1, 2), [2]);
  const b = fromTypedArray(Int32Array.of(300), [1]);
  assert.throws(() => concatenate([a, fromTypedArray(new Int8Array(4), [2, 2])]), RangeError);
  assert.throws(() => concatenate([a], { axis: 1 }), RangeError);
  assert.throws(() => stack([a, b]), RangeError);
  assert.throws(() => concatenate([]), TypeError);
  const c = concatenate([a, b]);
  assert.equal(c.dtype, "int32");
  assert.deepEqual(Array.from((await c.compute()).data as Int32Array), [1, 2, 300]);
});
