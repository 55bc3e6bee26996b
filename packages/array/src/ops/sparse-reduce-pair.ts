// The per-chunk step of a reduction of a stored sparse matrix over its major axis (per column of
// CSR) or over both: it needs each stored value and its index, not which line holds it, so one
// task per chunk pair decodes both chunks, folds the values of the lines it is asked for into
// the partial result and drops them. No block is gathered, and a decoded chunk never leaves
// its task.
import { recycleBuffer } from "@zask/scheduler/buffers";
import { reducesInWasm } from "../codecs/blosc-kernels.js";
import { allocate, itemsize, typedArrayConstructor, type TypedArray } from "../dtype.js";
import { kindOf } from "../promote.js";
import { narrowIndices } from "./narrow-indices.js";
import type { PartialResult } from "./reduction-kernels.js";
import { badIndex, checkHolds, decodePairInWasm, type ChunkPair, type DecodeTail } from "./sparse-chunk-pair.js";
import { start } from "./sparse-reductions.js";
import { decodeChunk, type DecodeArgs } from "./zarr.js";

/**
 * The reductions a chunk pair's values make a partial result of on their own: sums and counts,
 * and var, std, min and max over its stored values with their count per element (the zeros
 * the pair does not store are folded in by the last step; see PartialResult.counts).
 */
export type PairReduceKind = "fsum" | "isum" | "mean" | "countNonzero" | "var" | "std" | "min" | "max";

/** Which stored values of one chunk pair a reduction folds in, and into what. */
export interface SparseReducePairLayout extends ChunkPair {
  /**
   * The stored values read: [start, end) pairs of offsets from the chunks' first position
   * (`chunk * chunkLen`), one for a whole matrix, else one per selected line in this pair (in
   * any order; a line selected twice is read twice). `p0`/`p1` span them.
   */
  readonly ranges: Int32Array;
  /** Each value into the slot of its index (the major axis reduced), else all into one (both axes). */
  readonly byIndex: boolean;
  /** The partial's shape: the matrix's, reduced axes of length 1. */
  readonly shape: readonly number[];
  /**
   * The input elements behind each output element that this pair accounts for (its share of
   * the lines read, times the minor length when both axes are reduced), so that the partials'
   * counts add up to the reduction's.
   */
  readonly n: number;
}

/** The op's arguments after the layout: both chunks' fetched bytes and the decode op's other arguments. */
type PairInput = [dataBytes: DecodeArgs[0], indicesBytes: DecodeArgs[0], dataDecode: DecodeTail, indicesDecode: DecodeTail];

/**
 * cpu op: decode `data` and `indices` chunk `layout.chunk` (the decode op's arguments) and fold
 * the stored values in `layout.ranges` into the partial result of `kind` that the tree
 * reduction combines (reduction-kernels.ts): float64 sums by index (or into one), counts of
 * the nonzero ones, or the mean and M2 (var, std) or the extreme (min, max) of the stored
 * values with their count. Every index read is checked against the minor axis. Plain blosc
 * chunks with int32 indices decode into this thread's WebAssembly memory, where the kernels
 * scan them.
 *
 * @example
 * ```ts
 * // per-column sums of the values stored at positions 0-999 of chunk pair 0
 * const layout = { chunk: 0, chunkLen: 1000, p0: 0, p1: 1000, ranges: Int32Array.of(0, 1000), minor: 50, byIndex: true, shape: [1, 50], n: 40, dtype: "float32", path: "/X", url: undefined } as const;
 * await sparseReducePair("fsum", layout, data, indices, dataTail, indicesTail);
 * ```
 */
export async function sparseReducePair(
  kind: PairReduceKind,
  layout: SparseReducePairLayout,
  dataBytes: DecodeArgs[0],
  indicesBytes: DecodeArgs[0],
  dataDecode: DecodeTail,
  indicesDecode: DecodeTail,
): Promise<PartialResult> {
  const input: PairInput = [dataBytes, indicesBytes, dataDecode, indicesDecode];
  const partial = inWasm(kind, layout, ...input);
  if (partial !== undefined) return partial;
  const pair = await decodeInJs(layout, ...input);
  try {
    if (kind === "min" || kind === "max") return extremes(kind, layout, pair);
    if (kind === "var" || kind === "std") return moments(layout, pair);
    return sumsPartial(kind, layout, sums(kind, layout, pair));
  } finally {
    pair.release();
  }
}

/** The partial of float64 sums (or counts); integer sums as the block kernel gives them, as int64. */
function sumsPartial(kind: PairReduceKind, layout: SparseReducePairLayout, sums: Float64Array): PartialResult {
  if (kind === "isum") {
    const unsigned = kindOf(layout.dtype) === "uint";
    const out = unsigned ? new BigUint64Array(sums.length) : new BigInt64Array(sums.length);
    for (let i = 0; i < sums.length; i++) out[i] = BigInt(sums[i]!) as never;
    return { data: out, shape: layout.shape, dtype: unsigned ? "uint64" : "int64", n: layout.n };
  }
  return { data: sums, shape: layout.shape, dtype: "float64", n: layout.n };
}

/** The partial by the wasm kernels, or `undefined` when the pair does not decode there (nothing consumed). */
function inWasm(kind: PairReduceKind, layout: SparseReducePairLayout, ...pair: PairInput): PartialResult | undefined {
  const { chunk, chunkLen, minor, dtype, byIndex, ranges } = layout;
  if (dtype === "string" || !reducesInWasm(dtype)) return undefined;
  const slots = byIndex ? minor : 1;
  const extreme = kind === "min" || kind === "max";
  const moment = kind === "var" || kind === "std";
  // ranges, then the outputs: sums; counts and extremes; counts, means and M2
  const outputs = extreme ? [8 * slots, itemsize(dtype) * slots] : moment ? [8 * slots, 8 * slots, 8 * slots] : [8 * slots];
  const decoded = decodePairInWasm(layout, ...pair, [4 * ranges.length, ...outputs]);
  if (decoded === undefined) return undefined;
  const { kernels, bytes, at, extraAt } = decoded;
  const buffer = bytes.buffer as ArrayBuffer;
  const [rangesAt, a, b, c] = extraAt as [number, number, number?, number?];
  new Int32Array(buffer, rangesAt, ranges.length).set(ranges);
  const first = new Float64Array(buffer, a, slots);
  first.fill(0);
  const n = ranges.length / 2;
  let k: number | null;
  let partial: PartialResult;
  if (extreme) {
    const out = new (typedArrayConstructor(dtype))(buffer, b!, slots) as TypedArray;
    out.fill(start(dtype, kind === "max" ? 1 : -1) as never);
    k = kernels.extremeI32(at[0]!, at[1]!, rangesAt, n, minor, b!, a, dtype, byIndex, kind === "max");
    partial = { data: out.slice(), counts: first.slice(), shape: layout.shape, dtype, n: layout.n };
  } else if (moment) {
    const mean = new Float64Array(buffer, b!, slots);
    const m2 = new Float64Array(buffer, c!, slots);
    mean.fill(0);
    m2.fill(0);
    k = kernels.momentsI32(at[0]!, at[1]!, rangesAt, n, minor, b!, a, c!, dtype, byIndex);
    partial = { data: mean.slice(), aux: m2.slice(), counts: first.slice(), shape: layout.shape, dtype: "float64", n: layout.n };
  } else {
    k = kernels.reduceI32(at[0]!, at[1]!, rangesAt, n, minor, a, dtype, byIndex, kind === "countNonzero");
    partial = sumsPartial(kind, layout, first.slice());
  }
  if (k !== null && k < 0) throw badIndex(layout, chunk * chunkLen - 1 - k, new Int32Array(buffer, at[0]!, chunkLen)[-1 - k]!);
  return partial;
}

/** A chunk pair decoded as any chunk: `ix[k - off]` is the index at offset k of the chunks, `v[k]` its value. */
interface DecodedPair {
  readonly ix: ArrayLike<number>;
  readonly off: number;
  readonly v: ArrayLike<number>;
  /** The stored index at offset k, for errors. */
  stored(k: number): number | bigint;
  /** Give the decoded buffers back. */
  release(): void;
}

/** The pair decoded as any chunk (other codecs, int64 indices, files on disk). */
async function decodeInJs(layout: SparseReducePairLayout, ...[dataBytes, indicesBytes, dataDecode, indicesDecode]: PairInput): Promise<DecodedPair> {
  const { chunk, chunkLen, p0, p1 } = layout;
  const base = chunk * chunkLen;
  const from = p0 - base;
  const to = p1 - base;
  const ixBlock = await decodeChunk(indicesBytes, ...indicesDecode);
  checkHolds(layout, ixBlock.data.length, "indices");
  const dBlock = await decodeChunk(dataBytes, ...dataDecode);
  checkHolds(layout, dBlock.data.length, "data");
  const raw = ixBlock.data;
  let ix: ArrayLike<number>;
  let off = 0;
  if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) {
    // int64 indices as int32 (one beyond int32 as -1, refused with its stored value), in an
    // array of this pair's own: the caller reads them after an await, when another pair's
    // decode on this thread may have run
    const narrowed = new Int32Array(to - from);
    narrowIndices(raw, from, to, narrowed);
    ix = narrowed;
    off = from;
  } else ix = raw as unknown as ArrayLike<number>;
  return {
    ix,
    off,
    v: dBlock.data as unknown as ArrayLike<number>,
    stored: (k) => raw[k] as number | bigint,
    release: () => {
      recycleBuffer((raw as TypedArray).buffer as ArrayBuffer);
      recycleBuffer((dBlock.data as TypedArray).buffer as ArrayBuffer);
    },
  };
}

/** The slot of the value at offset k (its index, checked, or 0). */
function slotOf(layout: SparseReducePairLayout, pair: DecodedPair, k: number): number {
  const j = pair.ix[k - pair.off]!;
  if (!(j >= 0 && j < layout.minor)) throw badIndex(layout, layout.chunk * layout.chunkLen + k, pair.stored(k));
  return layout.byIndex ? j : 0;
}

/** Per element: the float64 sum (or count of nonzeros) of the values in the ranges. */
function sums(kind: PairReduceKind, layout: SparseReducePairLayout, pair: DecodedPair): Float64Array {
  const { ranges, byIndex, minor } = layout;
  const out = new Float64Array(byIndex ? minor : 1);
  const count = kind === "countNonzero";
  const v = pair.v;
  for (let r = 0; r < ranges.length; r += 2) {
    for (let k = ranges[r]!; k < ranges[r + 1]!; k++) {
      const x = v[k]!;
      out[slotOf(layout, pair, k)]! += count ? (x !== 0 ? 1 : 0) : x;
    }
  }
  return out;
}

/** Per element: the count, mean and M2 (two passes) of the values in the ranges (var, std). */
function moments(layout: SparseReducePairLayout, pair: DecodedPair): PartialResult {
  const { ranges, byIndex, minor } = layout;
  const slots = byIndex ? minor : 1;
  const counts = new Float64Array(slots);
  const mean = new Float64Array(slots);
  const v = pair.v;
  for (let r = 0; r < ranges.length; r += 2) {
    for (let k = ranges[r]!; k < ranges[r + 1]!; k++) {
      const s = slotOf(layout, pair, k);
      mean[s]! += v[k]!;
      counts[s]!++;
    }
  }
  for (let s = 0; s < slots; s++) if (counts[s]! > 0) mean[s]! /= counts[s]!;
  const m2 = new Float64Array(slots);
  for (let r = 0; r < ranges.length; r += 2) {
    for (let k = ranges[r]!; k < ranges[r + 1]!; k++) {
      const s = byIndex ? pair.ix[k - pair.off]! : 0;
      const d = v[k]! - mean[s]!;
      m2[s]! += d * d;
    }
  }
  return { data: mean, aux: m2, counts, shape: layout.shape, dtype: "float64", n: layout.n };
}

/** Per element: the extreme of the values in the ranges, in their dtype, and their count (min, max). */
function extremes(kind: "min" | "max", layout: SparseReducePairLayout, pair: DecodedPair): PartialResult {
  const { ranges, byIndex, minor, dtype } = layout;
  const slots = byIndex ? minor : 1;
  const counts = new Float64Array(slots);
  const sign = kind === "max" ? 1 : -1;
  const out = allocate(dtype, slots) as TypedArray;
  out.fill(start(dtype, sign) as never);
  const m = out as unknown as number[];
  const v = pair.v;
  for (let r = 0; r < ranges.length; r += 2) {
    for (let k = ranges[r]!; k < ranges[r + 1]!; k++) {
      const s = slotOf(layout, pair, k);
      const x = v[k]!;
      const b = m[s]!;
      counts[s]!++;
      if (b === b && (x !== x || (sign > 0 ? x > b : x < b))) m[s] = x;
    }
  }
  return { data: out, counts, shape: layout.shape, dtype, n: layout.n };
}
