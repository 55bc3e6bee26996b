import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { close } from "@zask/scheduler";
import { fromTypedArray, reduction, type Array as LazyArray, type DataType, type NDArray, type ReductionKind, type ReductionOptions } from "@zask/array";
import { reduceChunk } from "@zask/array/ops";
import { assertMatches, decode, load, type Encoded } from "../fixtures/array-ops/decode.ts";
import { sizesFromCuts } from "../helpers/chunk-arbitraries.ts";

interface Case {
  input: string;
  kind: ReductionKind;
  axis: number | number[] | null;
  keepdims: boolean;
  ddof?: number;
  dtype?: DataType;
  result: Encoded;
}
interface Fixture {
  inputs: Record<string, Encoded & { chunks: number[] }>;
  cases: Case[];
}

const fx = load<Fixture>("reductions.json");

after(() => close());

function input(name: string): LazyArray {
  const e = fx.inputs[name]!;
  return fromTypedArray(decode(e), e.shape, { chunks: e.chunks, dtype: e.dtype as DataType });
}

function run(x: LazyArray): Promise<NDArray> {
  return x.compute({ scheduler: "sync" });
}

function options(c: Case, splitEvery?: number): ReductionOptions {
  return {
    ...(c.axis === null ? {} : { axis: c.axis }),
    keepdims: c.keepdims,
    ...(c.ddof === undefined ? {} : { ddof: c.ddof }),
    ...(c.dtype === undefined ? {} : { dtype: c.dtype }),
    ...(splitEvery === undefined ? {} : { splitEvery }),
  };
}

// Group the numpy cases per input and reduction, so a failure names the axis it broke on.
const groups = new Map<string, Case[]>();
for (const c of fx.cases) {
  const k = `${c.kind} of ${c.input} (${fx.inputs[c.input]!.dtype}${JSON.stringify(fx.inputs[c.input]!.shape)}, chunks ${JSON.stringify(fx.inputs[c.input]!.chunks)})`;
  groups.set(k, [...(groups.get(k) ?? []), c]);
}

describe("reductions match numpy over no, one and several axes, with keepdims, ddof and dtype=", () => {
  for (const [title, cases] of groups) {
    test(title, async () => {
      const x = input(cases[0]!.input);
      for (const c of cases) {
        const what = `${c.kind}(axis=${JSON.stringify(c.axis)}, keepdims=${c.keepdims}${c.ddof === undefined ? "" : `, ddof=${c.ddof}`}${c.dtype ? `, dtype=${c.dtype}` : ""})`;
        const y = reduction(x, c.kind, options(c));
        assert.deepEqual([...y.shape], c.result.shape, `${what}: lazy shape`);
        assert.equal(y.dtype, c.result.dtype, `${what}: lazy dtype`);
        // float64 results to 1e-9 relative (var of values near 2**31 differs from numpy by ~1e-11: Chan's
        // merge vs numpy's two passes); float32 ones (numpy adds in float32, zask in float64) to 1e-6
        assertMatches(await run(y), c.result, what, c.result.dtype === "float32" ? 1e-6 : 1e-9);
      }
    });
  }
});

describe("tree reduction", () => {
  test("splitEvery changes the number of combine steps, not the result", async () => {
    const c = fx.cases.find((k) => k.input === "v1" && k.kind === "var" && k.axis === null && k.ddof === 1)!;
    const e = fx.inputs.v1!;
    const x = fromTypedArray(decode(e), e.shape, { chunks: [1] }); // 23 blocks
    const combineLayers = (y: LazyArray) => [...y.graph.layers.keys()].filter((n) => n.includes("-combine-")).length;
    // 23 → 12 → 6 → 3 → 2 partials with splitEvery 2; 23 → 6 → 2 with 4; none with 23
    const expected = new Map([
      [2, 4],
      [3, 2],
      [4, 2],
      [23, 0],
    ]);
    for (const [splitEvery, layers] of expected) {
      const y = reduction(x, "var", { ddof: 1, splitEvery });
      assert.equal(combineLayers(y), layers, `splitEvery ${splitEvery}`);
      assertMatches(await run(y), c.result, `var with splitEvery ${splitEvery}`);
    }
  });

  test("splitEvery counts blocks per reduced axis", () => {
    const x = fromTypedArray(new Float64Array(64), [8, 8], { chunks: [1, 1] });
    const y = reduction(x, "sum", { splitEvery: 4 });
    const layers = [...y.graph.layers.values()];
    const combine = layers.find((l) => l.name.includes("-combine-"))!;
    assert.equal(combine.size, 4); // (8 / 4) × (8 / 4) groups of 4 × 4 blocks
    assert.equal(layers.filter((l) => l.name.includes("-combine-")).length, 1);
  });

  test("splitEvery per axis (dask's dict form) sets each axis's fan-in, unlisted axes 2", async () => {
    const x = fromTypedArray(
      Float64Array.from({ length: 64 }, (_, i) => i),
      [8, 8],
      { chunks: [1, 1] },
    );
    const y = reduction(x, "sum", { splitEvery: { 0: 8, [-1]: 4 } });
    const combine = [...y.graph.layers.values()].filter((l) => l.name.includes("-combine-"));
    assert.deepEqual(
      combine.map((l) => l.size),
      [2],
    ); // 8 / 8 × 8 / 4 groups
    assert.deepEqual([...(await run(y)).data], [2016]);
    const z = reduction(x, "sum", { axis: 1, splitEvery: { 0: 8 } }); // axis 1 falls back to 2
    assert.equal([...z.graph.layers.keys()].filter((n) => n.includes("-combine-")).length, 2); // 8 → 4 → 2
    assert.throws(() => reduction(x, "sum", { splitEvery: { 2: 4 } }), RangeError);
    assert.throws(() => reduction(x, "sum", { splitEvery: { 0: 1 } }), RangeError);
  });

  test("argmin and argmax index the whole array across chunk boundaries and return the first occurrence", async () => {
    const data = new Float64Array([5, 1, 9, 1, 9, 0, 0, 9]);
    const x = fromTypedArray(data, [2, 4], { chunks: [1, 3] });
    assert.deepEqual([...(await run(reduction(x, "argmax"))).data], [2n]);
    assert.deepEqual([...(await run(reduction(x, "argmin"))).data], [5n]);
    assert.deepEqual([...(await run(reduction(x, "argmax", { axis: 1 }))).data], [2n, 0n]);
    const byColumn = await run(reduction(x, "argmin", { axis: 0, keepdims: true }));
    assert.deepEqual([...byColumn.shape], [1, 4]);
    assert.deepEqual([...byColumn.data], [0n, 1n, 1n, 0n]);
  });

  test("min, max, sum and argmax propagate NaN like numpy", async () => {
    const x = fromTypedArray(new Float64Array([1, NaN, 3, 7, 2, NaN]), [6], { chunks: [2] });
    for (const kind of ["min", "max", "sum", "mean"] as const) {
      assert.ok(Number.isNaN((await run(reduction(x, kind))).data[0]), kind);
    }
    assert.deepEqual([...(await run(reduction(x, "argmax"))).data], [1n]);
    assert.deepEqual([...(await run(reduction(x, "argmin", { splitEvery: 2 }))).data], [1n]);
  });

  test("integer sums are exact int64 beyond 2**53", () => {
    // 5e6 × (2**31 - 1) ≈ 1.07e16 > 2**53: the float accumulator must spill into bigints
    const n = 5_000_000;
    const block = { data: new Int32Array(n).fill(2 ** 31 - 1), shape: [n], dtype: "int32" as const };
    const p = reduceChunk("isum", block, [0]);
    assert.deepEqual([...p.data], [BigInt(n) * (2n ** 31n - 1n)]);
  });

  test("float32 sums accumulate in float64 and return float32", async () => {
    // float32 accumulation would lose every + 1 after 2**24
    const x = fromTypedArray(new Float32Array([2 ** 24, 1, 1, 1, 1]), [5], { chunks: [2] });
    const r = await run(reduction(x, "sum"));
    assert.equal(r.dtype, "float32");
    assert.deepEqual([...r.data], [2 ** 24 + 4]);
  });

  test("sum with an integer dtype= casts float elements before adding, as numpy does", async () => {
    const x = fromTypedArray(new Float64Array([1.5, 2.5, -0.5, 3.9]), [4], { chunks: [3] });
    const r = await run(reduction(x, "sum", { dtype: "int64" }));
    assert.deepEqual([...r.data], [6n]); // 1 + 2 + 0 + 3, not trunc(7.4)
  });

  test("var with ddof >= n gives Infinity (or NaN for no spread), as numpy does", async () => {
    const x = fromTypedArray(new Float64Array([1, 2, 3, 4]), [2, 2], { chunks: [1, 1] });
    const r = await run(reduction(x, "var", { axis: 0, ddof: 2 }));
    assert.deepEqual([...r.data], [Infinity, Infinity]);
    const flat = fromTypedArray(new Float64Array([5]), [1]);
    assert.ok(Number.isNaN((await run(reduction(flat, "std", { ddof: 1 }))).data[0]));
  });

  test("bad options are rejected before any compute", () => {
    const x = fromTypedArray(new Float64Array(6), [2, 3]);
    assert.throws(() => reduction(x, "argmax", { axis: [0, 1] }), TypeError);
    assert.throws(() => reduction(x, "sum", { axis: 2 }), RangeError);
    assert.throws(() => reduction(x, "sum", { axis: [0, -2] }), RangeError);
    assert.throws(() => reduction(x, "sum", { splitEvery: 1 }), RangeError);
    assert.throws(() => reduction(x, "max", { dtype: "float32" }), TypeError);
    assert.throws(() => reduction(x, "median" as ReductionKind), RangeError);
    const empty = fromTypedArray(new Float64Array(0), [0, 3]);
    assert.throws(() => reduction(empty, "min", { axis: 0 }), /no identity/);
    assert.equal(reduction(empty, "sum", { axis: 0 }).shape[0], 3);
  });

  test("reductions give the same values on the worker pool", async () => {
    const e = fx.inputs.f8!;
    const x = fromTypedArray(decode(e), e.shape, { chunks: e.chunks });
    const y = reduction(x, "std", { axis: [0, 2], splitEvery: 2 });
    assert.deepEqual(await y.compute({ scheduler: "threads", inlineThreshold: 0 }), await run(y));
  });
});

/** An array of any shape up to 3-d, cut into random chunks, with small integer values (exact sums). */
const chunkedArray = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    cuts: fc.tuple(...shape.map((n) => fc.array(fc.boolean(), { minLength: n - 1, maxLength: n - 1 }))),
    data: fc.array(fc.integer({ min: -5, max: 5 }), { minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) }),
    axes: fc.subarray(
      shape.map((_, i) => i),
      { minLength: 1 },
    ),
    splitEvery: fc.integer({ min: 2, max: 4 }),
    keepdims: fc.boolean(),
  }),
);

/** A plain loop over every element: the reference the tree reduction must agree with. */
function naive(data: number[], shape: number[], axes: number[], kind: "sum" | "max" | "argmin"): number[] {
  const outShape = shape.map((n, d) => (axes.includes(d) ? 1 : n));
  const out = new Array<number>(outShape.reduce((a, b) => a * b, 1)).fill(kind === "sum" ? 0 : NaN);
  const best = new Array<number>(out.length).fill(Infinity);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < data.length; flat++) {
    let o = 0;
    for (let d = 0; d < shape.length; d++) o = o * outShape[d]! + (axes.includes(d) ? 0 : idx[d]!);
    const v = data[flat]!;
    if (kind === "sum") out[o]! += v;
    else if (kind === "max") out[o] = Number.isNaN(out[o]) ? v : Math.max(out[o]!, v);
    else if (v < best[o]!) {
      best[o] = v;
      out[o] = axes.length === 1 ? idx[axes[0]!]! : flat;
    }
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

describe("tree reductions agree with a plain loop whatever the chunks", () => {
  for (const kind of ["sum", "max", "argmin"] as const) {
    test(`${kind} over random axes, chunks and splitEvery`, async () => {
      await fc.assert(
        fc.asyncProperty(chunkedArray, async ({ shape, cuts, data, axes, splitEvery, keepdims }) => {
          const chunks = shape.map((n, d) => sizesFromCuts(n, cuts[d]!));
          const x = fromTypedArray(Float64Array.from(data), shape, { chunks });
          // argmin takes one axis or all of them (flat index)
          const ax = kind === "argmin" ? (axes.length === 1 ? axes : shape.map((_, i) => i)) : axes;
          const opts =
            kind !== "argmin" ? { axis: ax, splitEvery, keepdims } : ax.length > 1 ? { splitEvery, keepdims } : { axis: ax[0]!, splitEvery, keepdims };
          const r = await run(reduction(x, kind, opts));
          const expected = naive(data, shape, ax, kind);
          assert.deepEqual([...r.data].map(Number), expected);
          const kept = shape.map((n, d) => (ax.includes(d) ? 1 : n));
          assert.deepEqual([...r.shape], keepdims ? kept : kept.filter((_, d) => !ax.includes(d)));
        }),
        { numRuns: 60 },
      );
    });
  }
});

test("a sum over the leading axis of a wide block equals the row-by-row float64 sum, bit for bit", () => {
  let seed = 7;
  const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 1e3;
  for (const [rows, cols] of [
    [8, 65],
    [13, 100],
    [64, 300],
    [3, 70],
  ] as const) {
    for (const dtype of ["float32", "float64"] as const) {
      const data = dtype === "float32" ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
      for (let i = 0; i < data.length; i++) data[i] = random();
      const expected = new Float64Array(cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) expected[c]! += data[r * cols + c]!;
      const res = reduceChunk("fsum", { data, shape: [rows, cols], dtype }, [0]);
      assert.deepEqual(Array.from(res.data as Float64Array), Array.from(expected), `${dtype} (${rows}, ${cols})`);
    }
  }
});
