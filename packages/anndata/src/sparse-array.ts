import { Array as LazyArray, itemsize as itemsizeOf } from "@zask/array";
import { Graph, Task, blockKey, tokenize } from "@zask/graph";
import * as zarr from "zarrita";
import { rememberSource } from "./byte-order.js";
import { elemUrl, openChild, readArrayEager, zaskDtype } from "./elem.js";
import { ElementReadError } from "./errors.js";
import type { DataType, NDArray, TypedArray } from "./ndarray.js";
import { toReadError } from "./read-error.js";
import { indicesProblem, indptrProblem } from "./sparse-checks.js";
import { SparseMatrix, type SparseFormat } from "./sparse-matrix.js";

type ZArray = zarr.Array<zarr.DataType, zarr.Readable>;

/** Options of {@link SparseArray.open}. */
export interface SparseArrayOptions {
  /**
   * Most bytes one dense block may take; blocks are otherwise cut where the stored `data`
   * chunks end, so that a block reads about one chunk.
   * @default 8 MiB
   */
  maxBlockBytes?: number;
  signal?: AbortSignal;
}

function numeric(d: TypedArray | string[], path: string, url: string | undefined): TypedArray {
  if (Array.isArray(d)) throw new ElementReadError(path, url, "format", "sparse parts must be numeric");
  return d;
}

/**
 * Cut the major axis (rows of CSR, columns of CSC) into blocks: a block ends where its stored
 * values fill a `data` chunk, or where its dense form would exceed `maxBlockBytes`.
 */
function blockSizes(indptr: ArrayLike<number | bigint>, dataChunk: number, maxRows: number): number[] {
  const n = indptr.length - 1;
  const sizes: number[] = [];
  let start = 0;
  while (start < n) {
    const base = Number(indptr[start]);
    let end = start + 1;
    while (end < n && end - start < maxRows && Number(indptr[end + 1]) - base <= dataChunk) end++;
    sizes.push(end - start);
    start = end;
  }
  return sizes.length > 0 ? sizes : [0];
}

/**
 * A lazy sparse matrix (CSR or CSC) read from an AnnData store: a lazy {@link LazyArray} whose
 * blocks are dense row blocks (CSR) or column blocks (CSC). Computing a block reads only the
 * `data`/`indices` chunks its rows (columns) span; `indptr` is read when the array is opened.
 * `compute()` (and every lazy operation) sees the dense matrix; {@link computeSparse} reads it
 * as a {@link SparseMatrix}.
 *
 * @example
 * ```ts
 * const adata = await readZarr("pbmc.csr.zarr");
 * const rows = await adata.X!.slice(slice(0, 10)).compute();   // dense rows 0-9: reads their chunks only
 * const m = await (adata.X as SparseArray).computeSparse();     // { indptr, indices, data, shape }
 * ```
 */
export class SparseArray extends LazyArray {
  readonly format: SparseFormat;
  /** The `indptr` read at open. */
  readonly indptr: TypedArray;
  readonly #data: ZArray;
  readonly #indices: ZArray;
  /** The group's path and URL, for errors. */
  readonly #where: { path: string; url: string | undefined };

  private constructor(graph: Graph, name: string, chunks: number[][], dtype: DataType, format: SparseFormat, indptr: TypedArray, data: ZArray, indices: ZArray, where: { path: string; url: string | undefined }) {
    super(graph, name, chunks, dtype);
    this.format = format;
    this.indptr = indptr;
    this.#data = data;
    this.#indices = indices;
    this.#where = where;
  }

  /** Open the sparse matrix group `elem` (encoding `csr_matrix` or `csc_matrix`) lazily. */
  static async open(elem: zarr.Group<zarr.Readable>, options: SparseArrayOptions = {}): Promise<SparseArray> {
    const attrs = elem.attrs as Record<string, unknown>;
    const format: SparseFormat = attrs["encoding-type"] === "csc_matrix" ? "csc" : "csr";
    const shape = attrs["shape"];
    const url = elemUrl(elem);
    if (!Array.isArray(shape) || shape.length !== 2 || !shape.every(Number.isInteger)) {
      throw new ElementReadError(elem.path, url, "metadata", `expected attribute "shape" to be a [rows, cols] pair, got ${JSON.stringify(shape)}`);
    }
    const [rows, cols] = shape as [number, number];
    const data = (await openChild(elem, "data")) as ZArray;
    const indices = (await openChild(elem, "indices")) as ZArray;
    const indptrElem = (await openChild(elem, "indptr")) as ZArray;
    if (!(data instanceof zarr.Array) || !(indices instanceof zarr.Array) || !(indptrElem instanceof zarr.Array)) {
      throw new ElementReadError(elem.path, url, "format", "data, indices and indptr must be arrays");
    }
    const ip = await readArrayEager(indptrElem, { signal: options.signal });
    const indptr = numeric((ip as NDArray).data, indptrElem.path, elemUrl(indptrElem));
    rememberSource(indptr, indptrElem);
    const major = format === "csr" ? rows : cols;
    const minor = format === "csr" ? cols : rows;
    if (data.shape.length !== 1 || indices.shape.length !== 1 || indices.shape[0] !== data.shape[0]) {
      throw new ElementReadError(elem.path, url, "format", `expected 1-d data and indices of equal length, got shapes [${data.shape.join(", ")}] and [${indices.shape.join(", ")}]`);
    }
    // indptr is read whole here, so it is checked whole: each block then trusts its slice.
    const problem = indptrProblem(indptr as ArrayLike<number | bigint>, major, data.shape[0]!);
    if (problem !== undefined) throw new ElementReadError(elem.path, url, "format", `${problem} (shape [${rows}, ${cols}])`);
    const dtype = zaskDtype(data.dtype);
    const itemsize = itemsizeOf(dtype);
    const maxRows = Math.max(1, Math.floor((options.maxBlockBytes ?? 8 * 2 ** 20) / Math.max(1, minor * itemsize)));
    const sizes = blockSizes(indptr as ArrayLike<number | bigint>, data.chunks[0] ?? 1, maxRows);
    const name = `sparse-${format}-${tokenize(url ?? elem.path, elem.path, rows, cols, data.chunks[0] ?? 0)}`;
    const tasks: Task[] = [];
    let start = 0;
    sizes.forEach((size, b) => {
      const lo = start;
      const hi = start + size;
      start = hi;
      // A plain function: runs on the main thread, where the zarrita store lives.
      const readBlock = async (): Promise<NDArray> => densify(format, lo, hi, minor, indptr, data, indices, dtype, elem.path, url);
      const index = format === "csr" ? [b, 0] : [0, b];
      tasks.push(new Task(blockKey(name, index), readBlock, []));
    });
    const chunks = format === "csr" ? [sizes, [cols]] : [[rows], sizes];
    return new SparseArray(Graph.fromNodes(name, tasks), name, chunks, dtype as DataType, format, indptr, data, indices, { path: elem.path, url });
  }

  /** Read the whole matrix as a {@link SparseMatrix} (`indptr`, `indices`, `data`, `shape`). */
  async computeSparse(options: { signal?: AbortSignal } = {}): Promise<SparseMatrix> {
    const d = (await readArrayEager(this.#data, options)) as NDArray;
    const i = (await readArrayEager(this.#indices, options)) as NDArray;
    rememberSource(d.data, this.#data);
    rememberSource(i.data, this.#indices);
    try {
      return new SparseMatrix(this.format, [this.shape[0]!, this.shape[1]!], this.indptr, i.data as TypedArray, d.data as TypedArray);
    } catch (cause) {
      throw new ElementReadError(this.#where.path, this.#where.url, "format", (cause as Error).message, { cause });
    }
  }
}

async function readRange(arr: ZArray, lo: number, hi: number): Promise<TypedArray> {
  try {
    const chunk = (await zarr.get(arr, [zarr.slice(lo, hi)])) as { data: unknown };
    const data = chunk.data;
    if (data instanceof zarr.BoolArray) return new Uint8Array(data.buffer, data.byteOffset, data.length).slice();
    return data as TypedArray;
  } catch (cause) {
    throw toReadError(cause, arr.path, elemUrl(arr));
  }
}

/** The dense block of major positions [lo, hi), from the data/indices chunks they span. */
async function densify(format: SparseFormat, lo: number, hi: number, minor: number, indptr: TypedArray, data: ZArray, indices: ZArray, dtype: DataType, path: string, url: string | undefined): Promise<NDArray> {
  const p0 = Number(indptr[lo]);
  const p1 = Number(indptr[hi]);
  const n = hi - lo;
  const Ctor = ({ bool: Uint8Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, float32: Float32Array, float64: Float64Array } as Record<string, { new (n: number): TypedArray }>)[dtype]!;
  const out = new Ctor(n * minor);
  if (p1 > p0) {
    const [vals, idx] = await Promise.all([readRange(data, p0, p1), readRange(indices, p0, p1)]);
    if (vals.length !== p1 - p0 || idx.length !== p1 - p0) {
      throw new ElementReadError(path, url, "format", `expected ${p1 - p0} stored values at [${p0}, ${p1}), got ${vals.length} values and ${idx.length} indices`);
    }
    const problem = indicesProblem(idx as ArrayLike<number | bigint>, minor, p0);
    if (problem !== undefined) throw new ElementReadError(path, url, "format", problem);
    for (let a = 0; a < n; a++) {
      for (let p = Number(indptr[lo + a]) - p0; p < Number(indptr[lo + a + 1]) - p0; p++) {
        const b = Number(idx[p]);
        // CSR block: rows a, columns b (C order [n, minor]); CSC block: rows b, columns a ([minor, n]).
        out[format === "csr" ? a * minor + b : b * n + a] = vals[p] as never;
      }
    }
  }
  return { data: out, shape: format === "csr" ? [n, minor] : [minor, n], dtype };
}
