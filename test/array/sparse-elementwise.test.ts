import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SparseArray, fromTypedArray, type DataType, type SparseSource, type TypedArray } from "@zask/array";

/**
 * A 3 × 4 CSR matrix of `values` (at most 12), stored row by row at columns 0, 1, 3, 0, 2, …,
 * in chunks of 2 so its blocks straddle them; and the same values dense.
 */
function csr(values: TypedArray, dtype: DataType): { X: SparseArray; dense: (number | bigint)[] } {
  const cols = [0, 1, 3, 0, 2, 3, 1, 2];
  const n = values.length;
  const indptr = [0, Math.min(n, 3), Math.min(n, 6), n];
  const dense: (number | bigint)[] = new Array(12).fill(dtype.endsWith("64") && !dtype.startsWith("float") ? 0n : 0);
  for (let r = 0; r < 3; r++) for (let p = indptr[r]!; p < indptr[r + 1]!; p++) dense[r * 4 + cols[p]!] = values[p]!;
  const src: SparseSource = {
    format: "csr",
    shape: [3, 4],
    indptr: Int32Array.from(indptr),
    data: fromTypedArray(values, [n], { chunks: [2], dtype }),
    indices: fromTypedArray(Int32Array.from(cols.slice(0, n)), [n], { chunks: [2] }),
    path: "/X",
    url: "memory://x",
  };
  return { X: SparseArray.fromSource(src, { blockNnz: 2 }), dense };
}

/** The sparse path's answer, its dtype, and that it stayed sparse (no dense bytes planned). */
async function sparseAnswer(y: ReturnType<SparseArray["mul"]>): Promise<{ data: ArrayLike<number | bigint>; dtype: DataType }> {
  assert.ok(y instanceof SparseArray, "the op stays sparse");
  assert.equal(y.plan().densifiedBytes, 0);
  const { data, dtype } = await y.compute();
  return { data: data as ArrayLike<number | bigint>, dtype };
}

describe("sparse mul, div and pow compute as the dense kernels (numpy's rules)", () => {
  it("int32 products and powers past 2^53 wrap as int32, exactly", async () => {
    const v = Int32Array.of(2 ** 31 - 1, -(2 ** 31), 46341, -3, 7, 65536);
    const { X, dense } = csr(v, "int32");
    const rowScale = [2 ** 31 - 1, -5, 3];
    const wrap = (x: bigint): number => Number(BigInt.asIntN(32, x));
    const byCol = await sparseAnswer(X.mul(fromTypedArray(Int32Array.from(rowScale), [3, 1])));
    assert.equal(byCol.dtype, "int32");
    assert.deepEqual(
      Array.from(byCol.data),
      dense.map((x, i) => wrap(BigInt(x) * BigInt(rowScale[Math.floor(i / 4)]!))),
    );
    const cubed = await sparseAnswer(X.pow(3));
    assert.deepEqual(
      Array.from(cubed.data),
      dense.map((x) => wrap(BigInt(x) ** 3n)),
    );
    // the dense path agrees
    assert.deepEqual(Array.from(cubed.data), Array.from((await X.todense().pow(3).compute()).data as Int32Array));
  });

  it("bool times an integer and bool to an integer power give int64", async () => {
    const { X, dense } = csr(Uint8Array.of(1, 1, 0, 1, 1), "bool");
    for (const [name, y, want] of [
      ["mul 2", X.mul(2), dense.map((x) => BigInt(x) * 2n)],
      ["pow 2", X.pow(2), dense.map((x) => (x ? 1n : 0n))],
    ] as const) {
      const got = await sparseAnswer(y);
      assert.equal(got.dtype, "int64", name);
      assert.deepEqual(Array.from(got.data), want, name);
    }
  });

  it("int32 times an int64 row vector gives exact int64 products, wrapping at 2^64", async () => {
    const { X, dense } = csr(Int32Array.of(2 ** 31 - 1, -7, 3, 5, -(2 ** 31), 1), "int32");
    const vec = BigInt64Array.of(2n ** 40n + 1n, -3n, 2n ** 62n, 9n);
    const got = await sparseAnswer(X.mul(fromTypedArray(vec, [4])));
    assert.equal(got.dtype, "int64");
    assert.deepEqual(
      Array.from(got.data),
      dense.map((x, i) => BigInt.asIntN(64, BigInt(x) * vec[i % 4]!)),
    );
  });

  it("float32 times 0.1 multiplies by float32(0.1), as numpy and the dense path do", async () => {
    const v = Float32Array.from([1.37, 2.74, 5.48, 9.59, 10.96, 3], (x) => Math.fround(x));
    const { X, dense } = csr(v, "float32");
    const got = await sparseAnswer(X.mul(0.1));
    assert.equal(got.dtype, "float32");
    assert.deepEqual(
      Array.from(got.data),
      dense.map((x) => Math.fround(Number(x) * Math.fround(0.1))),
    );
    assert.deepEqual(Array.from(got.data), Array.from((await X.todense().mul(0.1).compute()).data as Float32Array));
  });

  it("an integer scalar outside the dtype's range is refused, as by the dense path (numpy's OverflowError)", () => {
    const { X } = csr(Int8Array.of(1, 2, 3), "int8");
    for (const op of ["mul", "div", "pow"] as const) {
      assert.throws(() => X.todense()[op](300), RangeError, `dense ${op}`);
      assert.throws(() => X[op](300), /within int8's range/, `sparse ${op}`);
    }
  });
});
