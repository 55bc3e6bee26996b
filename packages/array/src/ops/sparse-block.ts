// The value a sparse task passes on: one compressed block (scipy's csr_matrix / csc_matrix).
import { allocate, type DataType, type NDArray, type TypedArray } from "../dtype.js";

/** The two compressed sparse formats: rows (CSR) or columns (CSC) are the major axis. */
export type SparseFormat = "csr" | "csc";

/**
 * A compressed sparse block, as tasks pass it: for CSR, row `a`'s stored values are
 * `data[indptr[a]:indptr[a+1]]` at columns `indices[...]` (CSC swaps rows and columns).
 * Plain typed arrays and strings only, so it moves to a worker without copies.
 */
export interface SparseBlock {
  readonly format: SparseFormat;
  /** `[rows, cols]` of the block. */
  readonly shape: readonly [number, number];
  /** Major length + 1 offsets into `indices`/`data`, from 0. */
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly data: TypedArray;
  readonly dtype: DataType;
}

/** Whether a task value is a {@link SparseBlock} (a dense block is an NDArray without `format`). */
export function isSparseBlock(x: unknown): x is SparseBlock {
  return (
    typeof x === "object" &&
    x !== null &&
    ((x as SparseBlock).format === "csr" || (x as SparseBlock).format === "csc") &&
    (x as SparseBlock).indptr instanceof Int32Array
  );
}

/** `[major, minor]` lengths of a block. */
export function majorMinor(b: Pick<SparseBlock, "format" | "shape">): [number, number] {
  return b.format === "csr" ? [b.shape[0], b.shape[1]] : [b.shape[1], b.shape[0]];
}

/**
 * cpu op: the dense C-order block of a sparse one (duplicate entries add up, as scipy's toarray).
 *
 * @example
 * ```ts
 * sparseToDense({ format: "csr", shape: [1, 3], indptr: Int32Array.of(0, 1), indices: Int32Array.of(2), data: Float32Array.of(5), dtype: "float32" });
 * // { data: Float32Array [0, 0, 5], shape: [1, 3], dtype: "float32" }
 * ```
 */
export function sparseToDense(block: SparseBlock): NDArray {
  const [rows, cols] = block.shape;
  const out = allocate(block.dtype, rows * cols) as TypedArray;
  scatterInto(out, cols, block, 0);
  if (block.dtype === "bool") clampBool(out);
  return { data: out, shape: [rows, cols], dtype: block.dtype };
}

/** Add `block`'s stored values into the dense C-order `out` (`cols` wide), its major positions from `offset` on. */
export function scatterInto(out: TypedArray, cols: number, block: SparseBlock, offset: number): void {
  const [major] = majorMinor(block);
  const { indptr, indices, data } = block;
  const csr = block.format === "csr";
  const o = out as unknown as number[];
  const d = data as unknown as number[];
  // one loop per case, so the hot one has no per-value branches
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    const ob = out as BigInt64Array;
    const db = data as unknown as BigInt64Array;
    for (let a = 0; a < major; a++) {
      for (let p = indptr[a]!; p < indptr[a + 1]!; p++) {
        const at = csr ? (offset + a) * cols + indices[p]! : indices[p]! * cols + offset + a;
        ob[at] = ob[at]! + db[p]!;
      }
    }
  } else if (csr) {
    for (let a = 0, row = offset * cols; a < major; a++, row += cols) {
      for (let p = indptr[a]!, end = indptr[a + 1]!; p < end; p++) o[row + indices[p]!]! += d[p]!;
    }
  } else {
    for (let a = 0; a < major; a++) {
      const col = offset + a;
      for (let p = indptr[a]!, end = indptr[a + 1]!; p < end; p++) o[indices[p]! * cols + col]! += d[p]!;
    }
  }
}

/** Clamp a dense bool block summed from duplicate entries back to 0 and 1. */
export function clampBool(out: TypedArray): void {
  const o = out as unknown as number[];
  for (let i = 0; i < out.length; i++) if (o[i]! > 1) o[i] = 1;
}

/**
 * inline op: blocks that follow each other along the major axis as one block (the answer of
 * `computeSparse()`); with `dense`, the dense C-order array instead (the answer of `compute()`).
 */
export function sparseConcat(
  blocks: readonly SparseBlock[],
  format: SparseFormat,
  shape: readonly [number, number],
  dtype: DataType,
  dense = false,
): SparseBlock | NDArray {
  if (dense) {
    // each block lands in the dense answer directly, without a concatenated copy first
    const out = allocate(dtype, shape[0] * shape[1]) as TypedArray;
    let offset = 0;
    for (const b of blocks) {
      scatterInto(out, shape[1], b, offset);
      offset += majorMinor(b)[0];
    }
    if (dtype === "bool") clampBool(out);
    return { data: out, shape: [shape[0], shape[1]], dtype };
  }
  if (blocks.length === 1 && blocks[0]!.shape[0] === shape[0] && blocks[0]!.shape[1] === shape[1]) return blocks[0]!;
  const [major] = majorMinor({ format, shape });
  const nnz = blocks.reduce((s, b) => s + b.indptr[b.indptr.length - 1]!, 0);
  // a block's offsets are int32: past them the answer could only wrap
  if (nnz > 2 ** 31 - 1)
    throw new RangeError(`Expected at most 2147483647 stored values in one sparse answer, got ${nnz}: compute it in parts (computeBlocks)`);
  const indptr = new Int32Array(major + 1);
  const indices = new Int32Array(nnz);
  const data = allocate(dtype, nnz) as TypedArray;
  let a = 0;
  let p = 0;
  for (const b of blocks) {
    const [m] = majorMinor(b);
    const n = b.indptr[m]!;
    for (let i = 1; i <= m; i++) indptr[a + i] = p + b.indptr[i]!;
    indices.set(b.indices.subarray(0, n), p);
    (data as Float64Array).set((b.data as Float64Array).subarray(0, n), p);
    a += m;
    p += n;
  }
  return { format, shape: [shape[0], shape[1]], indptr, indices, data, dtype };
}
