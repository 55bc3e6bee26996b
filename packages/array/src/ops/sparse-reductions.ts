// Per-block reduction kernels over sparse blocks: partial results shaped as the dense kernels'
// (ops/reduction-kernels.ts), so the same combine and aggregate steps finish the tree.
import { allocate, type TypedArray } from "../dtype.js";
import { integerRange, kindOf } from "../promote.js";
import type { PartialResult, ReduceKind } from "./reduction-kernels.js";
import { majorMinor, type SparseBlock } from "./sparse-block.js";
import { canonicalBlock } from "./sparse-canonical.js";

/** Sparse kinds: every dense kind but argmin/argmax, which need positions of implicit zeros. */
export type SparseReduceKind = Exclude<ReduceKind, "argmin" | "argmax">;

/**
 * The per-block step of a tree reduction over a sparse block, with the block's implicit zeros
 * counted as scipy/numpy do: in sums and means as zeros, in var as deviations from the mean,
 * in min/max as a candidate 0 wherever a line has fewer stored values than its length.
 * Accumulates in float64. An index stored twice in a line counts once, with its values summed.
 *
 * @example
 * ```ts
 * sparseReduceChunk("mean", csrBlock, [0]); // per-column sums over the block's rows, n = rows
 * ```
 */
export function sparseReduceChunk(kind: SparseReduceKind, input: SparseBlock, axes: readonly number[]): PartialResult {
  // sums and means add duplicates up as they are; the other kinds see them summed first
  const block = kind === "fsum" || kind === "isum" || kind === "mean" ? input : canonicalBlock(input);
  const [major, minor] = majorMinor(block);
  const majorAxis = block.format === "csr" ? 0 : 1;
  const redMajor = axes.includes(majorAxis);
  const redMinor = axes.includes(1 - majorAxis);
  const shape = block.shape.map((s, d) => (axes.includes(d) ? 1 : s));
  const len = redMajor && redMinor ? 1 : redMajor ? minor : redMinor ? major : major * minor;
  const n = (redMajor ? major : 1) * (redMinor ? minor : 1);
  if (!redMajor && !redMinor) throw new RangeError(`Expected a reduction over at least one axis, got \`${JSON.stringify(axes)}\``);
  const { indptr, indices } = block;
  const nnz = indptr[major]!;
  // each stored value's output slot is its minor index (the major axis reduced), its line (the
  // minor axis reduced: the sums and deviations walk each line's run, with no slot array), or 0
  const perLine = !redMajor;
  const slotOf = (): Int32Array => (redMajor ? (redMinor ? new Int32Array(nnz) : indices) : majorOf(indptr, major));
  const big = block.data instanceof BigInt64Array || block.data instanceof BigUint64Array;
  const cnt = new Float64Array(len);
  switch (kind) {
    case "fsum":
    case "isum":
    case "mean":
    case "var":
    case "std": {
      const v = (big ? Float64Array.from(block.data as BigInt64Array, Number) : block.data) as unknown as ArrayLike<number>;
      const sum = new Float64Array(len);
      if (perLine) addByLine(indptr, major, v, sum, cnt);
      else if (redMinor) addAll(v, nnz, sum, cnt);
      else addBySlot(indices, v, nnz, sum, cnt);
      if (kind === "isum") {
        const unsigned = kindOf(block.dtype) === "uint";
        const out = unsigned ? new BigUint64Array(len) : new BigInt64Array(len);
        for (let i = 0; i < len; i++) out[i] = BigInt(sum[i]!) as never;
        return { data: out, shape, dtype: unsigned ? "uint64" : "int64", n };
      }
      if (kind !== "var" && kind !== "std") return { data: sum, shape, dtype: "float64", n };
      const mean = sum;
      if (n > 0) for (let i = 0; i < len; i++) mean[i]! /= n;
      // two passes: stored deviations, then each implicit zero's deviation (0 - mean)²
      const m2 = new Float64Array(len);
      if (perLine) addSquaredDeviationsByLine(indptr, major, v, mean, m2);
      else addSquaredDeviations(redMinor ? slotOf() : indices, v, nnz, mean, m2);
      for (let i = 0; i < len; i++) m2[i]! += (n - cnt[i]!) * mean[i]! * mean[i]!;
      return { data: mean, shape, dtype: "float64", n, aux: m2 };
    }
    case "min":
    case "max": {
      const v = block.data as unknown as number[];
      const sign = kind === "max" ? 1 : -1;
      const out = allocate(block.dtype, len) as TypedArray;
      const m = out as unknown as number[];
      out.fill(start(block.dtype, sign) as never);
      const zero = (big ? 0n : 0) as number;
      const slot = slotOf();
      for (let p = 0; p < nnz; p++) {
        const k = slot[p]!;
        const x = v[p]!;
        const b = m[k]!;
        cnt[k]!++;
        if (b === b && (x !== x || (sign > 0 ? x > b : x < b))) m[k] = x;
      }
      for (let i = 0; i < len; i++) {
        const b = m[i]!;
        if (cnt[i]! < n && b === b && (sign > 0 ? zero > b : zero < b)) m[i] = zero;
      }
      return { data: out, shape, dtype: block.dtype, n };
    }
    case "countNonzero":
    case "any":
    case "all": {
      const v = block.data as unknown as number[];
      const zero = (big ? 0n : 0) as number;
      if (perLine) countByLine(indptr, major, v, cnt, zero);
      else {
        const slot = slotOf();
        for (let p = 0; p < nnz; p++) if (v[p] !== zero) cnt[slot[p]!]!++;
      }
      if (kind === "countNonzero") return { data: cnt, shape, dtype: "float64", n };
      const flags = new Uint8Array(len);
      for (let i = 0; i < len; i++) flags[i] = (kind === "any" ? cnt[i]! > 0 : cnt[i] === n) ? 1 : 0;
      return { data: flags, shape, dtype: "bool", n };
    }
  }
  throw new RangeError(`Expected a sparse reduction kind, got \`${String(kind)}\``);
}

// The loops over stored values are functions of their own: V8 optimizes a long loop while it
// runs (on-stack replacement), and code after it in the same function that has not run yet
// would deoptimize that code again on every call.

/** `sum[slot[p]] += v[p]` and `cnt[slot[p]]++` over the first `nnz` stored values. */
function addBySlot(slot: Int32Array, v: ArrayLike<number>, nnz: number, sum: Float64Array, cnt: Float64Array): void {
  for (let p = 0; p < nnz; p++) {
    const k = slot[p]!;
    sum[k]! += v[p]!;
    cnt[k]!++;
  }
}

/** Each line's sum of its stored values into `sum` (in stored order) and their count into `cnt`. */
function addByLine(indptr: Int32Array, major: number, v: ArrayLike<number>, sum: Float64Array, cnt: Float64Array): void {
  for (let a = 0; a < major; a++) {
    const end = indptr[a + 1]!;
    let t = 0;
    for (let p = indptr[a]!; p < end; p++) t += v[p]!;
    sum[a] = t;
    cnt[a] = end - indptr[a]!;
  }
}

/** The sum of the first `nnz` stored values (in stored order) into `sum[0]`, their count into `cnt[0]`. */
function addAll(v: ArrayLike<number>, nnz: number, sum: Float64Array, cnt: Float64Array): void {
  let t = 0;
  for (let p = 0; p < nnz; p++) t += v[p]!;
  sum[0] = t;
  cnt[0] = nnz;
}

/** Each line's `Σ (v[p] - mean[line])²` over its stored values into `m2`. */
function addSquaredDeviationsByLine(indptr: Int32Array, major: number, v: ArrayLike<number>, mean: Float64Array, m2: Float64Array): void {
  for (let a = 0; a < major; a++) {
    const end = indptr[a + 1]!;
    const m = mean[a]!;
    let t = 0;
    for (let p = indptr[a]!; p < end; p++) {
      const d = v[p]! - m;
      t += d * d;
    }
    m2[a] = t;
  }
}

/** Each line's count of nonzero stored values into `cnt`. */
function countByLine(indptr: Int32Array, major: number, v: ArrayLike<number>, cnt: Float64Array, zero: number): void {
  for (let a = 0; a < major; a++) {
    const end = indptr[a + 1]!;
    let c = 0;
    for (let p = indptr[a]!; p < end; p++) if (v[p] !== zero) c++;
    cnt[a] = c;
  }
}

/** `m2[slot[p]] += (v[p] - mean[slot[p]])²` over the first `nnz` stored values. */
function addSquaredDeviations(slot: Int32Array, v: ArrayLike<number>, nnz: number, mean: Float64Array, m2: Float64Array): void {
  for (let p = 0; p < nnz; p++) {
    const k = slot[p]!;
    const d = v[p]! - mean[k]!;
    m2[k]! += d * d;
  }
}

/** The major index of every stored value. */
function majorOf(indptr: Int32Array, major: number): Int32Array {
  const out = new Int32Array(indptr[major]!);
  for (let a = 0; a < major; a++) out.fill(a, indptr[a]!, indptr[a + 1]!);
  return out;
}

/** The running extreme's first value: below (max) or above (min) every value of `dtype`. */
export function start(dtype: SparseBlock["dtype"], sign: 1 | -1): number | bigint {
  if (kindOf(dtype) === "float") return sign > 0 ? -Infinity : Infinity;
  const [lo, hi] = integerRange(dtype === "bool" ? "uint8" : dtype);
  const x = sign > 0 ? lo : hi;
  return dtype.endsWith("64") ? x : Number(x);
}
