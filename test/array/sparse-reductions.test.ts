import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { reduceAggregate, reduceChunk, sparseReduceChunk, sparseToDense, type SparseBlock } from "@zask/array/ops";

/** A seeded CSR/CSC block with explicit zeros, negative values and a full line. */
function block(format: "csr" | "csc", dtype: "float32" | "int32", seed: number): SparseBlock {
  let s = seed;
  const rand = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const [rows, cols] = [7, 5];
  const major = format === "csr" ? rows : cols;
  const minor = format === "csr" ? cols : rows;
  const indptr = new Int32Array(major + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let a = 0; a < major; a++) {
    for (let b = 0; b < minor; b++) {
      // line 2 is full; elsewhere about 40% stored, some of them explicit zeros
      if (a === 2 || rand() < 0.4) {
        indices.push(b);
        data.push(rand() < 0.15 ? 0 : Math.round((rand() - 0.4) * 20));
      }
    }
    indptr[a + 1] = indices.length;
  }
  const values = dtype === "float32" ? Float32Array.from(data) : Int32Array.from(data);
  return { format, shape: [rows, cols], indptr, indices: Int32Array.from(indices), data: values, dtype };
}

describe("sparse reduction kernels", () => {
  for (const format of ["csr", "csc"] as const) {
    for (const dtype of ["float32", "int32"] as const) {
      it(`a ${format} ${dtype} block reduces as its dense form does, implicit zeros included, for every kind and axis`, () => {
        for (const seed of [1, 2, 3]) {
          const b = block(format, dtype, seed);
          const dense = sparseToDense(b);
          for (const axes of [[0], [1], [0, 1]]) {
            for (const kind of ["fsum", "mean", "var", "min", "max", "countNonzero", "any", "all"] as const) {
              const shape = axes.length === 2 ? [] : [b.shape[1 - axes[0]!]!];
              const out = kind === "countNonzero" ? "int64" : kind === "any" || kind === "all" ? "bool" : kind === "min" || kind === "max" ? dtype : "float64";
              const want = reduceAggregate(kind, [reduceChunk(kind, dense, axes)], { shape, dtype: out });
              const got = reduceAggregate(kind, [sparseReduceChunk(kind, b, axes)], { shape, dtype: out });
              const g = Array.from(got.data as ArrayLike<number | bigint>, Number);
              const w = Array.from(want.data as ArrayLike<number | bigint>, Number);
              g.forEach((v, i) =>
                assert.ok(Math.abs(v - w[i]!) <= 1e-9 * Math.max(1, Math.abs(w[i]!)), `${kind} over [${axes}] seed ${seed} at ${i}: ${v} vs ${w[i]}`),
              );
            }
          }
        }
      });
    }
  }

  it("a stored NaN makes sum, max and min NaN on its line only", () => {
    const b: SparseBlock = {
      format: "csr",
      shape: [2, 3],
      indptr: Int32Array.of(0, 1, 2),
      indices: Int32Array.of(1, 0),
      data: Float32Array.of(Number.NaN, 4),
      dtype: "float32",
    };
    assert.ok(Number.isNaN((sparseReduceChunk("max", b, [1]).data as Float32Array)[0]!));
    assert.equal((sparseReduceChunk("max", b, [1]).data as Float32Array)[1], 4);
    assert.equal((sparseReduceChunk("min", b, [1]).data as Float32Array)[1], 0, "the row's implicit zeros are its minimum");
    assert.ok(Number.isNaN((sparseReduceChunk("fsum", b, [0]).data as Float64Array)[1]!));
  });
});
