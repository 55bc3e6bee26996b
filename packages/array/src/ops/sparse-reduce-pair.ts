// The per-chunk step of a sum, mean or nonzero count of a stored sparse matrix over its major
// axis (per column of CSR) or over both: it needs each stored value and its index, not which
// line holds it, so one task per chunk pair decodes both chunks, adds their values into the
// partial result and drops them. No block is gathered, and a decoded chunk never leaves its task.
import { recycleBuffer } from "@zask/scheduler/buffers";
import { reducesInWasm } from "../codecs/blosc-kernels.js";
import { itemsize, type TypedArray } from "../dtype.js";
import { kindOf } from "../promote.js";
import { narrowIndices } from "./narrow-indices.js";
import type { PartialResult } from "./reduction-kernels.js";
import { badIndex, checkHolds, decodePairInWasm, type ChunkPair, type DecodeTail } from "./sparse-chunk-pair.js";
import { decodeChunk, type DecodeArgs } from "./zarr.js";

/** The reductions a chunk pair's values make a partial result of on their own. */
export type PairReduceKind = "fsum" | "isum" | "mean" | "countNonzero";

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
 * cpu op: decode `data` and `indices` chunk `layout.chunk` (the decode op's arguments) and add
 * the stored values in [p0, p1) into float64 sums by index (or into one), or count the nonzero
 * ones: the partial result of `kind` that the tree reduction combines (reduction-kernels.ts).
 * Every index in the range is checked against the minor axis. Plain blosc chunks with int32
 * indices decode into this thread's WebAssembly memory and a kernel adds them there.
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
  const sums =
    reduceInWasm(kind, layout, dataBytes, indicesBytes, dataDecode, indicesDecode) ??
    (await reduceInJs(kind, layout, dataBytes, indicesBytes, dataDecode, indicesDecode));
  if (kind === "isum") {
    // integer sums as the block kernel gives them: float64 accumulation, then int64
    const unsigned = kindOf(layout.dtype) === "uint";
    const out = unsigned ? new BigUint64Array(sums.length) : new BigInt64Array(sums.length);
    for (let i = 0; i < sums.length; i++) out[i] = BigInt(sums[i]!) as never;
    return { data: out, shape: layout.shape, dtype: unsigned ? "uint64" : "int64", n: layout.n };
  }
  return { data: sums, shape: layout.shape, dtype: "float64", n: layout.n };
}

/** The sums (or counts) by the wasm kernel, or `undefined` when the pair does not decode there (nothing consumed). */
function reduceInWasm(
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

/** The sums (or counts) of chunks decoded as any other (other codecs, int64 indices, no WebAssembly). */
async function reduceInJs(
  kind: PairReduceKind,
  layout: SparseReducePairLayout,
  dataBytes: DecodeArgs[0],
  indicesBytes: DecodeArgs[0],
  dataDecode: DecodeTail,
  indicesDecode: DecodeTail,
): Promise<Float64Array> {
  const { chunk, chunkLen, p0, p1, minor, byIndex } = layout;
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
    // int64 indices as int32 (one beyond int32 as -1, refused below with its stored value)
    if (scratchIx.length < to - from) scratchIx = new Int32Array(to - from);
    narrowIndices(raw, from, to, scratchIx);
    ix = scratchIx;
    off = from;
  } else ix = raw as unknown as ArrayLike<number>;
  const v = dBlock.data as unknown as ArrayLike<number>;
  const sums = new Float64Array(byIndex ? minor : 1);
  const count = kind === "countNonzero";
  for (let k = from; k < to; k++) {
    const j = ix[k - off]!;
    if (!(j >= 0 && j < minor)) throw badIndex(layout, base + k, raw[k] as number | bigint);
    const x = v[k]!;
    sums[byIndex ? j : 0]! += count ? (x !== 0 ? 1 : 0) : x;
  }
  recycleBuffer((raw as TypedArray).buffer as ArrayBuffer);
  recycleBuffer((dBlock.data as TypedArray).buffer as ArrayBuffer);
  return sums;
}
