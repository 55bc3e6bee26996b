import assert from "node:assert/strict";
import { test } from "node:test";
import { fromTypedArray, fromZarr } from "@zask/array";
import { FIXTURES, expected, plain } from "./helpers.ts";

test("rechunk regroups blocks without changing values (fixture values from numpy)", async () => {
  const name = "dense.c5x4.blosc-lz4.f4.zarr";
  const x = await fromZarr(FIXTURES + name);
  for (const spec of [
    [-1, 3],
    [2, 2],
    [
      [6, 7],
      [1, 10],
    ],
    13,
  ] as const) {
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

test("rechunk, transpose and reshape of any chunked array keep numpy's values (property)", async () => {
  const fc = (await import("fast-check")).default;
  const arb = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }).chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      a: fc.tuple(...shape.map((n) => fc.integer({ min: 1, max: n }))),
      b: fc.tuple(...shape.map((n) => fc.integer({ min: 1, max: n }))),
      perm: fc.shuffledSubarray(
        shape.map((_, k) => k),
        { minLength: shape.length, maxLength: shape.length },
      ),
    }),
  );
  await fc.assert(
    fc.asyncProperty(arb, async ({ shape, a, b, perm }) => {
      const size = shape.reduce((p, q) => p * q, 1);
      const data = Float64Array.from({ length: size }, (_, i) => i + 0.5);
      const x = fromTypedArray(data, shape, { chunks: a });
      const r = await x.rechunk(b).compute({ scheduler: "sync" });
      assert.deepEqual(Array.from(r.data as Float64Array), Array.from(data));
      // transpose: out[i0..] = in[j] with j[perm[k]] = i[k]
      const t = await x.rechunk(b).transpose(perm).compute({ scheduler: "sync" });
      const outShape = perm.map((p) => shape[p]!);
      const inStrides = shape.map((_, k) => shape.slice(k + 1).reduce((p, q) => p * q, 1));
      const want: number[] = [];
      const walk = (k: number, off: number): void => {
        if (k === outShape.length) return void want.push(data[off]!);
        for (let i = 0; i < outShape[k]!; i++) walk(k + 1, off + i * inStrides[perm[k]!]!);
      };
      walk(0, 0);
      assert.deepEqual(t.shape, outShape);
      assert.deepEqual(Array.from(t.data as Float64Array), want);
      const flat = await x.reshape([-1]).compute({ scheduler: "sync" });
      assert.deepEqual(Array.from(flat.data as Float64Array), Array.from(data));
      const back = await x.reshape([-1]).reshape(shape).compute({ scheduler: "sync" });
      assert.deepEqual(Array.from(back.data as Float64Array), Array.from(data));
    }),
    { numRuns: 100 },
  );
});
