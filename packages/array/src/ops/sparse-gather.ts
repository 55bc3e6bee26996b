// The read of a sparse block: its rows' (CSR) or columns' (CSC) ranges of the 1-D `data` and
// `indices` arrays, cut out of the decoded chunks they fall in (each chunk read once per compute).
import { allocate, type DataType, type NDArray, type TypedArray } from "../dtype.js";
import { SparseStructureError } from "../errors.js";
import type { SparseBlock, SparseFormat } from "./sparse-block.js";
import { pickTable, sparseTakeMinor, type MinorMap } from "./sparse-select.js";
import { narrowIndices } from "./narrow-indices.js";

/** Where a block's ranges lie: the first chunk it references and the chunk length of each 1-D array. */
export interface SparseGatherLayout {
  readonly format: SparseFormat;
  /** Major length of the block = `starts.length`; minor length of the matrix. */
  readonly minor: number;
  /** Per major position of the block: its first stored value over the whole matrix. */
  readonly starts: Float64Array;
  /** Per major position: one past its last stored value. */
  readonly ends: Float64Array;
  /** Chunk length of `data` and of `indices`. */
  readonly dataChunk: number;
  readonly indicesChunk: number;
  /** Which chunks are passed (in order), of `data` and of `indices`. */
  readonly dataChunks: readonly number[];
  readonly indicesChunks: readonly number[];
  readonly dtype: DataType;
  /**
   * A minor-axis selection to apply while gathering (columns of CSR): only the selected stored
   * values are copied, so a one-gene query over a plain read copies one gene.
   */
  readonly minorMap?: MinorMap;
  /** The matrix, for errors. */
  readonly path: string;
  readonly url: string | undefined;
}

/** Copy the values at global positions [p0, p1) from consecutive chunks into `out` at `at`. */
function copyRange(
  chunks: readonly NDArray[],
  ids: readonly number[],
  len: number,
  p0: number,
  p1: number,
  out: TypedArray,
  at: number,
  what: string,
  layout: SparseGatherLayout,
): void {
  let p = p0;
  while (p < p1) {
    const c = Math.floor(p / len);
    const chunk = chunks[ids.indexOf(c)];
    const from = p - c * len;
    const to = Math.min(p1, (c + 1) * len) - c * len;
    if (chunk === undefined || chunk.data.length < to) {
      throw new SparseStructureError(
        layout.path,
        layout.url,
        p,
        `expected ${what} to hold position ${Math.min(p1, (c + 1) * len) - 1}, as indptr says, but its chunk ${c} ends at ${c * len + (chunk?.data.length ?? 0)}`,
      );
    }
    // indices come narrowed to int32 (sparseGather), values as the block's dtype: same types
    const src = chunk.data as TypedArray;
    (out as Float64Array).set((src as Float64Array).subarray(from, to), at);
    at += to - from;
    p += to - from;
  }
}

/**
 * `e` naming the index stored at its position when that index was beyond int32 (narrowed to
 * -1, the refused index the message names), else `e` as it is.
 */
function withStoredIndex(e: SparseStructureError, layout: SparseGatherLayout, indicesChunks: readonly NDArray[]): SparseStructureError {
  const c = Math.floor(e.position / layout.indicesChunk);
  const chunk = indicesChunks[layout.indicesChunks.indexOf(c)];
  const stored = chunk?.data[e.position - c * layout.indicesChunk];
  if (!(typeof stored === "number" || typeof stored === "bigint") || fitsInt32(stored)) return e;
  return new SparseStructureError(layout.path, layout.url, e.position, `expected indices in [0, ${layout.minor}), got ${stored} at position ${e.position}`);
}

function fitsInt32(v: number | bigint): boolean {
  return typeof v === "bigint" ? v >= -(2n ** 31n) && v < 2n ** 31n : v >= -(2 ** 31) && v < 2 ** 31;
}

/** An indices chunk of another integer type as int32, each value beyond int32 as -1 (see {@link narrowIndices}). */
function narrowChunk(chunk: NDArray): NDArray {
  const src = chunk.data;
  if (src instanceof Int32Array) return chunk;
  const data = new Int32Array(src.length);
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) narrowIndices(src, 0, src.length, data);
  else {
    const from = src as unknown as ArrayLike<number>;
    for (let i = 0; i < data.length; i++) data[i] = fitsInt32(from[i]!) ? from[i]! : -1;
  }
  return { data, shape: chunk.shape, dtype: "int32" };
}

/**
 * cpu op: the {@link SparseBlock} of the major positions described by `layout`, from the
 * decoded `data` and `indices` chunks they span: views of them when the positions lie inside
 * one chunk of each, else a copy. Checks every stored index against the minor axis, so no
 * value lands outside the block (a {@link SparseStructureError} naming the matrix, its URL and
 * the position).
 */
export function sparseGather(layout: SparseGatherLayout, dataChunks: readonly NDArray[], indicesChunks: readonly NDArray[]): SparseBlock {
  // other integer indices (int64 most often) read as int32 once, so every path below reads int32
  if (indicesChunks.some((c) => !(c.data instanceof Int32Array))) {
    try {
      return sparseGather(layout, dataChunks, indicesChunks.map(narrowChunk));
    } catch (e) {
      throw e instanceof SparseStructureError ? withStoredIndex(e, layout, indicesChunks) : e;
    }
  }
  const map = layout.minorMap;
  if (map !== undefined) {
    if (map.monotonic && map.targets.length === map.length) return gatherPicked(layout, map, dataChunks, indicesChunks);
    return sparseTakeMinor(sparseGather({ ...layout, minorMap: undefined }, dataChunks, indicesChunks), map);
  }
  const { starts, ends, minor, format } = layout;
  const major = starts.length;
  const view = viewOf(layout, dataChunks, indicesChunks);
  if (view !== undefined) return view;
  let nnz = 0;
  for (let a = 0; a < major; a++) nnz += ends[a]! - starts[a]!;
  const indptr = new Int32Array(major + 1);
  const indices = new Int32Array(nnz);
  const data = allocate(layout.dtype, nnz) as TypedArray;
  let at = 0;
  for (let a = 0; a < major; a++) {
    const p0 = starts[a]!;
    // neighbouring rows are usually contiguous: copy their run at once
    let b = a;
    while (b + 1 < major && starts[b + 1] === ends[b]) b++;
    const q1 = ends[b]!;
    copyRange(dataChunks, layout.dataChunks, layout.dataChunk, p0, q1, data, at, "data", layout);
    copyRange(indicesChunks, layout.indicesChunks, layout.indicesChunk, p0, q1, indices, at, "indices", layout);
    for (let r = a; r <= b; r++) {
      at += ends[r]! - starts[r]!;
      indptr[r + 1] = at;
    }
    a = b;
  }
  for (let p = 0; p < nnz; p++) {
    const j = indices[p]!;
    if (!(j >= 0 && j < minor)) {
      let a = 0;
      while (indptr[a + 1]! <= p) a++;
      const global = starts[a]! + p - indptr[a]!;
      throw new SparseStructureError(layout.path, layout.url, global, `expected indices in [0, ${minor}), got ${j} at position ${global}`);
    }
  }
  const shape: [number, number] = format === "csr" ? [major, minor] : [minor, major];
  return { format, shape, indptr, indices, data, dtype: layout.dtype };
}

/**
 * A cursor over the decoded chunks of one 1-D array: `at(p)` makes `src` the chunk holding
 * global position `p` and `base`/`end` its bounds, so hot loops look a chunk up only when
 * they leave the current one.
 */
class ChunkCursor {
  src: ArrayLike<number> = [];
  base = 0;
  end = 0;
  readonly #chunks: readonly NDArray[];
  readonly #ids: readonly number[];
  readonly #len: number;
  readonly #what: string;
  readonly #layout: SparseGatherLayout;

  constructor(chunks: readonly NDArray[], ids: readonly number[], len: number, what: string, layout: SparseGatherLayout) {
    this.#chunks = chunks;
    this.#ids = ids;
    this.#len = len;
    this.#what = what;
    this.#layout = layout;
  }

  /** Move to the chunk of `p`, which must hold every position up to `need - 1` of the range [p, need) inside it. */
  at(p: number, need: number): void {
    const len = this.#len;
    const c = Math.floor(p / len);
    const chunk = this.#chunks[this.#ids.indexOf(c)];
    const stop = Math.min(need, (c + 1) * len);
    if (chunk === undefined || chunk.data.length < stop - c * len) {
      const { path, url } = this.#layout;
      throw new SparseStructureError(
        path,
        url,
        p,
        `expected ${this.#what} to hold position ${stop - 1}, as indptr says, but its chunk ${c} ends at ${c * len + (chunk?.data.length ?? 0)}`,
      );
    }
    this.src = chunk.data as unknown as ArrayLike<number>;
    this.base = c * len;
    this.end = c * len + Math.min(len, chunk.data.length);
  }
}

/**
 * The gather with a minor selection without repeats, in source order: one pass over the
 * indices through a lookup table notes the stored position and new index of each selected
 * value (in buffers grown as they fill), then only those values are copied.
 */
function gatherPicked(layout: SparseGatherLayout, map: MinorMap, dataChunks: readonly NDArray[], indicesChunks: readonly NDArray[]): SparseBlock {
  const { starts, ends, minor, format } = layout;
  const major = starts.length;
  const pick = pickTable(map, minor);
  const ix = new ChunkCursor(indicesChunks, layout.indicesChunks, layout.indicesChunk, "indices", layout);
  const dx = new ChunkCursor(dataChunks, layout.dataChunks, layout.dataChunk, "data", layout);
  const indptr = new Int32Array(major + 1);
  let at = new Float64Array(1024);
  let to = new Int32Array(1024);
  let q = 0;
  for (let a = 0; a < major; a++) {
    let p = starts[a]!;
    const p1 = ends[a]!;
    while (p < p1) {
      if (p < ix.base || p >= ix.end) ix.at(p, p1);
      const src = ix.src;
      const base = ix.base;
      // offsets inside a chunk are small integers: kept as such, the loop indexes without float checks
      const stop = (Math.min(p1, ix.end) - base) | 0;
      // `data` must hold the piece too, selected values or not, as indptr says
      for (let g = p; g < stop + base; g = dx.end) if (g < dx.base || g >= dx.end) dx.at(g, stop + base);
      for (let k = (p - base) | 0; k < stop; k++) {
        const j = src[k]!;
        if (!(j >= 0 && j < minor)) {
          throw new SparseStructureError(layout.path, layout.url, base + k, `expected indices in [0, ${minor}), got ${j} at position ${base + k}`);
        }
        const t = pick[j]!;
        if (t < 0) continue;
        if (q === to.length) {
          const grownAt = new Float64Array(2 * q);
          grownAt.set(at);
          at = grownAt;
          const grownTo = new Int32Array(2 * q);
          grownTo.set(to);
          to = grownTo;
        }
        at[q] = base + k;
        to[q++] = t;
      }
      p = stop + base;
    }
    indptr[a + 1] = q;
  }
  const indices = to.slice(0, q);
  const data = allocate(layout.dtype, q) as TypedArray;
  const out = data as unknown as number[];
  for (let i = 0; i < q; i++) {
    const g = at[i]!;
    if (g < dx.base || g >= dx.end) dx.at(g, g + 1);
    out[i] = dx.src[g - dx.base]!;
  }
  const shape: [number, number] = format === "csr" ? [major, map.length] : [map.length, major];
  return { format, shape, indptr, indices, data, dtype: layout.dtype };
}

/**
 * The block as views of one `data` and one `indices` chunk, when its positions are stored one
 * after the other inside them (most blocks: they are cut at chunk ends), its indices checked.
 */
function viewOf(layout: SparseGatherLayout, dataChunks: readonly NDArray[], indicesChunks: readonly NDArray[]): SparseBlock | undefined {
  const { starts, ends, minor, format } = layout;
  const major = starts.length;
  if (major === 0 || dataChunks.length !== 1 || indicesChunks.length !== 1) return undefined;
  for (let a = 1; a < major; a++) if (starts[a] !== ends[a - 1]) return undefined;
  const p0 = starts[0]!;
  const p1 = ends[major - 1]!;
  const d = dataChunks[0]!.data as TypedArray;
  const x = indicesChunks[0]!.data as TypedArray;
  const dBase = layout.dataChunks[0]! * layout.dataChunk;
  const xBase = layout.indicesChunks[0]! * layout.indicesChunk;
  if (!(x instanceof Int32Array) || !(d.constructor === allocate(layout.dtype, 0).constructor)) return undefined;
  if (p1 - dBase > d.length || p1 - xBase > x.length) return undefined; // the copying path reports it
  const indices = x.subarray(p0 - xBase, p1 - xBase);
  const bad = firstOutside(indices, minor);
  if (bad >= 0) {
    throw new SparseStructureError(layout.path, layout.url, p0 + bad, `expected indices in [0, ${minor}), got ${indices[bad]} at position ${p0 + bad}`);
  }
  const indptr = new Int32Array(major + 1);
  for (let a = 0; a < major; a++) indptr[a + 1] = ends[a]! - p0;
  const shape: [number, number] = format === "csr" ? [major, minor] : [minor, major];
  return { format, shape, indptr, indices, data: (d as Float64Array).subarray(p0 - dBase, p1 - dBase), dtype: layout.dtype };
}

/**
 * The first position of an index outside [0, minor), or -1. A function of its own: V8 compiles
 * the loop alone, so the code after it in the caller cannot deoptimize it.
 */
function firstOutside(indices: Int32Array, minor: number): number {
  for (let p = 0; p < indices.length; p++) {
    const j = indices[p]!;
    if (!(j >= 0 && j < minor)) return p;
  }
  return -1;
}
