import assert from "node:assert/strict";
import { test } from "node:test";
import { arange, fromTypedArray, full, ones, zeros } from "@zask/array";
import { plain } from "./helpers.ts";

test("zeros, ones and full make blocks of the requested chunks and dtype", async () => {
  const z = zeros([5, 3], { chunks: [2, -1], dtype: "float32" });
  assert.deepEqual(z.chunks, [[2, 2, 1], [3]]);
  const rz = await z.compute();
  assert.ok(rz.data instanceof Float32Array);
  assert.deepEqual(Array.from(rz.data), new Array(15).fill(0));
  const o = await ones([4], { chunks: 3, dtype: "int64" }).compute({ scheduler: "sync" });
  assert.deepEqual(plain(o), ["1", "1", "1", "1"]);
  const f = await full([2, 2], 7, { dtype: "int8", chunks: 1 }).compute();
  assert.deepEqual(Array.from(f.data as Int8Array), [7, 7, 7, 7]);
  const b = await ones([3], { dtype: "bool" }).compute();
  assert.deepEqual(Array.from(b.data as Uint8Array), [1, 1, 1]);
  assert.equal(zeros([3]).dtype, "float64");
});

test("arange counts like numpy's arange, over blocks", async () => {
  const a = arange(10, { chunks: 4 });
  assert.deepEqual(a.chunks, [[4, 4, 2]]);
  assert.equal(a.dtype, "int64");
  assert.deepEqual(plain(await a.compute()), ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  const b = await arange(10, { start: 2, step: 3, dtype: "float32", chunks: 2 }).compute();
  assert.deepEqual(Array.from(b.data as Float32Array), [2, 5, 8]);
  const c = await arange(0, { start: 5, step: -2, dtype: "int32" }).compute();
  assert.deepEqual(Array.from(c.data as Int32Array), [5, 3, 1]);
});

test("fromTypedArray splits values into blocks that compute back to the same values", async () => {
  const data = Float64Array.from({ length: 24 }, (_, i) => i / 3);
  const x = fromTypedArray(data, [2, 3, 4], { chunks: [1, 2, 3] });
  assert.deepEqual(x.numBlocks, [2, 2, 2]);
  assert.equal(x.dtype, "float64");
  assert.deepEqual(Array.from((await x.compute()).data as Float64Array), Array.from(data));
  const s = fromTypedArray(["a", "b", "c"], [3], { chunks: 2 });
  assert.deepEqual((await s.compute()).data, ["a", "b", "c"]);
});

test("constructors reject bad shapes, chunks and dtypes", () => {
  assert.throws(() => zeros([2, -1]), TypeError);
  assert.throws(
    () => zeros([4], { chunks: 0 }),
    (e: Error) => e instanceof RangeError && /got `0`/.test(e.message),
  );
  assert.throws(() => zeros([4], { dtype: "float16" as never }), TypeError);
  assert.throws(() => fromTypedArray(new Float32Array(5), [2, 2]), RangeError);
  assert.throws(() => arange(5, { step: 0 }), RangeError);
});
