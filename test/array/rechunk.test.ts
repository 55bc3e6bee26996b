import assert from "node:assert/strict";
import { test } from "node:test";
import { fromTypedArray, fromZarr } from "@zask/array";
import { FIXTURES, expected, plain } from "./helpers.ts";

test("rechunk regroups blocks without changing values (fixture values from numpy)", async () => {
  const name = "dense.c5x4.blosc-lz4.f4.zarr";
  const x = await fromZarr(FIXTURES + name);
  for (const spec of [[-1, 3], [2, 2], [[6, 7], [1, 10]], 13] as const) {
    const y = x.rechunk(spec as never);
    const r = await y.compute();
    assert.deepEqual(plain(r), expected.stores[name]!.data, JSON.stringify(spec));
  }
  assert.deepEqual(x.rechunk([-1, 3]).chunks, [[13], [3, 3, 3, 2]]);
});

test("rechunk to the same chunks is the same array; bad chunks throw", () => {
  const x = fromTypedArray(new Int32Array(6), [6], { chunks: 2 });
  assert.equal(x.rechunk(2), x);
  assert.throws(() => x.rechunk([[2, 2]]), RangeError);
});
