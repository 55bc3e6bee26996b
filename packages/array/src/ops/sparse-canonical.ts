// Sparse lines with each index stored once, as scipy's `sum_duplicates` leaves them. A stored
// matrix may hold an index twice in a line (scipy allows it, and its toarray adds the values
// up); sums and means are linear in the stored values, but min, max, var, nonzero counts and
// maps such as log1p are not, so those see each line's duplicates summed first, as scipy's do.
import { allocate, type DataType, type TypedArray } from "../dtype.js";
import { majorMinor, type SparseBlock } from "./sparse-block.js";

/** Whether `indices[from, to)` strictly increase: no index stored twice, none out of order. */
export function strictlyIncreasing(indices: ArrayLike<number>, from: number, to: number): boolean {
  for (let k = from + 1; k < to; k++) if (!(indices[k]! > indices[k - 1]!)) return false;
  return true;
}

/** The positions `from..to-1` ordered by their index, ties kept in stored order. */
function byIndex(indices: ArrayLike<number>, from: number, to: number): Int32Array {
  const order = new Int32Array(to - from);
  for (let k = 0; k < order.length; k++) order[k] = from + k;
  order.sort((a, b) => indices[a]! - indices[b]! || a - b);
  return order;
}

/**
 * Appends the line `[from, to)` of (`indices`, `values`) to `ix`/`out` from `q`, in index order,
 * each index once with the sum of its values; returns the next free position. Number values
 * are summed in float64 and stored into `out`'s dtype (integers wrap as numpy's, bool is a
 * logical or); bigint values are summed as bigints.
 */
function sumLine(
  indices: ArrayLike<number>,
  values: ArrayLike<number | bigint>,
  from: number,
  to: number,
  ix: Int32Array,
  out: TypedArray,
  q: number,
  bool: boolean,
): number {
  const o = out as unknown as (number | bigint)[];
  if (strictlyIncreasing(indices, from, to)) {
    for (let k = from; k < to; k++, q++) {
      ix[q] = indices[k]!;
      o[q] = values[k]!;
    }
    return q;
  }
  const order = byIndex(indices, from, to);
  for (let i = 0; i < order.length; ) {
    const j = indices[order[i]!]!;
    let sum = values[order[i]!]!;
    for (i++; i < order.length && indices[order[i]!] === j; i++) sum = (sum as number) + (values[order[i]!] as number);
    ix[q] = j;
    o[q++] = bool ? (sum !== 0 ? 1 : 0) : sum;
  }
  return q;
}

/**
 * `block` in scipy's canonical form: in each line, indices increasing and each stored once with
 * the sum of its values. A block already so is returned as it is, after one pass over its
 * indices. Explicit zeros stay stored, those a sum makes too, as scipy's `sum_duplicates` keeps
 * them.
 *
 * @example
 * ```ts
 * // row 0 stores index 1 twice: 2 and -5
 * canonicalBlock({ format: "csr", shape: [1, 3], indptr: Int32Array.of(0, 2), indices: Int32Array.of(1, 1), data: Float32Array.of(2, -5), dtype: "float32" });
 * // → indptr [0, 1], indices [1], data [-3]
 * ```
 */
export function canonicalBlock(block: SparseBlock): SparseBlock {
  const [major] = majorMinor(block);
  const { indptr, indices, data, dtype } = block;
  let a = 0;
  while (a < major && strictlyIncreasing(indices, indptr[a]!, indptr[a + 1]!)) a++;
  if (a === major) return block;
  const nnz = indptr[major]!;
  const ix = new Int32Array(nnz);
  const out = allocate(dtype, nnz) as TypedArray;
  const ptr = new Int32Array(major + 1);
  const values = data as unknown as ArrayLike<number | bigint>;
  let q = 0;
  for (let l = 0; l < major; l++) {
    ptr[l] = q;
    q = sumLine(indices, values, indptr[l]!, indptr[l + 1]!, ix, out, q, dtype === "bool");
  }
  ptr[major] = q;
  return { ...block, indptr: ptr, indices: ix.subarray(0, q), data: out.subarray(0, q) as TypedArray };
}

/**
 * The entries of one line given as parts (`indices[i]` with `values[i]`), in index order, each
 * index once with the sum of its values rounded as `dtype` stores it (integers wrap, bool is a
 * logical or). For lines whose parts sit in different chunks.
 *
 * @example
 * ```ts
 * // one line's parts in two chunks: index 4 stored in both
 * canonicalEntries([Int32Array.of(4, 1), Int32Array.of(4)], [Float64Array.of(1, 2), Float64Array.of(-1)], "float32");
 * // → { indices: [1, 4], values: [2, 0] }
 * ```
 */
export function canonicalEntries(
  indices: readonly Int32Array[],
  values: readonly Float64Array[],
  dtype: Exclude<DataType, "string">,
): { indices: Int32Array; values: Float64Array } {
  let n = 0;
  for (const part of indices) n += part.length;
  const ix = new Int32Array(n);
  const v = new Float64Array(n);
  let at = 0;
  for (let p = 0; p < indices.length; p++) {
    ix.set(indices[p]!, at);
    v.set(values[p]!, at);
    at += indices[p]!.length;
  }
  const outIx = new Int32Array(n);
  const out = allocate(dtype, n) as TypedArray;
  const q = sumLine(ix, v, 0, n, outIx, out, 0, dtype === "bool");
  return { indices: outIx.subarray(0, q), values: Float64Array.from(out as unknown as ArrayLike<number> as ArrayLike<number>).subarray(0, q) };
}
