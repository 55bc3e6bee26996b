import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import { arange, fromTypedArray, ones } from "@zask/array";

test("a computed array prints like numpy's repr and still compares as a plain { data, shape, dtype }", async () => {
  const r = await fromTypedArray(new Int32Array([1, 2, 3, 4, 5, 6]), [2, 3], { chunks: [1, 3] }).compute();
  assert.equal(String(r), "array([[1, 2, 3], [4, 5, 6]], dtype=int32)");
  assert.equal(inspect(r), String(r));
  assert.deepEqual(r, { data: new Int32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3], dtype: "int32" });
});

test("a computed array of more than 1000 elements prints its first and last 3 along each axis", async () => {
  const r = await arange(2000, { chunks: 500 }).compute();
  assert.equal(String(r), `array([0, 1, 2, ..., 1997, 1998, 1999], dtype=${r.dtype})`);
});

test("compute()'s data type follows its dtype", async () => {
  const r = await ones([2], { chunks: 2, dtype: "float32" }).compute();
  assert.equal(r.dtype, "float32");
  if (r.dtype === "float32") {
    // narrowed without a cast (npm run typecheck checks this file)
    const data: Float32Array = r.data;
    assert.ok(data instanceof Float32Array);
  }
});
