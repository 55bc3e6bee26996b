// The per-chunk step of a reduction of a stored sparse matrix over its major axis (per column of
// CSR) or over both: it needs each stored value and its index, not which line holds it, so one
// task per chunk pair decodes both chunks, folds the values of the lines it is asked for into
// the partial result and drops them. No block is gathered, and a decoded chunk never leaves
// its task.
import { recycleBuffer } from "@zask/scheduler/buffers";
import type { WasmDecoded } from "../codecs/blosc-decode.js";
import { reducesInWasm } from "../codecs/blosc-kernels.js";
import { allocate, itemsize, typedArrayConstructor, type TypedArray } from "../dtype.js";
import { kindOf } from "../promote.js";
import { narrowIndices } from "./narrow-indices.js";
import type { PartialResult } from "./reduction-kernels.js";
import { badIndex, checkHolds, decodePairForWasm, decodePairInWasm, type ChunkPair, type DecodeTail } from "./sparse-chunk-pair.js";
import { canonicalEntries, strictlyIncreasing } from "./sparse-canonical.js";
import type { LineEntries, LinePart, LineParts } from "./sparse-line-parts.js";
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
  /**
   * For a reduction that is not linear in the stored values: the parts of the lines that run
   * across a chunk boundary, four numbers each (the line's id, the part's start and end offsets,
   * the line's length), handed on unfolded (sparse-line-parts.ts), while the ranges hold whole
   * lines only, whose duplicate indices the pair sums before folding them in.
   */
  readonly lineParts?: Float64Array;
  /** With `lineParts`: the offset each whole line of the ranges starts at, in the order the ranges are read. */
  readonly lineStarts?: Int32Array;
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
  const extra = wasmRegions(kind, layout);
  if (extra !== undefined) {
    const decoded = decodePairInWasm(layout, ...input, extra);
    if (decoded !== undefined) return foldInWasm(kind, layout, decoded);
    // other codecs decode as any chunk, then the same kernels scan a copy
    const copied = await decodePairForWasm(layout, ...input);
    if (copied !== undefined) return foldInWasm(kind, layout, copied.place(extra));
  }
  const pair = await decodeInJs(layout, ...input);
  try {
    return withLines(kind, layout, pair) ?? fold(kind, layout, pair);
  } finally {
    pair.release();
  }
}

/** The partial of the values in `layout.ranges` of `pair`. */
function fold(kind: PairReduceKind, layout: SparseReducePairLayout, pair: DecodedPair): PartialResult {
  if (kind === "min" || kind === "max") return extremes(kind, layout, pair);
  if (kind === "var" || kind === "std") return moments(layout, pair);
  return sumsPartial(kind, layout, sums(kind, layout, pair));
}

/**
 * For a layout with `lineParts`: the partial of its whole lines, each with its duplicate
 * indices summed, carrying the parts of its lines that run across a chunk boundary. Every index
 * read is checked. `undefined` when the layout has no `lineParts`.
 */
function withLines(kind: PairReduceKind, layout: SparseReducePairLayout, pair: DecodedPair): PartialResult | undefined {
  const lines = partsOf(layout, pair);
  if (lines === undefined) return undefined;
  const summed = summedRanges(layout, pair);
  const partial = summed === undefined ? fold(kind, layout, pair) : fold(kind, summed.layout, summed.pair);
  return lines.parts.length === 0 ? partial : { ...partial, lines };
}

/** The index at offset k of the chunks, checked against the minor axis. */
function checkedIndex(layout: SparseReducePairLayout, pair: DecodedPair, k: number): number {
  const j = pair.ix[k - pair.off]!;
  if (!(j >= 0 && j < layout.minor)) throw badIndex(layout, layout.chunk * layout.chunkLen + k, pair.stored(k));
  return j;
}

/** The parts of lines across chunk boundaries that `layout.lineParts` names, copied out of `pair`. */
function partsOf(layout: SparseReducePairLayout, pair: DecodedPair): LineParts | undefined {
  const spec = layout.lineParts;
  if (spec === undefined) return undefined;
  const parts: LinePart[] = [];
  for (let i = 0; i < spec.length; i += 4) {
    const from = spec[i + 1]!;
    const to = spec[i + 2]!;
    const indices = new Int32Array(to - from);
    const values = new Float64Array(to - from);
    for (let k = from; k < to; k++) {
      indices[k - from] = checkedIndex(layout, pair, k);
      values[k - from] = pair.v[k]!;
    }
    parts.push({ id: spec[i]!, length: spec[i + 3]!, indices, values });
  }
  const { dtype, minor, byIndex, shape } = layout;
  return { parts, dtype: dtype as LineParts["dtype"], minor, byIndex, shape };
}

/**
 * Calls `line(from, to)` for each whole line of `ranges` (offsets), in the order they are read
 * (the ranges cut where `starts`, in that order, says a line begins), until it returns false;
 * returns whether every line was visited.
 */
function forEachLine(ranges: Int32Array, starts: Int32Array, line: (from: number, to: number) => boolean | undefined): boolean {
  let p = 0;
  for (let r = 0; r < ranges.length; r += 2) {
    const end = ranges[r + 1]!;
    let from = ranges[r]!;
    p++; // a range starts with a line
    while (from < end) {
      const to = p < starts.length && starts[p]! > from && starts[p]! < end ? starts[p++]! : end;
      if (line(from, to) === false) return false;
      from = to;
    }
  }
  return true;
}

/**
 * The whole lines of `layout.ranges` with each index once (its values summed), as a pair and a
 * layout of their own; `undefined` when every line's indices strictly increase already, so the
 * pair folds in as it is (its fold checks each index). Every index is checked here otherwise.
 */
function summedRanges(layout: SparseReducePairLayout, pair: DecodedPair): { layout: SparseReducePairLayout; pair: DecodedPair } | undefined {
  const { ranges } = layout;
  const starts = layout.lineStarts!;
  const ix = pair.ix instanceof Int32Array ? pair.ix : Int32Array.from(pair.ix);
  if (forEachLine(ranges, starts, (from, to) => strictlyIncreasing(ix, from - pair.off, to - pair.off))) return undefined;
  let total = 0;
  for (let r = 0; r < ranges.length; r += 2) {
    for (let k = ranges[r]!; k < ranges[r + 1]!; k++) checkedIndex(layout, pair, k);
    total += ranges[r + 1]! - ranges[r]!;
  }
  const v = pair.v as Float64Array;
  const outIx = new Int32Array(total);
  const outV = new Float64Array(total);
  let q = 0;
  forEachLine(ranges, starts, (from, to) => {
    const line = canonicalEntries([ix.slice(from - pair.off, to - pair.off)], [Float64Array.from(v.subarray(from, to))], layout.dtype as LineParts["dtype"]);
    outIx.set(line.indices, q);
    outV.set(line.values, q);
    q += line.indices.length;
    return true;
  });
  return {
    layout: { ...layout, ranges: Int32Array.of(0, q) },
    pair: { ix: outIx, off: 0, v: outV, stored: (k) => outIx[k]!, release: () => {} },
  };
}

/**
 * The partial of entries gathered from whole lines (each index once; see sparse-line-parts.ts),
 * folded in as a chunk pair's stored values are: it accounts for no lines of its own (`n` 0),
 * the pairs the lines start in count them.
 *
 * @example
 * ```ts
 * foldEntries("max", lines, { indices: Int32Array.of(1, 4), values: Float64Array.of(2, 0) });
 * ```
 */
export function foldEntries(kind: PairReduceKind, lines: LineParts, entries: LineEntries): PartialResult {
  const n = entries.indices.length;
  const layout: SparseReducePairLayout = {
    chunk: 0,
    chunkLen: n,
    p0: 0,
    p1: n,
    ranges: Int32Array.of(0, n),
    minor: lines.minor,
    dtype: lines.dtype,
    path: "",
    url: undefined,
    byIndex: lines.byIndex,
    shape: lines.shape,
    n: 0,
  };
  const { indices } = entries;
  return fold(kind, layout, { ix: indices, off: 0, v: entries.values, stored: (k) => indices[k]!, release: () => {} });
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

/**
 * The sizes of the regions the wasm kernels need after the decoded pair: the ranges, the
 * outputs (sums; counts and extremes; counts, means and M2), the line starts. `undefined` when
 * the kernels do not take the pair's dtype.
 */
function wasmRegions(kind: PairReduceKind, layout: SparseReducePairLayout): number[] | undefined {
  const { minor, dtype, byIndex, ranges } = layout;
  if (dtype === "string" || !reducesInWasm(dtype)) return undefined;
  const slots = byIndex ? minor : 1;
  const outputs =
    kind === "min" || kind === "max"
      ? [8 * slots, itemsize(dtype) * slots]
      : kind === "var" || kind === "std"
        ? [8 * slots, 8 * slots, 8 * slots]
        : [8 * slots];
  return [4 * ranges.length, ...outputs, 4 * (layout.lineStarts?.length ?? 0)];
}

/** The partial by the wasm kernels, from the pair decoded into this thread's WebAssembly memory with {@link wasmRegions}. */
function foldInWasm(kind: PairReduceKind, layout: SparseReducePairLayout, decoded: WasmDecoded): PartialResult {
  const { chunk, chunkLen, minor, dtype, byIndex, ranges } = layout;
  if (dtype === "string") throw new TypeError("Expected a numeric pair");
  const slots = byIndex ? minor : 1;
  const extreme = kind === "min" || kind === "max";
  const moment = kind === "var" || kind === "std";
  const starts = layout.lineStarts;
  const { kernels, bytes, at, extraAt } = decoded;
  const buffer = bytes.buffer as ArrayBuffer;
  const [rangesAt, a, b, c] = extraAt as [number, number, number?, number?];
  new Int32Array(buffer, rangesAt, ranges.length).set(ranges);
  let lines: LineParts | undefined;
  if (layout.lineParts !== undefined && starts !== undefined) {
    // the lines are checked, and copied out where they cross a chunk boundary, from this memory
    const startsAt = extraAt[extraAt.length - 1]!;
    new Int32Array(buffer, startsAt, starts.length).set(starts);
    const ix = new Int32Array(buffer, at[0]!, chunkLen);
    const pair: DecodedPair = {
      ix,
      off: 0,
      v: new (typedArrayConstructor(dtype))(buffer, at[1]!, chunkLen) as ArrayLike<number>,
      stored: (k) => ix[k]!,
      release: () => {},
    };
    // a line storing an index twice (or out of order) is summed in JS, as on the JS path
    if (!kernels.linesIncreaseI32(at[0]!, rangesAt, ranges.length / 2, startsAt, starts.length)) return withLines(kind, layout, pair)!;
    lines = partsOf(layout, pair)!;
    if (lines.parts.length === 0) lines = undefined;
  }
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
  return lines === undefined ? partial : { ...partial, lines };
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
  const j = checkedIndex(layout, pair, k);
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
