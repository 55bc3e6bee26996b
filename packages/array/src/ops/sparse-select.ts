// Selection inside a sparse block along its minor axis (columns of CSR, rows of CSC).
import { allocate, type TypedArray } from "../dtype.js";
import { majorMinor, type SparseBlock } from "./sparse-block.js";

/**
 * Where each minor position goes: `offsets` (minor + 1 entries) index into `targets`, the
 * output positions of that source position (none when it is not selected, several when it
 * repeats). Built once per selection, shared by every block.
 */
export interface MinorMap {
  readonly offsets: Int32Array;
  readonly targets: Int32Array;
  /** Minor length of the result. */
  readonly length: number;
  /** Whether output positions keep the source order (then rows need no sorting). */
  readonly monotonic: boolean;
}

/** The {@link MinorMap} of integer positions `picked` (in output order) over a minor axis of `minor`. */
export function minorMap(picked: ArrayLike<number>, minor: number): MinorMap {
  const counts = new Int32Array(minor + 1);
  let monotonic = true;
  for (let i = 0; i < picked.length; i++) {
    counts[picked[i]! + 1]!++;
    if (i > 0 && picked[i]! <= picked[i - 1]!) monotonic = false;
  }
  for (let j = 0; j < minor; j++) counts[j + 1]! += counts[j]!;
  const targets = new Int32Array(picked.length);
  const fill = counts.slice(0, minor);
  for (let i = 0; i < picked.length; i++) targets[fill[picked[i]!]!++] = i;
  return { offsets: counts, targets, length: picked.length, monotonic };
}

// position → output position or -1, per selection: built once per thread, shared by its blocks
const pickTables = new WeakMap<MinorMap, Int32Array>();

/** `map` as a table over the minor axis: each position's output position, or -1 when not selected. */
export function pickTable(map: MinorMap, minor: number): Int32Array {
  let pick = pickTables.get(map);
  if (pick === undefined) {
    pick = new Int32Array(minor).fill(-1);
    const { offsets, targets } = map;
    for (let j = 0; j < minor; j++) if (offsets[j + 1]! > offsets[j]!) pick[j] = targets[offsets[j]!]!;
    pickTables.set(map, pick);
  }
  return pick;
}

/**
 * cpu op: the block restricted to the minor positions of `map`, renumbered (scipy's
 * `X[:, cols]` on CSR). Only the stored values of selected positions are copied.
 *
 * @example
 * ```ts
 * sparseTakeMinor(block, minorMap([3, 1], 60)); // columns 3 and 1 of a CSR block, in that order
 * ```
 */
export function sparseTakeMinor(block: SparseBlock, map: MinorMap): SparseBlock {
  const [major] = majorMinor(block);
  const { indptr, indices, data } = block;
  const { offsets, targets } = map;
  let nnz = 0;
  for (let p = 0; p < indptr[major]!; p++) nnz += offsets[indices[p]! + 1]! - offsets[indices[p]!]!;
  const outPtr = new Int32Array(major + 1);
  const outIdx = new Int32Array(nnz);
  const outData = allocate(block.dtype, nnz) as TypedArray;
  const src = data as unknown as number[];
  const dst = outData as unknown as number[];
  let q = 0;
  for (let a = 0; a < major; a++) {
    const q0 = q;
    for (let p = indptr[a]!; p < indptr[a + 1]!; p++) {
      const j = indices[p]!;
      for (let t = offsets[j]!; t < offsets[j + 1]!; t++) {
        outIdx[q] = targets[t]!;
        dst[q++] = src[p]!;
      }
    }
    if (!map.monotonic && q - q0 > 1) sortRow(outIdx, dst, q0, q);
    outPtr[a + 1] = q;
  }
  const shape: [number, number] = block.format === "csr" ? [block.shape[0], map.length] : [map.length, block.shape[1]];
  return { format: block.format, shape, indptr: outPtr, indices: outIdx, data: outData, dtype: block.dtype };
}

/** Sort one row's entries by index, values moving with their indices. */
function sortRow(idx: Int32Array, vals: number[], lo: number, hi: number): void {
  const n = hi - lo;
  const order = Array.from({ length: n }, (_, i) => lo + i).sort((x, y) => idx[x]! - idx[y]!);
  const i2 = order.map((k) => idx[k]!);
  const v2 = order.map((k) => vals[k]!);
  for (let i = 0; i < n; i++) {
    idx[lo + i] = i2[i]!;
    vals[lo + i] = v2[i]!;
  }
}
