// A block of a minor-axis selection cut from the picked values of the chunk pairs it spans
// (sparse-pick.ts): each major position gets the picked values stored in its range.
import { allocate, type DataType, type TypedArray } from "../dtype.js";
import type { SparseBlock, SparseFormat } from "./sparse-block.js";
import type { SparsePicked } from "./sparse-pick.js";

/** What {@link sparseGatherPicked} needs of a block: its major positions' stored ranges. */
export interface SparsePickedBlockLayout {
  readonly format: SparseFormat;
  /** Per major position of the block: its first stored value over the whole matrix, and one past its last. */
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  /** Minor length of the selection. */
  readonly minor: number;
  readonly dtype: DataType;
}

/** The first entry of `positions` at or after `p` (they ascend), searching from `lo`. */
function lowerBound(positions: Float64Array | Int32Array, p: number, lo = 0): number {
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (positions[mid]! < p) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * cpu op: the {@link SparseBlock} of the major positions of `layout` from the picked values of
 * the chunk pairs they span (in chunk order, so their positions ascend from one pick to the
 * next): each position gets the picked values stored in its range, in any order of positions.
 */
export function sparseGatherPicked(layout: SparsePickedBlockLayout, picks: readonly SparsePicked[]): SparseBlock {
  const { format, minor, dtype } = layout;
  const major = layout.starts.length;
  const { indptr, firstPick, firstAt } = pickedRuns(layout, picks);
  const nnz = indptr[major]!;
  const indices = new Int32Array(nnz);
  const data = allocate(dtype, nnz) as TypedArray;
  const out = data as unknown as number[];
  let o = 0;
  for (let a = 0; a < major; a++) {
    let left = indptr[a + 1]! - indptr[a]!;
    let kk = firstPick[a]!;
    let i = firstAt[a]!;
    while (left > 0) {
      const p = picks[kk]!;
      const pi = p.indices;
      const pd = p.data as unknown as number[];
      const to = Math.min(p.positions.length, i + left);
      left -= to - i;
      for (; i < to; i++, o++) {
        indices[o] = pi[i]!;
        out[o] = pd[i]!;
      }
      kk++;
      i = 0;
    }
  }
  const shape: [number, number] = format === "csr" ? [major, minor] : [minor, major];
  return { format, shape, indptr, indices, data, dtype };
}

/** Per major position of a block: how many picked values it has (as offsets), and the pick and entry where they begin. */
interface PickedRuns {
  readonly indptr: Int32Array;
  readonly firstPick: Int32Array;
  readonly firstAt: Int32Array;
}

/**
 * Where each major position's picked values are among `picks` (in chunk order, so their
 * positions ascend from one pick to the next). A cursor walks on from the last position's first
 * value while positions ascend and goes back by binary search when one does not, so positions
 * in any order, or repeated, come out right.
 */
function pickedRuns(layout: SparsePickedBlockLayout, picks: readonly SparsePicked[]): PickedRuns {
  const { starts, ends } = layout;
  const major = starts.length;
  const nPicks = picks.length;
  const indptr = new Int32Array(major + 1);
  // per position: the pick and its entry where the position's values begin (they may run on
  // into the next picks); a table per position and pick would be rows × chunks
  const firstPick = new Int32Array(major);
  const firstAt = new Int32Array(major);
  // per pick: the last picked position up to it, so a position that goes back finds its pick
  // by binary search
  const lastUpTo = new Float64Array(nPicks);
  for (let j = 0; j < nPicks; j++) {
    const { base, positions: pos } = picks[j]!;
    const before = j > 0 ? lastUpTo[j - 1]! : -Infinity;
    // the walk below relies on it: picks out of order would lose values without an error
    if (pos.length > 0 && !(base + pos[0]! > before)) {
      throw new RangeError(`Expected the picks of a block in chunk order, got position ${base + pos[0]!} in pick ${j} after ${before}`);
    }
    lastUpTo[j] = pos.length > 0 ? base + pos[pos.length - 1]! : before;
  }
  // the first picked value at or after the last position's start
  let k = 0;
  let at = 0;
  let last = -Infinity;
  let nnz = 0;
  for (let a = 0; a < major; a++) {
    const s = starts[a]!;
    const e = ends[a]!;
    if (e > s) {
      const back = s < last;
      if (back) {
        k = lowerBound(lastUpTo, s);
        at = 0;
      }
      last = s;
      while (k < nPicks) {
        const { base, positions: pos } = picks[k]!;
        const n = pos.length;
        // the position's start, counted as this pick counts
        const from = s - base;
        if (n === 0 || pos[n - 1]! < from) {
          k++;
          at = 0;
          continue;
        }
        if (back) at = lowerBound(pos, from, at);
        else while (pos[at]! < from) at++;
        break;
      }
      firstPick[a] = k;
      firstAt[a] = at;
      let kk = k;
      let i = at;
      while (kk < nPicks) {
        const { base, positions: pos } = picks[kk]!;
        const n = pos.length;
        const to = e - base;
        while (i < n && pos[i]! < to) i++;
        nnz += i - (kk === k ? at : 0);
        if (i < n) break;
        kk++;
        i = 0;
      }
    }
    indptr[a + 1] = nnz;
  }
  return { indptr, firstPick, firstAt };
}
