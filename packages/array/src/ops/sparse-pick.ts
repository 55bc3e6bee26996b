// A minor-axis selection on a sparse matrix (columns of CSR), read a chunk pair at a time: each
// `data`/`indices` chunk pair is decoded, filtered to the selected stored values and dropped in
// one task, so a selection that keeps few values never holds a decoded chunk past its task, nor
// sends one between threads; the blocks are then cut from the small picked lists.
import { recycleBuffer } from "@zask/scheduler/buffers";
import { allocate, type DataType, type NDArray, type TypedArray } from "../dtype.js";
import { SparseStructureError } from "../errors.js";
import type { SparseBlock, SparseFormat } from "./sparse-block.js";
import { pickTable, type MinorMap } from "./sparse-select.js";
import { decodeChunk, type DecodeArgs } from "./zarr.js";

/** Which stored values of one chunk pair to pick from. */
export interface SparsePickLayout {
  /** The chunk's index in both `data` and `indices` (chunked alike). */
  readonly chunk: number;
  /** Chunk length of `data` and `indices`. */
  readonly chunkLen: number;
  /** Global stored positions [p0, p1) inside the chunk that the selection's blocks read. */
  readonly p0: number;
  readonly p1: number;
  /** Minor length of the matrix; indices outside [0, minor) are refused. */
  readonly minor: number;
  /** The selection: monotonic, each source position at most once. */
  readonly minorMap: MinorMap;
  readonly dtype: DataType;
  /** The matrix, for errors. */
  readonly path: string;
  readonly url: string | undefined;
}

/** The decode op's arguments after the chunk's bytes: its array's metadata, coordinates, block shape and where it is. */
type DecodeTail = DecodeArgs extends [unknown, ...infer Rest] ? Rest : never;

/** The selected stored values of one chunk pair, in stored order: plain typed arrays. */
export interface SparsePicked {
  /** Global stored position of each picked value. */
  readonly positions: Float64Array;
  /** Its minor position in the selection. */
  readonly indices: Int32Array;
  readonly data: TypedArray;
}

/** The decoded chunk's values as numbers over [from, to), or a {@link SparseStructureError} when it is shorter. */
function chunkValues(block: NDArray, layout: SparsePickLayout, what: string): ArrayLike<number> {
  const { chunk, chunkLen, p1, path, url } = layout;
  const base = chunk * chunkLen;
  if (block.data.length < p1 - base) {
    throw new SparseStructureError(
      path,
      url,
      p1 - 1,
      `expected ${what} to hold position ${p1 - 1}, as indptr says, but its chunk ${chunk} ends at ${base + block.data.length}`,
    );
  }
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

function badIndex(layout: SparsePickLayout, at: number, j: number): SparseStructureError {
  return new SparseStructureError(layout.path, layout.url, at, `expected indices in [0, ${layout.minor}), got ${j} at position ${at}`);
}

/**
 * One pass over `ix[from, to)`: the selected ones' positions and new indices into the scratch
 * arrays; returns how many. Called with Int32Array indices (nearly every store), so the loop
 * stays monomorphic; other integer types come converted to a Float64Array.
 */
function pickInto(ix: Int32Array | Float64Array, pick: Int32Array, from: number, to: number, layout: SparsePickLayout, off: number): number {
  scratchFor(to - from);
  const pos = scratchPos;
  const idx = scratchIdx;
  const minor = layout.minor;
  let q = 0;
  for (let k = from; k < to; k++) {
    const j = ix[k]!;
    if (!(j >= 0 && j < minor)) throw badIndex(layout, off + k, j);
    const t = pick[j]!;
    if (t >= 0) {
      pos[q] = k;
      idx[q++] = t;
    }
  }
  return q;
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
  const { chunk, chunkLen, p0, p1, minor, minorMap } = layout;
  const base = chunk * chunkLen;
  const ixBlock = await decodeChunk(indicesBytes, ...indicesDecode);
  const raw = chunkValues(ixBlock, layout, "indices");
  // other integer types as float64 numbers (int64 ones beyond 2^53 rounded, still out of range)
  const ix =
    raw instanceof Int32Array ? raw : Float64Array.from((raw as unknown as Int16Array).subarray(p0 - base, p1 - base) as ArrayLike<number>, (v) => Number(v));
  const off = raw instanceof Int32Array ? base : p0;
  const pick = pickTable(minorMap, minor);
  // offsets inside a chunk are small integers: kept as such, the loop indexes without float checks
  const q = pickInto(ix, pick, (p0 - off) | 0, (p1 - off) | 0, layout, off);
  const positions = new Float64Array(q);
  for (let i = 0; i < q; i++) positions[i] = off + scratchPos[i]!;
  const indices = scratchIdx.slice(0, q);
  const dBlock = await decodeChunk(dataBytes, ...dataDecode);
  const src = chunkValues(dBlock, layout, "data");
  const data = allocate(layout.dtype, q) as TypedArray;
  const out = data as unknown as number[];
  for (let i = 0; i < q; i++) out[i] = src[(positions[i]! - base) | 0]!;
  recycleBuffer((ixBlock.data as TypedArray).buffer as ArrayBuffer);
  recycleBuffer((dBlock.data as TypedArray).buffer as ArrayBuffer);
  return { positions, indices, data };
}

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

/** The first entry of `positions` at or after `p` (they ascend). */
function lowerBound(positions: Float64Array, p: number): number {
  let lo = 0;
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
 * the chunk pairs they span (in chunk order): each position gets the picked values stored in
 * its range, found by binary search, so rows in any order, or repeated, come out right.
 */
export function sparseGatherPicked(layout: SparsePickedBlockLayout, picks: readonly SparsePicked[]): SparseBlock {
  const { starts, ends, format, minor, dtype } = layout;
  const major = starts.length;
  const indptr = new Int32Array(major + 1);
  // per position and pick: where its picked values begin and end ([from, to) of pick k at 2k, 2k+1)
  const bounds = new Int32Array(2 * major * picks.length);
  let nnz = 0;
  for (let a = 0; a < major; a++) {
    const s = starts[a]!;
    const e = ends[a]!;
    if (e > s) {
      for (let k = 0; k < picks.length; k++) {
        const pos = picks[k]!.positions;
        const n = pos.length;
        if (n === 0 || pos[n - 1]! < s || pos[0]! >= e) continue;
        const from = pos[0]! >= s ? 0 : lowerBound(pos, s);
        const to = pos[n - 1]! < e ? n : lowerBound(pos, e);
        bounds[2 * (a * picks.length + k)] = from;
        bounds[2 * (a * picks.length + k) + 1] = to;
        nnz += to - from;
      }
    }
    indptr[a + 1] = nnz;
  }
  const indices = new Int32Array(nnz);
  const data = allocate(dtype, nnz) as TypedArray;
  const out = data as unknown as number[];
  let at = 0;
  for (let a = 0; a < major; a++) {
    for (let k = 0; k < picks.length; k++) {
      const from = bounds[2 * (a * picks.length + k)]!;
      const to = bounds[2 * (a * picks.length + k) + 1]!;
      if (to === from) continue;
      const p = picks[k]!;
      const pi = p.indices;
      const pd = p.data as unknown as number[];
      for (let i = from; i < to; i++, at++) {
        indices[at] = pi[i]!;
        out[at] = pd[i]!;
      }
    }
  }
  const shape: [number, number] = format === "csr" ? [major, minor] : [minor, major];
  return { format, shape, indptr, indices, data, dtype };
}
