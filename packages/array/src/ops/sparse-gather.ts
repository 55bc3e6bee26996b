// The read of a sparse block: its rows' (CSR) or columns' (CSC) ranges of the 1-D `data` and
// `indices` arrays, cut out of the decoded chunks they fall in (each chunk read once per compute).
import { allocate, type DataType, type NDArray, type TypedArray } from "../dtype.js";
import { SparseStructureError } from "../errors.js";
import type { SparseBlock, SparseFormat } from "./sparse-block.js";
import { sparseTakeMinor, type MinorMap } from "./sparse-select.js";

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
    const src = chunk.data as TypedArray;
    if (src.constructor === out.constructor) (out as Float64Array).set((src as Float64Array).subarray(from, to), at);
    else {
      // int64 indices: one beyond int32 becomes -1, which the index check refuses
      for (let i = from; i < to; i++) {
        const v = Number(src[i]!);
        out[at + i - from] = (v >= -(2 ** 31) && v < 2 ** 31 ? v : -1) as never;
      }
    }
    at += to - from;
    p += to - from;
  }
}

/**
 * cpu op: the {@link SparseBlock} of the major positions described by `layout`, from the
 * decoded `data` and `indices` chunks they span: views of them when the positions lie inside
 * one chunk of each, else a copy. Checks every stored index against the minor axis, so no
 * value lands outside the block (a {@link SparseStructureError} naming the matrix, its URL and
 * the position).
 */
export function sparseGather(layout: SparseGatherLayout, dataChunks: readonly NDArray[], indicesChunks: readonly NDArray[]): SparseBlock {
  const map = layout.minorMap;
  if (map !== undefined) {
    const wide = indicesChunks.some((c) => c.data instanceof BigInt64Array || c.data instanceof BigUint64Array);
    if (!wide && map.monotonic && map.targets.length === map.length) return gatherPicked(layout, map, dataChunks, indicesChunks);
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

/** Call `run(c, from, to)` for each piece of [p0, p1) inside one chunk `c` of length `len`. */
function chunkOf(
  chunks: readonly NDArray[],
  ids: readonly number[],
  len: number,
  p: number,
  p1: number,
  what: string,
  layout: SparseGatherLayout,
): { src: ArrayLike<number>; base: number; end: number } {
  const c = Math.floor(p / len);
  const chunk = chunks[ids.indexOf(c)];
  const end = Math.min(p1, (c + 1) * len);
  if (chunk === undefined || chunk.data.length < end - c * len) {
    throw new SparseStructureError(
      layout.path,
      layout.url,
      p,
      `expected ${what} to hold position ${end - 1}, as indptr says, but its chunk ${c} ends at ${c * len + (chunk?.data.length ?? 0)}`,
    );
  }
  return { src: chunk.data as unknown as ArrayLike<number>, base: c * len, end };
}

/**
 * The gather with a minor selection without repeats, in source order: a counting pass over
 * the indices, then a copy of the selected values only.
 */
function gatherPicked(layout: SparseGatherLayout, map: MinorMap, dataChunks: readonly NDArray[], indicesChunks: readonly NDArray[]): SparseBlock {
  const { starts, ends, minor, format } = layout;
  const major = starts.length;
  // position → output position, or -1
  const pick = new Int32Array(minor).fill(-1);
  for (let j = 0; j < minor; j++) if (map.offsets[j + 1]! > map.offsets[j]!) pick[j] = map.targets[map.offsets[j]!]!;
  const indptr = new Int32Array(major + 1);
  const scan = (fill: ((q: number, j: number, d: ArrayLike<number>, i: number) => void) | undefined): number => {
    let q = 0;
    for (let a = 0; a < major; a++) {
      let p = starts[a]!;
      const p1 = ends[a]!;
      while (p < p1) {
        const ix = chunkOf(indicesChunks, layout.indicesChunks, layout.indicesChunk, p, p1, "indices", layout);
        const dx = fill === undefined ? undefined : chunkOf(dataChunks, layout.dataChunks, layout.dataChunk, p, p1, "data", layout);
        const end = dx === undefined ? ix.end : Math.min(ix.end, dx.end);
        const src = ix.src;
        for (let k = p - ix.base, n = end - ix.base; k < n; k++) {
          const j = src[k]!;
          if (!(j >= 0 && j < minor)) {
            throw new SparseStructureError(layout.path, layout.url, ix.base + k, `expected indices in [0, ${minor}), got ${j} at position ${ix.base + k}`);
          }
          const t = pick[j]!;
          if (t >= 0) {
            if (fill !== undefined) fill(q, t, dx!.src, ix.base + k - dx!.base);
            q++;
          }
        }
        p = end;
      }
      indptr[a + 1] = q;
    }
    return q;
  };
  const nnz = scan(undefined);
  const indices = new Int32Array(nnz);
  const data = allocate(layout.dtype, nnz) as TypedArray;
  const out = data as unknown as number[];
  scan((q, t, d, i) => {
    indices[q] = t;
    out[q] = d[i]!;
  });
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
  for (let p = 0; p < indices.length; p++) {
    const j = indices[p]!;
    if (!(j >= 0 && j < minor))
      throw new SparseStructureError(layout.path, layout.url, p0 + p, `expected indices in [0, ${minor}), got ${j} at position ${p0 + p}`);
  }
  const indptr = new Int32Array(major + 1);
  for (let a = 0; a < major; a++) indptr[a + 1] = ends[a]! - p0;
  const shape: [number, number] = format === "csr" ? [major, minor] : [minor, major];
  return { format, shape, indptr, indices, data: (d as Float64Array).subarray(p0 - dBase, p1 - dBase), dtype: layout.dtype };
}
