import assert from "node:assert/strict";
import { test } from "node:test";
import { arange, fromTypedArray, fromZarr, slice } from "@zask/array";
import { FIXTURES, describe, expected, plain, toSelector } from "./helpers.ts";

for (const [name, e] of Object.entries(expected.stores)) {
  for (const sel of e.selections) {
    test(`slice ${describe(sel.selectors)} of ${name} equals numpy's orthogonal selection`, async () => {
      const x = await fromZarr(FIXTURES + name);
      const y = x.slice(...sel.selectors.map(toSelector));
      assert.deepEqual(y.shape, sel.shape);
      const r = await y.compute();
      assert.deepEqual(r.shape, sel.shape);
      assert.deepEqual(plain(r), sel.data);
    });
  }
}

test("a selection references only the blocks it touches", async () => {
  const x = await fromZarr(FIXTURES + "dense.c5x4.blosc-lz4.f4.zarr"); // blocks 3 x 3
  const y = x.slice(slice(0, 5), [9, 1]); // row block 0; column blocks 2 and 0
  assert.equal(y.plan().requests, 2);
  assert.deepEqual(y.chunks, [[5], [1, 1]]);
  assert.equal(x.slice(7).plan().requests, 3);
});

test("indices out of order gather from several blocks into blocks of the input's chunk size", async () => {
  const x = arange(20, { chunks: 5 });
  const idx = [19, 0, 7, 7, 3, 12, 18, 1];
  const y = x.slice(idx);
  assert.deepEqual(y.chunks, [[5, 3]]);
  const r = await y.compute({ scheduler: "sync" });
  assert.deepEqual(plain(r), idx.map(String));
});

test("integer typed arrays and negative indices select like number[]", async () => {
  const x = fromTypedArray(
    Float32Array.from({ length: 12 }, (_, i) => i),
    [3, 4],
    { chunks: [2, 3] },
  );
  const r = await x.slice(Int32Array.of(-1, 0), Uint8Array.of(3, 3)).compute();
  assert.deepEqual(r.shape, [2, 2]);
  assert.deepEqual(Array.from(r.data as Float32Array), [11, 11, 3, 3]);
});

test("integers drop their axes, down to a 0-d result", async () => {
  const x = fromTypedArray(
    Int16Array.from({ length: 12 }, (_, i) => i * 2),
    [3, 4],
    { chunks: 2 },
  );
  const r = await x.slice(-2, 1).compute({ scheduler: "sync" });
  assert.deepEqual(r.shape, []);
  assert.deepEqual(Array.from(r.data as Int16Array), [10]);
});

test("selecting everything returns the same array", () => {
  const x = arange(10, { chunks: 3 });
  assert.equal(x.slice(null), x);
  assert.equal(x.slice(slice(null)), x);
  assert.equal(x.slice(Array(10).fill(true)), x);
});

test("bad selectors throw RangeError or TypeError naming the axis", () => {
  const x = fromTypedArray(new Float64Array(12), [3, 4], { chunks: 2 });
  assert.throws(
    () => x.slice(3),
    (e: Error) => e instanceof RangeError && /axis 0/.test(e.message) && /got 3/.test(e.message),
  );
  assert.throws(
    () => x.slice(null, -5),
    (e: Error) => e instanceof RangeError && /axis 1/.test(e.message),
  );
  assert.throws(
    () => x.slice(null, [true, false]),
    (e: Error) => e instanceof RangeError && /axis 1/.test(e.message) && /length 4/.test(e.message),
  );
  assert.throws(
    () => x.slice(1.5),
    (e: Error) => e instanceof TypeError && /axis 0/.test(e.message),
  );
  assert.throws(
    () => x.slice(null, [0, 1.5]),
    (e: Error) => e instanceof TypeError && /axis 1/.test(e.message),
  );
  assert.throws(
    () => x.slice(null, [0, 4]),
    (e: Error) => e instanceof RangeError && /axis 1/.test(e.message),
  );
  assert.throws(
    () => x.slice(null, new Float32Array(2) as never),
    (e: Error) => e instanceof TypeError && /axis 1/.test(e.message),
  );
  assert.throws(
    () => x.slice(null, "a" as never),
    (e: Error) => e instanceof TypeError && /axis 1/.test(e.message),
  );
  assert.throws(() => x.slice(null, null, null), RangeError);
  assert.throws(() => slice(0, 4, 0), RangeError);
  assert.throws(() => slice(0.5), TypeError);
});
