// The per-chunk step of a reduction of a stored sparse matrix over its major axis (per column of
// CSR) or over both: it needs each stored value and its index, not which line holds it, so one
// task per chunk pair decodes both chunks, folds their values into the partial result and
// drops them. No block is gathered, and a decoded chunk never leaves its task.
import { recycleBuffer } from "@zask/scheduler/buffers";
import { reducesInWasm } from "../codecs/blosc-kernels.js";
import { allocate, itemsize, typedArrayConstructor, type TypedArray } from "../dtype.js";
import { kindOf } from "../promote.js";
import { narrowIndices } from "./narrow-indices.js";
import type { PartialResult } from "./reduction-kernels.js";
import { start } from "./sparse-reductions.js";
import { badIndex, checkHolds, decodePairInWasm, type ChunkPair, type DecodeTail } from "./sparse-chunk-pair.js";
import { decodeChunk, type DecodeArgs } from "./zarr.js";

/**
 * The reductions a chunk pair's values make a partial result of on their own: sums and counts,
 * and var, std, min and max over its stored values with their count per element (the zeros
 * the pair does not store are folded in by the last step; see PartialResult.counts).
 */
export type PairReduceKind = "fsum" | "isum" | "mean" | "countNonzero" | "var" | "std" | "min" | "max";

/** Which stored values of one chunk pair a reduction adds, and into what. */
export interface SparseReducePairLayout extends ChunkPair {
  /** Each value into the slot of its index (the major axis reduced), else all into one (both axes). */
  readonly byIndex: boolean;
  /** The partial's shape: the matrix's, reduced axes of length 1. */
  readonly shape: readonly number[];
  /**
   * The input elements behind each output element that this pair accounts for (its share of
   * the major positions, times the minor length when both axes are reduced), so that the
   * partials' counts add up to the reduction's.
   */
  readonly n: number;
}

// this thread's int64 indices read as int32, grown as needed
let scratchIx = new Int32Array(0);

/**
 * cpu op: decode `data` and `indices` chunk `layout.chunk` (the decode op's arguments) and fold
 * the stored values in [p0, p1) into the partial result of `kind` that the tree reduction
 * combines (reduction-kernels.ts): float64 sums by index (or into one), counts of the nonzero
 * ones, or the mean and M2 (var, std) or the extreme (min, max) of the stored values with their
 * count. Every index in the range is checked against the minor axis. Plain blosc chunks with
 * int32 indices decode into this thread's WebAssembly memory, where the kernels scan them.
 *
 * @example
 * ```ts
 * // per-column sums of the values stored at positions 0-999 of chunk pair 0
 * await sparseReducePair("fsum", { chunk: 0, chunkLen: 1000, p0: 0, p1: 1000, minor: 50, byIndex: true, shape: [1, 50], n: 40, dtype: "float32", path: "/X", url: undefined }, data, indices, dataTail, indicesTail);
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
  if (kind === "var" || kind === "std" || kind === "min" || kind === "max") {
    const fast = countedInWasm(kind, layout, dataBytes, indicesBytes, dataDecode, indicesDecode);
    if (fast !== undefined) return fast;
    const pair = await decodeInJs(layout, dataBytes, indicesBytes, dataDecode, indicesDecode);
    try {
      return kind === "min" || kind === "max" ? extremes(kind, layout, pair) : moments(layout, pair);
    } finally {
      pair.release();
    }
  }
  const sums =
    sumInWasm(kind, layout, dataBytes, indicesBytes, dataDecode, indicesDecode) ??
    (await sumInJs(kind, layout, dataBytes, indicesBytes, dataDecode, indicesDecode));
  if (kind === "isum") {
    // integer sums as the block kernel gives them: float64 accumulation, then int64
    const unsigned = kindOf(layout.dtype) === "uint";
    const out = unsigned ? new BigUint64Array(sums.length) : new BigInt64Array(sums.length);
    for (let i = 0; i < sums.length; i++) out[i] = BigInt(sums[i]!) as never;
    return { data: out, shape: layout.shape, dtype: unsigned ? "uint64" : "int64", n: layout.n };
  }
  return { data: sums, shape: layout.shape, dtype: "float64", n: layout.n };
}

/** A decoded chunk pair: positions [from, to) of the chunks are read, `ix[k - off]` is position k's index. */
interface DecodedPair {
  readonly ix: ArrayLike<number>;
  readonly off: number;
  readonly v: ArrayLike<number>;
  readonly from: number;
  readonly to: number;
  /** The stored index at position k, for errors. */
  stored(k: number): number | bigint;
  /** Give the decoded buffers back. */
  release(): void;
}

/**
 * The counted partial of var/std (moments_i32) or min/max (extreme_i32) by the wasm kernels, or
 * `undefined` when the pair does not decode there (nothing consumed).
 */
function countedInWasm(
  kind: "var" | "std" | "min" | "max",
  layout: SparseReducePairLayout,
  dataBytes: DecodeArgs[0],
  indicesBytes: DecodeArgs[0],
  dataDecode: DecodeTail,
  indicesDecode: DecodeTail,
): PartialResult | undefined {
  const { chunk, chunkLen, p0, p1, minor, dtype, byIndex } = layout;
  if (dtype === "string" || !reducesInWasm(dtype)) return undefined;
  const slots = byIndex ? minor : 1;
  const size = itemsize(dtype);
  const extreme = kind === "min" || kind === "max";
  const decoded = decodePairInWasm(
    layout,
    dataBytes,
    indicesBytes,
    dataDecode,
    indicesDecode,
    extreme ? [8 * slots, size * slots] : [8 * slots, 8 * slots, 8 * slots],
  );
  if (decoded === undefined) return undefined;
  const { kernels, bytes, at, extraAt } = decoded;
  const buffer = bytes.buffer as ArrayBuffer;
  const from = p0 - chunk * chunkLen;
  const n = Math.max(0, p1 - p0);
  const counts = new Float64Array(buffer, extraAt[0]!, slots);
  counts.fill(0);
  const fail = (k: number | null): void => {
    if (k !== null && k < 0) throw badIndex(layout, p0 - 1 - k, new Int32Array(buffer, at[0]!, chunkLen)[from - 1 - k]!);
  };
  if (extreme) {
    const out = new (typedArrayConstructor(dtype))(buffer, extraAt[1]!, slots) as TypedArray;
    out.fill(start(dtype, kind === "max" ? 1 : -1) as never);
    fail(kernels.extremeI32(at[0]! + 4 * from, at[1]! + size * from, n, minor, extraAt[1]!, extraAt[0]!, dtype, byIndex, kind === "max"));
    return { data: out.slice(), counts: counts.slice(), shape: layout.shape, dtype, n: layout.n };
  }
  const mean = new Float64Array(buffer, extraAt[1]!, slots);
  const m2 = new Float64Array(buffer, extraAt[2]!, slots);
  mean.fill(0);
  m2.fill(0);
  fail(kernels.momentsI32(at[0]! + 4 * from, at[1]! + size * from, n, minor, extraAt[1]!, extraAt[0]!, extraAt[2]!, dtype, byIndex));
  return { data: mean.slice(), aux: m2.slice(), counts: counts.slice(), shape: layout.shape, dtype: "float64", n: layout.n };
}

/** The pair decoded as any chunk (other codecs, int64 indices, files on disk). */
async function decodeInJs(
  layout: SparseReducePairLayout,
  dataBytes: DecodeArgs[0],
  indicesBytes: DecodeArgs[0],
  dataDecode: DecodeTail,
  indicesDecode: DecodeTail,
): Promise<DecodedPair> {
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
    // int64 indices as int32 (one beyond int32 as -1, refused with its stored value)
    if (scratchIx.length < to - from) scratchIx = new Int32Array(to - from);
    narrowIndices(raw, from, to, scratchIx);
    ix = scratchIx;
    off = from;
  } else ix = raw as unknown as ArrayLike<number>;
  return {
    ix,
    off,
    v: dBlock.data as unknown as ArrayLike<number>,
    from,
    to,
    stored: (k) => raw[k] as number | bigint,
    release: () => {
      recycleBuffer((raw as TypedArray).buffer as ArrayBuffer);
      recycleBuffer((dBlock.data as TypedArray).buffer as ArrayBuffer);
    },
  };
}

/** Per element: the count, mean and M2 (two passes) of the pair's stored values (var, std). */
function moments(layout: SparseReducePairLayout, pair: DecodedPair): PartialResult {
  const { minor, byIndex, chunk, chunkLen } = layout;
  const { ix, off, v, from, to } = pair;
  const slots = byIndex ? minor : 1;
  const counts = new Float64Array(slots);
  const mean = new Float64Array(slots);
  for (let k = from; k < to; k++) {
    const j = ix[k - off]!;
    if (!(j >= 0 && j < minor)) throw badIndex(layout, chunk * chunkLen + k, pair.stored(k));
    const s = byIndex ? j : 0;
    mean[s]! += v[k]!;
    counts[s]!++;
  }
  for (let s = 0; s < slots; s++) if (counts[s]! > 0) mean[s]! /= counts[s]!;
  const m2 = new Float64Array(slots);
  for (let k = from; k < to; k++) {
    const s = byIndex ? ix[k - off]! : 0;
    const d = v[k]! - mean[s]!;
    m2[s]! += d * d;
  }
  return { data: mean, aux: m2, counts, shape: layout.shape, dtype: "float64", n: layout.n };
}

/** Per element: the extreme of the pair's stored values, in their dtype, and their count (min, max). */
function extremes(kind: "min" | "max", layout: SparseReducePairLayout, pair: DecodedPair): PartialResult {
  const { minor, byIndex, chunk, chunkLen, dtype } = layout;
  const { ix, off, v, from, to } = pair;
  const slots = byIndex ? minor : 1;
  const counts = new Float64Array(slots);
  const sign = kind === "max" ? 1 : -1;
  const out = allocate(dtype, slots) as TypedArray;
  out.fill(start(dtype, sign) as never);
  const m = out as unknown as number[];
  for (let k = from; k < to; k++) {
    const j = ix[k - off]!;
    if (!(j >= 0 && j < minor)) throw badIndex(layout, chunk * chunkLen + k, pair.stored(k));
    const s = byIndex ? j : 0;
    const x = v[k]!;
    const b = m[s]!;
    counts[s]!++;
    if (b === b && (x !== x || (sign > 0 ? x > b : x < b))) m[s] = x;
  }
  return { data: out, counts, shape: layout.shape, dtype, n: layout.n };
}
/** The sums (or counts) by the wasm kernel, or `undefined` when the pair does not decode there (nothing consumed). */
function sumInWasm(
  kind: PairReduceKind,
  layout: SparseReducePairLayout,
  dataBytes: DecodeArgs[0],
  indicesBytes: DecodeArgs[0],
  dataDecode: DecodeTail,
  indicesDecode: DecodeTail,
): Float64Array | undefined {
  const { chunk, chunkLen, p0, p1, minor, dtype, byIndex } = layout;
  if (!reducesInWasm(dtype)) return undefined;
  const slots = byIndex ? minor : 1;
  const decoded = decodePairInWasm(layout, dataBytes, indicesBytes, dataDecode, indicesDecode, [8 * slots]);
  if (decoded === undefined) return undefined;
  const { kernels, bytes, at, extraAt } = decoded;
  const buffer = bytes.buffer as ArrayBuffer;
  const sums = new Float64Array(buffer, extraAt[0]!, slots);
  sums.fill(0);
  const from = p0 - chunk * chunkLen;
  const k = kernels.reduceI32(
    at[0]! + 4 * from,
    at[1]! + itemsize(dtype) * from,
    Math.max(0, p1 - p0),
    minor,
    extraAt[0]!,
    dtype,
    byIndex,
    kind === "countNonzero",
  );
  if (k !== null && k < 0) throw badIndex(layout, p0 - 1 - k, new Int32Array(buffer, at[0]!, chunkLen)[from - 1 - k]!);
  return sums.slice();
}

/** The sums (or counts) of chunks decoded as any other (other codecs, int64 indices, files on disk). */
async function sumInJs(
  kind: PairReduceKind,
  layout: SparseReducePairLayout,
  dataBytes: DecodeArgs[0],
  indicesBytes: DecodeArgs[0],
  dataDecode: DecodeTail,
  indicesDecode: DecodeTail,
): Promise<Float64Array> {
  const { chunk, chunkLen, minor, byIndex } = layout;
  const pair = await decodeInJs(layout, dataBytes, indicesBytes, dataDecode, indicesDecode);
  const { ix, off, v, from, to } = pair;
  const sums = new Float64Array(byIndex ? minor : 1);
  const count = kind === "countNonzero";
  for (let k = from; k < to; k++) {
    const j = ix[k - off]!;
    if (!(j >= 0 && j < minor)) throw badIndex(layout, chunk * chunkLen + k, pair.stored(k));
    const x = v[k]!;
    sums[byIndex ? j : 0]! += count ? (x !== 0 ? 1 : 0) : x;
  }
  pair.release();
  return sums;
}
