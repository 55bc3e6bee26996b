// Elementwise kernels that keep zeros at zero, so they touch only the stored values of a block.
import { allocate, type DataType, type NDArray, type TypedArray } from "../dtype.js";
import { elementwise } from "./elementwise-kernels.js";
import { majorMinor, type SparseBlock } from "./sparse-block.js";
import { canonicalBlock } from "./sparse-canonical.js";

/** The elementwise ops for which f(0) = 0: they map a sparse block to a sparse block. */
export type SparseMapOp = "mul" | "div" | "log1p" | "expm1" | "sqrt" | "abs" | "pow" | "neg";

const unary: Record<Exclude<SparseMapOp, "mul" | "div" | "pow">, (v: number) => number> = {
  log1p: Math.log1p,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  abs: Math.abs,
  neg: (v) => -v,
};

/**
 * cpu op: `name` over the stored values of `input`, into dtype `out`: a unary op, `pow` or `div` by
 * the scalar `operand` (> 0, nonzero), or `mul` by the scalar `operand` or by a vector block (`NDArray`)
 * that runs along `vectorAxis` (0: one value per row of the block, 1: one per column).
 * Explicit zeros stay stored, as in scipy; an index stored twice in a line is mapped once, from
 * its summed values, where the map is not linear (scipy's `sum_duplicates` first). `mul`, `div`
 * and `pow` run the dense kernels over the stored values, so they compute exactly as on a dense
 * array: the scalar already cast to `out` by the graph builder, integers wrapping as numpy's,
 * 64-bit integers as bigints.
 *
 * @example
 * ```ts
 * sparseMap("mul", "float32", block, 0.5); // every stored value halved
 * sparseMap("log1p", "float32", block);
 * ```
 */
export function sparseMap(name: SparseMapOp, out: DataType, input: SparseBlock, operand?: number | bigint | NDArray, vectorAxis?: 0 | 1): SparseBlock {
  // a map that is not linear in the values (all but mul, div, neg) sees duplicates summed first
  const block = name === "mul" || name === "div" || name === "neg" ? input : canonicalBlock(input);
  const [major] = majorMinor(block);
  const { indptr, indices } = block;
  const nnz = indptr[major]!;
  const stored: NDArray = { data: (block.data as TypedArray).subarray(0, nnz), shape: [nnz], dtype: block.dtype };
  let dst: TypedArray;
  if (name === "mul" && typeof operand === "object") {
    // the vector's value for each stored value: per row along the major axis (CSR rows), else per index
    const vec = operand.data as unknown as number[];
    const each = allocate(operand.dtype, nnz) as unknown as number[];
    const byMajor = (vectorAxis === 0) === (block.format === "csr");
    for (let a = 0; a < major; a++) {
      for (let p = indptr[a]!; p < indptr[a + 1]!; p++) each[p] = vec[byMajor ? a : indices[p]!]!;
    }
    dst = elementwise("mul", out, stored, { data: each as unknown as TypedArray, shape: [nnz], dtype: operand.dtype }).data as TypedArray;
  } else if (name === "mul" || name === "div" || name === "pow") {
    dst = elementwise(name, out, stored, operand as number | bigint).data as TypedArray;
  } else {
    dst = allocate(out, nnz) as TypedArray;
    const src = stored.data as unknown as number[];
    const o = dst as unknown as number[];
    const f = unary[name];
    for (let p = 0; p < nnz; p++) o[p] = f(src[p]!);
  }
  return { format: block.format, shape: block.shape, indptr, indices, data: dst, dtype: out };
}
