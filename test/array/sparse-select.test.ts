import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { minorMap, sparseTakeMinor, sparseToDense, type SparseBlock } from "@zask/array/ops";

const csr: SparseBlock = {
  format: "csr",
  shape: [3, 4],
  dtype: "float64",
  indptr: Int32Array.of(0, 2, 2, 5),
  indices: Int32Array.of(0, 3, 1, 2, 3),
  data: Float64Array.of(1, 2, 3, 4, 5),
};

function columns(dense: Float64Array, cols: number, picked: number[]): number[] {
  const out: number[] = [];
  for (let r = 0; r < dense.length / cols; r++) for (const c of picked) out.push(dense[r * cols + c]!);
  return out;
}

describe("sparse minor selection", () => {
  it("picks columns of a CSR block in any order, with repeats, and keeps each row's indices sorted", () => {
    const full = sparseToDense(csr).data as Float64Array;
    for (const picked of [[3], [0, 2], [3, 0, 3], [2, 1, 0, 3], []]) {
      const out = sparseTakeMinor(csr, minorMap(Int32Array.from(picked), 4));
      assert.deepEqual(out.shape, [3, picked.length]);
      assert.deepEqual(Array.from(sparseToDense(out).data as Float64Array), columns(full, 4, picked), String(picked));
      for (let a = 0; a < 3; a++) {
        const row = Array.from(out.indices.subarray(out.indptr[a]!, out.indptr[a + 1]!));
        assert.deepEqual(
          row,
          [...row].sort((x, y) => x - y),
          `row ${a} of [${picked}] sorted`,
        );
      }
    }
  });

  it("picks rows of a CSC block (its minor axis)", () => {
    const csc: SparseBlock = { ...csr, format: "csc", shape: [4, 3] };
    const out = sparseTakeMinor(csc, minorMap(Int32Array.of(3, 1), 4));
    assert.deepEqual(out.shape, [2, 3]);
    const dense = sparseToDense(csc).data as Float64Array;
    assert.deepEqual(Array.from(sparseToDense(out).data as Float64Array), [...dense.subarray(9, 12), ...dense.subarray(3, 6)]);
  });

  it("sparseToDense adds up duplicate entries of CSR, CSC and int64 blocks, as scipy's toarray", () => {
    const block = { shape: [2, 3] as [number, number], indptr: Int32Array.of(0, 3, 4), indices: Int32Array.of(2, 0, 2, 1) };
    const f = sparseToDense({ ...block, format: "csr", data: Float32Array.of(1, 2, 3, 4), dtype: "float32" });
    assert.deepEqual(Array.from(f.data as Float32Array), [2, 0, 4, 0, 4, 0]);
    const c = sparseToDense({ ...block, format: "csc", shape: [3, 2], data: Float64Array.of(1, 2, 3, 4), dtype: "float64" });
    assert.deepEqual(Array.from(c.data as Float64Array), [2, 0, 0, 4, 4, 0]);
    const big = sparseToDense({ ...block, format: "csr", data: BigInt64Array.of(1n, 2n, 3n, 4n), dtype: "int64" });
    assert.deepEqual(Array.from(big.data as BigInt64Array), [2n, 0n, 4n, 0n, 4n, 0n]);
  });
});
