import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { close } from "@zask/scheduler";
import {
  astype,
  elementwise,
  fromTypedArray,
  where,
  type Array as LazyArray,
  type DataType,
  type ElementwiseOp,
  type NDArray,
  type Operand,
} from "@zask/array";
import { checkScalarFits, promoteTypes, resultType } from "../../packages/array/src/promote.ts";
import { assertMatches, decode, load, scalar, type Encoded, type EncodedScalar } from "../fixtures/array-ops/decode.ts";
import { sizesFromCuts } from "../helpers/chunk-arbitraries.ts";

interface Fixture {
  promoteTypes: Record<string, string>;
  scalarPromotion: { dtype: string; scalar: EncodedScalar; result: string }[];
  inputs: Record<string, Encoded & { chunks: number[] }>;
  elementwise: { op: ElementwiseOp; args: (string | EncodedScalar)[]; result: Encoded; note?: string }[];
  where: { args: (string | EncodedScalar)[]; result: Encoded }[];
  astype: { input: string; dtype: DataType; abs?: boolean; result: Encoded }[];
}

const fx = load<Fixture>("elementwise.json");

after(() => close());

function input(name: string): LazyArray {
  const e = fx.inputs[name]!;
  return fromTypedArray(decode(e), e.shape, { chunks: e.chunks, dtype: e.dtype as DataType });
}

function operand(a: string | EncodedScalar): Operand {
  return typeof a === "string" ? input(a) : scalar(a);
}

function label(a: string | EncodedScalar): string {
  return typeof a === "string" ? `${a} (${fx.inputs[a]!.dtype}${JSON.stringify(fx.inputs[a]!.shape)})` : JSON.stringify(a);
}

function run(x: LazyArray): Promise<NDArray> {
  return x.compute({ scheduler: "sync" });
}

describe("dtype promotion", () => {
  test("promoteTypes matches numpy's result_type for every pair of dtypes", () => {
    for (const [pair, expected] of Object.entries(fx.promoteTypes)) {
      const [a, b] = pair.split(",") as [DataType, DataType];
      assert.equal(promoteTypes(a, b), expected, pair);
    }
    assert.equal(Object.keys(fx.promoteTypes).length, 121);
  });

  test("scalars are weak as in numpy 2 (NEP 50): array dtype kept, out-of-range ints rejected", () => {
    for (const { dtype, scalar: s, result } of fx.scalarPromotion) {
      const v = scalar(s);
      const t = resultType([dtype as DataType], [v]);
      if (result === "OverflowError") {
        assert.throws(() => checkScalarFits(v, t), RangeError, `${dtype} + ${JSON.stringify(s)}`);
      } else {
        assert.equal(t, result, `${dtype} + ${JSON.stringify(s)}`);
        checkScalarFits(v, t);
      }
    }
  });

  test("scalars alone take numpy's default dtypes", () => {
    assert.equal(resultType([], [1]), "int64");
    assert.equal(resultType([], [1.5, 2]), "float64");
    assert.equal(resultType([], [true]), "bool");
  });
});

describe("elementwise ops match numpy, broadcasting across differently chunked operands", () => {
  for (const c of fx.elementwise) {
    test(`${c.op}(${c.args.map(label).join(", ")}) → ${c.result.dtype}${JSON.stringify(c.result.shape)}${c.note ? ` (${c.note})` : ""}`, async () => {
      const y = elementwise(c.op, ...c.args.map(operand));
      assert.equal(y.dtype, c.result.dtype);
      assert.deepEqual([...y.shape], c.result.shape);
      // float64 to 1e-12 (JS Math and C libm differ by an ulp at most); float32 to 1e-6
      assertMatches(await run(y), c.result, c.op, c.result.dtype === "float64" ? 1e-12 : 1e-6);
    });
  }
});

describe("where and astype match numpy", () => {
  for (const c of fx.where) {
    test(`where(${c.args.map(label).join(", ")}) → ${c.result.dtype}`, async () => {
      const [cond, x, y] = c.args.map(operand) as [Operand, Operand, Operand];
      assertMatches(await run(where(cond, x, y)), c.result, "where");
    });
  }
  for (const c of fx.astype) {
    test(`astype(${label(c.input)}${c.abs ? ".abs()" : ""}, ${c.dtype})`, async () => {
      const x = c.abs ? elementwise("abs", input(c.input)) : input(c.input);
      assertMatches(await run(astype(x, c.dtype)), c.result, "astype");
    });
  }
});

describe("elementwise semantics", () => {
  test("int64 and uint64 to float32 round once to the nearest float32, ties to even, as numpy", async () => {
    // the float32 values either side of `r` (an integer-valued float32), by their bits
    const bits = new Int32Array(1);
    const f32 = new Float32Array(bits.buffer);
    const step = (r: number, d: number): number => {
      f32[0] = r;
      bits[0]! += r < 0 ? -d : d;
      return f32[0]!;
    };
    const big = fc.oneof(
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.bigInt({ min: 2n ** 53n, max: 2n ** 54n }),
      fc.constantFrom(2n ** 60n + 2n ** 36n + 1n, 2n ** 60n + 2n ** 36n, -(2n ** 60n) - 2n ** 37n - 2n ** 36n),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(big, { minLength: 1, maxLength: 20 }), async (values) => {
        const got = (await astype(fromTypedArray(BigInt64Array.from(values), [values.length]), "float32").compute()).data as Float32Array;
        values.forEach((v, i) => {
          const r = got[i]!;
          // up to 2^53 a float64 holds v exactly, so fround rounds once
          if (v >= -(2n ** 53n) && v <= 2n ** 53n) return assert.equal(r, Math.fround(Number(v)), `${v}`);
          const err = (x: number): bigint => (BigInt(x) > v ? BigInt(x) - v : v - BigInt(x));
          for (const n of [step(r, 1), step(r, -1)]) {
            const tie = err(n) === err(r);
            assert.ok(err(n) > err(r) || (tie && (new Int32Array(Float32Array.of(r).buffer)[0]! & 1) === 0), `${v} → ${r}, but ${n} is nearer`);
          }
        });
      }),
      { numRuns: 300 },
    );
    const u = (await astype(fromTypedArray(BigUint64Array.of(2n ** 64n - 1n, 2n ** 63n + 2n ** 39n + 1n), [2]), "float32").compute()).data as Float32Array;
    assert.deepEqual([...u], [2 ** 64, 2 ** 63 + 2 ** 40]);
  });

  test("comparisons with a float promoted type compare in it, as numpy: float32 against float32(0.7), int64 rounded to float64", async () => {
    const x = fromTypedArray(Float32Array.of(0.7, 0.1, 1.3), [3]);
    assert.deepEqual([...(await x.ge(0.7).compute()).data], [1, 0, 1]);
    assert.deepEqual([...(await x.eq(0.1).compute()).data], [0, 1, 0]);
    assert.deepEqual([...(await x.lt(0.1).compute()).data], [0, 0, 0]);
    // 16777217 is not a float32: as a weak scalar it becomes 16777216
    assert.deepEqual([...(await fromTypedArray(Float32Array.of(16777216), [1]).eq(16777217).compute()).data], [1]);
    // int64 against float64 arrays: numpy promotes to float64, where 2^53 + 1 rounds to 2^53
    const big = fromTypedArray(BigInt64Array.of(2n ** 53n + 1n, 3n), [2]);
    assert.deepEqual([...(await big.eq(fromTypedArray(Float64Array.of(2 ** 53, 3), [2])).compute()).data], [1, 1]);
    assert.deepEqual([...(await big.gt(0.5).compute()).data], [1, 1]);
    // against a Python int numpy 2 compares exactly, also past 2^53
    assert.deepEqual([...(await big.gt(2 ** 53).compute()).data], [1, 0]);
  });

  test("operands with different chunks are brought to common block boundaries", async () => {
    const x = fromTypedArray(new Float64Array([1, 2, 3, 4, 5]), [5], { chunks: [[2, 2, 1]] });
    const y = fromTypedArray(new Float64Array([10, 20, 30, 40, 50]), [5], { chunks: [[3, 2]] });
    const z = elementwise("add", x, y);
    assert.deepEqual(z.chunks, [[2, 1, 1, 1]]);
    assert.deepEqual([...(await run(z)).data], [11, 22, 33, 44, 55]);
  });

  test("a broadcast axis of length 1 keeps one block and is not rechunked", () => {
    const x = fromTypedArray(new Float64Array(12), [3, 4], {
      chunks: [
        [1, 2],
        [2, 2],
      ],
    });
    const row = fromTypedArray(new Float64Array(4), [1, 4], { chunks: [[1], [3, 1]] });
    const z = elementwise("mul", x, row);
    assert.deepEqual(z.chunks, [
      [1, 2],
      [2, 1, 1],
    ]);
  });

  test("int32 multiplication wraps around like numpy's", async () => {
    const x = fromTypedArray(new Int32Array([65537, -65537, 46341]), [3]);
    const r = await run(elementwise("mul", x, x));
    assert.equal(r.dtype, "int32");
    // 65537**2 = 2**32 + 2**17 + 1; 46341**2 = 2147488281 > 2**31 - 1
    assert.deepEqual([...r.data], [131073, 131073, -2147479015]);
  });

  test("int64 arithmetic is exact beyond 2**53", async () => {
    const x = fromTypedArray(new BigInt64Array([2n ** 60n + 1n]), [1]);
    const r = await run(elementwise("add", x, 1));
    assert.deepEqual([...r.data], [2n ** 60n + 2n]);
  });

  test("bigint scalars act as Python ints and stay exact for int64", async () => {
    const x = fromTypedArray(new BigInt64Array([1n, -2n]), [2]);
    assert.deepEqual([...(await run(elementwise("add", x, 2n ** 60n))).data], [2n ** 60n + 1n, 2n ** 60n - 2n]);
    assert.deepEqual([...(await run(elementwise("gt", x, 0n))).data], [1, 0]);
    const i8 = fromTypedArray(new Int8Array([1]), [1]);
    assert.equal(elementwise("mul", i8, 3n).dtype, "int8");
    assert.throws(() => elementwise("add", i8, 2n ** 8n), RangeError);
  });

  test("comparisons with integers outside the dtype's range compare exactly (numpy 2)", async () => {
    const x = fromTypedArray(new Int8Array([-128, 0, 127]), [3]);
    assert.deepEqual([...(await run(elementwise("lt", x, 300))).data], [1, 1, 1]);
    assert.deepEqual([...(await run(elementwise("gt", x, -300))).data], [1, 1, 1]);
  });

  test("arithmetic with an integer scalar outside the dtype's range is a RangeError", () => {
    const x = fromTypedArray(new Uint8Array([1, 2]), [2]);
    assert.throws(() => elementwise("add", x, 300), RangeError);
    assert.throws(() => elementwise("sub", x, -1), RangeError);
    assert.throws(() => where(x, -1, x), RangeError);
  });

  test("subtracting or negating booleans is a TypeError, as in numpy", () => {
    const b = fromTypedArray(new Uint8Array([1, 0]), [2], { dtype: "bool" });
    assert.throws(() => elementwise("sub", b, b), TypeError);
    assert.throws(() => elementwise("neg", b), TypeError);
  });

  test("integer powers with a negative exponent are rejected", async () => {
    const x = fromTypedArray(new Int32Array([2, 3]), [2]);
    assert.throws(() => elementwise("pow", x, -1), RangeError);
    const e = fromTypedArray(new Int32Array([1, -1]), [2]);
    await assert.rejects(run(elementwise("pow", x, e)), /negative integer powers/);
  });

  test("pow follows C, not JS, for 1 ** NaN and (-1) ** Infinity", async () => {
    const x = fromTypedArray(new Float64Array([1, -1, 2]), [3]);
    const e = fromTypedArray(new Float64Array([NaN, Infinity, NaN]), [3]);
    const r = await run(elementwise("pow", x, e));
    assert.deepEqual([...r.data].slice(0, 2), [1, 1]);
    assert.ok(Number.isNaN(r.data[2]));
  });

  test("shapes that do not broadcast are a RangeError naming the axis", () => {
    const x = fromTypedArray(new Float64Array(6), [2, 3]);
    const y = fromTypedArray(new Float64Array(2), [2]);
    assert.throws(() => elementwise("add", x, y), /axis 1: 3 vs 2/);
  });

  test("bad operands are TypeErrors", () => {
    const x = fromTypedArray(new Float64Array(2), [2]);
    assert.throws(() => elementwise("add", x, "1" as unknown as number), TypeError);
    assert.throws(() => elementwise("add", 1, 2), TypeError);
    assert.throws(() => elementwise("add", x), TypeError);
    assert.throws(() => elementwise("nope" as ElementwiseOp, x), RangeError);
    assert.throws(() => astype(x, "float16" as DataType), TypeError);
  });

  test("the same expression gets the same name, so graphs deduplicate", () => {
    const x = fromTypedArray(new Float64Array([1, 2]), [2]);
    assert.equal(elementwise("add", x, 1).name, elementwise("add", x, 1).name);
    assert.notEqual(elementwise("add", x, 1).name, elementwise("add", x, 2).name);
  });

  test("kernels give the same values on the worker pool as inline", async () => {
    const x = fromTypedArray(
      Float64Array.from({ length: 3000 }, (_, i) => i / 7),
      [30, 100],
      { chunks: [10, 50] },
    );
    const y = fromTypedArray(
      Float32Array.from({ length: 100 }, (_, i) => i),
      [100],
      { chunks: [30] },
    );
    const z = where(elementwise("gt", x, 100), elementwise("log1p", elementwise("mul", x, y)), -1);
    const pooled = await z.compute({ scheduler: "threads", inlineThreshold: 0 });
    const inline = await run(z);
    assert.deepEqual(pooled, inline);
  });
});

/** An operand shape that broadcasts to `shape`: a suffix of it, some axes squeezed to 1. */
function operandOf(shape: number[]) {
  return fc
    .record({
      drop: fc.integer({ min: 0, max: shape.length - 1 }),
      ones: fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
      seed: fc.integer(),
    })
    .chain(({ drop, ones, seed }) => {
      const s = shape.slice(drop).map((n, i) => (ones[i + drop] ? 1 : n));
      return fc.record({
        shape: fc.constant(s),
        cuts: fc.tuple(...s.map((n) => fc.array(fc.boolean(), { minLength: n - 1, maxLength: n - 1 }))),
        seed: fc.constant(seed),
      });
    });
}

describe("broadcasting agrees with a plain loop whatever the chunks", () => {
  test("x * 10 + y over random broadcastable shapes and chunkings", async () => {
    const shapes = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(
        shapes.chain((s) => fc.tuple(fc.constant(s), operandOf(s), operandOf(s))),
        async ([, a, b]) => {
          const make = (o: { shape: number[]; cuts: boolean[][]; seed: number }, k: number) => {
            const n = o.shape.reduce((p, q) => p * q, 1);
            const data = Float64Array.from({ length: n }, (_, i) => (i * 7 + o.seed + k) % 11);
            return { data, arr: fromTypedArray(data, o.shape, { chunks: o.shape.map((m, d) => sizesFromCuts(m, o.cuts[d]!)) }) };
          };
          const x = make(a, 0);
          const y = make(b, 1);
          const r = await run(elementwise("add", elementwise("mul", x.arr, 10), y.arr));
          // reference: walk the broadcast result and read each operand at its broadcast index
          const nd = Math.max(a.shape.length, b.shape.length);
          const outShape = Array.from({ length: nd }, (_, d) => {
            const da = a.shape[d - (nd - a.shape.length)] ?? 1;
            const db = b.shape[d - (nd - b.shape.length)] ?? 1;
            return Math.max(da, db);
          });
          assert.deepEqual([...r.shape], outShape);
          const at = (shape: number[], data: Float64Array, idx: number[]) => {
            let f = 0;
            shape.forEach((m, i) => (f = f * m + (m === 1 ? 0 : idx[i + nd - shape.length]!)));
            return data[f]!;
          };
          const idx = new Array<number>(nd).fill(0);
          for (let i = 0; i < r.data.length; i++) {
            assert.equal(r.data[i], at(a.shape, x.data, idx) * 10 + at(b.shape, y.data, idx), `element ${i}`);
            for (let d = nd - 1; d >= 0; d--) {
              if (++idx[d]! < outShape[d]!) break;
              idx[d] = 0;
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
