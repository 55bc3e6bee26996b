// A minor-axis selection on a sparse matrix (columns of CSR), read a chunk pair at a time: each
// `data`/`indices` chunk pair is decoded, filtered to the selected stored values and dropped in
// one task, so a selection that keeps few values never holds a decoded chunk past its task, nor
// sends one between threads; the blocks are then cut from the small picked lists
// (sparse-gather-picked.ts), or the dense answer written from them (sparse-dense-picked.ts).
import { recycleBuffer } from "@zask/scheduler/buffers";
import type { WasmDecoded } from "../codecs/blosc-decode.js";
import { allocate, typedArrayConstructor, type NDArray, type TypedArray } from "../dtype.js";
import { narrowIndices } from "./narrow-indices.js";
import { badIndex, checkHolds, decodePairForWasm, decodePairInWasm, type ChunkPair, type DecodeTail } from "./sparse-chunk-pair.js";
import { pickTable, type MinorMap } from "./sparse-select.js";
import { decodeChunk, type DecodeArgs } from "./zarr.js";

/** Which stored values of one chunk pair to pick from. */
export interface SparsePickLayout extends ChunkPair {
  /** The selection: monotonic, each source position at most once. */
  readonly minorMap: MinorMap;
}

/** The selected stored values of one chunk pair, in stored order: plain typed arrays. */
export interface SparsePicked {
  /** A global stored position inside the chunk: each picked value's is `base + positions[i]`. */
  readonly base: number;
  /** Each picked value's stored position from `base` (small, as a chunk is). */
  readonly positions: Int32Array;
  /** Its minor position in the selection. */
  readonly indices: Int32Array;
  readonly data: TypedArray;
}

/** The decoded chunk's values as numbers over [from, to), or a {@link SparseStructureError} when it is shorter. */
function chunkValues(block: NDArray, layout: SparsePickLayout, what: string): ArrayLike<number> {
  checkHolds(layout, block.data.length, what);
  return block.data as unknown as ArrayLike<number>;
}

// this thread's picked positions (relative to the chunk) and renumbered indices, grown as needed
let scratchPos = new Int32Array(0);
let scratchIdx = new Int32Array(0);

function scratchFor(n: number): void {
  if (scratchPos.length >= n) return;
  scratchPos = new Int32Array(n);
  scratchIdx = new Int32Array(n);
}

// this thread's int64 indices read as int32, grown as needed
let scratchIx = new Int32Array(0);

function scratchIndices(n: number): Int32Array {
  if (scratchIx.length < n) scratchIx = new Int32Array(n);
  return scratchIx;
}

/**
 * One pass over `ix[from, to)`: the selected ones' positions and new indices into the scratch
 * arrays; returns how many. Called with Int32Array indices (nearly every store, int64 ones
 * narrowed), so the loop stays monomorphic; other integer types come converted to a
 * Float64Array. A bad index is reported as `stored` holds it (the chunk, from `off`).
 */
function pickInto(
  ix: Int32Array | Float64Array,
  pick: Int32Array,
  from: number,
  to: number,
  layout: SparsePickLayout,
  off: number,
  stored: ArrayLike<number | bigint>,
): number {
  scratchFor(to - from);
  const pos = scratchPos;
  const idx = scratchIdx;
  const minor = layout.minor;
  let q = 0;
  for (let k = from; k < to; k++) {
    const j = ix[k]!;
    if (!(j >= 0 && j < minor)) throw badIndex(layout, off + k, stored[off + k - layout.chunk * layout.chunkLen]!);
    const t = pick[j]!;
    if (t >= 0) {
      pos[q] = k;
      idx[q++] = t;
    }
  }
  return q;
}

/**
 * The pick of a chunk pair whose chunks are plain blosc (see bloscOnlyOf) with int32
 * indices: both decode into this thread's WebAssembly memory and the pick kernel scans the
 * indices there, so no decoded chunk is allocated in JS or copied out, and only the picked
 * values are. `undefined` when this path does not apply (other codecs or dtypes, a missing
 * chunk, no WebAssembly SIMD): the chunks are then decoded as any other.
 */
function pickInWasm(
  layout: SparsePickLayout,
  dataBytes: DecodeArgs[0],
  indicesBytes: DecodeArgs[0],
  dataDecode: DecodeTail,
  indicesDecode: DecodeTail,
): SparsePicked | undefined {
  if (layout.dtype === "string") return undefined;
  const decoded = decodePairInWasm(layout, dataBytes, indicesBytes, dataDecode, indicesDecode, pickRegions(layout));
  return decoded === undefined ? undefined : pickFromWasm(layout, decoded);
}

/** The regions the pick kernel needs after the decoded pair: the pick table, the positions and the renumbered indices. */
function pickRegions(layout: SparsePickLayout): number[] {
  const n = Math.max(0, layout.p1 - layout.p0);
  return [4 * layout.minor, 4 * (n + 1), 4 * (n + 1)];
}

/** The pick of a pair decoded into this thread's WebAssembly memory with {@link pickRegions}. */
function pickFromWasm(layout: SparsePickLayout, decoded: WasmDecoded): SparsePicked {
  const { chunk, chunkLen, p0, p1, minor, minorMap, dtype } = layout;
  if (dtype === "string") throw new TypeError("Expected a numeric pair");
  const n = Math.max(0, p1 - p0);
  const { kernels, bytes, at, extraAt } = decoded;
  const buffer = bytes.buffer as ArrayBuffer;
  const [tableAt, posAt, tgtAt] = extraAt as [number, number, number];
  const table = pickTable(minorMap, minor);
  new Int32Array(buffer, tableAt, minor).set(table);
  const base = chunk * chunkLen;
  const from = p0 - base;
  const q = kernels.pickI32(at[0]! + 4 * from, n, tableAt, minor, posAt, tgtAt, fewOf(minorMap, table));
  if (q < 0) {
    const k = -1 - q;
    throw badIndex(layout, p0 + k, new Int32Array(buffer, at[0]!, chunkLen)[from + k]!);
  }
  const pos = new Int32Array(buffer, posAt, q);
  // the kernel's positions count from p0 already: copied out as they are
  const positions = pos.slice();
  const indices = new Int32Array(buffer, tgtAt, q).slice();
  const src = new (typedArrayConstructor(dtype))(buffer, at[1]!, chunkLen) as unknown as number[];
  const data = allocate(dtype, q) as TypedArray;
  const out = data as unknown as number[];
  for (let i = 0; i < q; i++) out[i] = src[from + pos[i]!]!;
  return { base: p0, positions, indices, data };
}

/** The selected source positions of `map` when there are at most four, else none. */
function fewOf(map: MinorMap, table: Int32Array): number[] {
  if (map.targets.length > 4) return [];
  const few: number[] = [];
  for (let j = 0; j < table.length && few.length <= 4; j++) if (table[j]! >= 0) few.push(j);
  return few.length <= 4 ? few : [];
}

/**
 * cpu op: decode `data` and `indices` chunk `layout.chunk` (the decode op's arguments) and keep
 * the stored values in [p0, p1) whose index the selection picks, renumbered. Every index in the
 * range is checked against the minor axis. The decoded chunks' buffers go back to this thread's
 * buffer pool, so the next chunk pair decodes onto pages already in memory.
 */
export async function sparsePickChunk(
  layout: SparsePickLayout,
  dataBytes: DecodeArgs[0],
  indicesBytes: DecodeArgs[0],
  dataDecode: DecodeTail,
  indicesDecode: DecodeTail,
): Promise<SparsePicked> {
  const fast = pickInWasm(layout, dataBytes, indicesBytes, dataDecode, indicesDecode);
  if (fast !== undefined) return fast;
  // other codecs decode as any chunk, then the same kernel scans a copy
  const copied = await decodePairForWasm(layout, dataBytes, indicesBytes, dataDecode, indicesDecode);
  if (copied !== undefined) return pickFromWasm(layout, copied.place(pickRegions(layout)));
  const { chunk, chunkLen, p0, p1, minor, minorMap } = layout;
  const base = chunk * chunkLen;
  const ixBlock = await decodeChunk(indicesBytes, ...indicesDecode);
  const raw = chunkValues(ixBlock, layout, "indices");
  const off = raw instanceof Int32Array ? base : p0;
  let ix: Int32Array | Float64Array;
  if (raw instanceof Int32Array) ix = raw;
  else if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) {
    // int64 indices as int32 (one beyond int32 as -1, refused below with its stored value)
    ix = scratchIndices(p1 - p0);
    narrowIndices(raw, p0 - base, p1 - base, ix);
  } else ix = Float64Array.from((raw as unknown as Int16Array).subarray(p0 - base, p1 - base) as ArrayLike<number>, (v) => Number(v));
  const pick = pickTable(minorMap, minor);
  // offsets inside a chunk are small integers: kept as such, the loop indexes without float checks
  const q = pickInto(ix, pick, (p0 - off) | 0, (p1 - off) | 0, layout, off, raw);
  const positions = scratchPos.slice(0, q);
  const indices = scratchIdx.slice(0, q);
  const dBlock = await decodeChunk(dataBytes, ...dataDecode);
  const src = chunkValues(dBlock, layout, "data");
  const data = allocate(layout.dtype, q) as TypedArray;
  const out = data as unknown as number[];
  // the chunk's values from its start; the positions from `off`
  const shift = (off - base) | 0;
  for (let i = 0; i < q; i++) out[i] = src[shift + positions[i]!]!;
  recycleBuffer((ixBlock.data as TypedArray).buffer as ArrayBuffer);
  recycleBuffer((dBlock.data as TypedArray).buffer as ArrayBuffer);
  return { base: off, positions, indices, data };
}
