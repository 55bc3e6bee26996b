import { SparseArray as LazySparse, fromZarr, indptrProblem, type BlockStreamOptions, type ComputeOptions, type SparseSource } from "@zask/array";
import * as zarr from "zarrita";
import { rememberSource } from "./byte-order.js";
import { elemUrl, openChild, readArrayEager, zaskDtype } from "./elem.js";
import { ElementReadError } from "./errors.js";
import { typedArrayOf, type DataType, type NDArray, type TypedArray } from "./ndarray.js";
import { SparseMatrix, type SparseFormat } from "./sparse-matrix.js";

type ZArray = zarr.Array<zarr.DataType, zarr.Readable>;

/**
 * One block of {@link SparseArray.computeBlocks}: a compressed block whose `indices` and `data`
 * have the stored dtypes (`indptr`: int32 offsets within the block, from 0).
 */
export type StoredBlock = Pick<SparseMatrix, "format" | "shape" | "indices" | "data" | "dtype"> & { readonly indptr: Int32Array };

/** Options of {@link SparseArray.open}. */
export interface SparseArrayOptions {
  /**
   * About how many stored values one block holds (blocks are cut along the major axis, from
   * `indptr`), so a dense region does not make a huge task.
   * @default 1048576
   */
  blockNnz?: number;
  /**
   * A read whose touched `data` and `indices` chunks decode to at most this many bytes
   * decodes, gathers and reduces them on the main thread, where a few MB cost less than the
   * pool's messages; a larger one uses the worker pool. 0: always the pool.
   * @default 8388608
   */
  smallReadBytes?: number;
  signal?: AbortSignal;
}

function numeric(d: TypedArray | string[], path: string, url: string | undefined): TypedArray {
  if (Array.isArray(d)) throw new ElementReadError(path, url, "format", "sparse parts must be numeric");
  return d;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Computed `indices` (int32 in the blocks, every value checked within the minor axis) as the
 * stored integer dtype: int64 and uint64 written as two 32-bit halves, without a bigint each.
 */
function asStoredIndices(indices: Int32Array, dtype: Exclude<DataType, "string">): TypedArray {
  const Ctor = typedArrayOf(dtype);
  if (indices instanceof Ctor) return indices;
  const out = new Ctor(indices.length);
  if (!(out instanceof BigInt64Array || out instanceof BigUint64Array)) {
    out.set(indices);
    return out;
  }
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < indices.length; i++) out[i] = BigInt(indices[i]!);
    return out;
  }
  const halves = new Int32Array(out.buffer);
  for (let i = 0; i < indices.length; i++) halves[2 * i] = indices[i]!;
  return out;
}

/**
 * A lazy sparse matrix (CSR or CSC) read from an AnnData store: an `@zask/array` sparse array
 * whose blocks are compressed row blocks (CSR) or column blocks (CSC). `indptr` is read when
 * the array is opened; computing reads each `data`/`indices` chunk the blocks span once.
 * `compute()` gives the dense answer, {@link computeSparse} a {@link SparseMatrix}.
 *
 * @example
 * ```ts
 * const adata = await readZarr("pbmc.csr.zarr");
 * const rows = await adata.X!.slice(slice(0, 10)).compute();   // dense rows 0-9: reads their chunks only
 * const m = await (adata.X as SparseArray).computeSparse();     // { indptr, indices, data, shape }
 * ```
 */
export class SparseArray extends LazySparse {
  /** The matrix's whole `indptr`, read at open. */
  readonly indptr: TypedArray;
  readonly #where: { path: string; url: string | undefined };
  /** The stored `data` and `indices`, whose dtypes and byte order the computed matrix keeps. */
  readonly #stored: { data: ZArray; indices: ZArray };

  private constructor(base: LazySparse, indptr: TypedArray, where: { path: string; url: string | undefined }, stored: { data: ZArray; indices: ZArray }) {
    super({ graph: base.graph, name: base.name, chunks: base.chunks, dtype: base.dtype, format: base.format }, LazySparse.originOf(base));
    this.indptr = indptr;
    this.#where = where;
    this.#stored = stored;
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
    if (data.shape.length !== 1 || indices.shape.length !== 1 || indices.shape[0] !== data.shape[0]) {
      throw new ElementReadError(
        elem.path,
        url,
        "format",
        `expected 1-d data and indices of equal length, got shapes [${data.shape.join(", ")}] and [${indices.shape.join(", ")}]`,
      );
    }
    if (["string", "v2:object"].includes(data.dtype) || !/int/.test(indices.dtype)) {
      throw new ElementReadError(elem.path, url, "format", `expected numeric data and integer indices, got ${data.dtype} and ${indices.dtype}`);
    }
    // indptr is read whole here, so it is checked whole: each block then trusts its slice.
    const problem = indptrProblem(indptr as ArrayLike<number | bigint>, major, data.shape[0]!);
    if (problem !== undefined) throw new ElementReadError(elem.path, url, "format", `${problem} (shape [${rows}, ${cols}])`);
    const [dataLazy, indicesLazy] = await Promise.all([fromZarr(data, { signal: options.signal }), fromZarr(indices, { signal: options.signal })]);
    rememberSource(dataLazy, data);
    const source: SparseSource = { format, shape: [rows, cols], indptr, data: dataLazy, indices: indicesLazy, path: elem.path, url };
    const base = LazySparse.fromSource(source, {
      ...(options.blockNnz === undefined ? {} : { blockNnz: options.blockNnz }),
      ...(options.smallReadBytes === undefined ? {} : { smallReadBytes: options.smallReadBytes }),
    });
    return new SparseArray(base, indptr, { path: elem.path, url }, { data, indices });
  }

  /** Stored values (scipy's `nnz`), from `indptr`. */
  get nnz(): number {
    return Number(this.indptr[this.indptr.length - 1] ?? 0);
  }

  /**
   * The blocks in major order, a window at a time (see the base class), each with its
   * `indices` of the stored dtype and, for a writer, `data` and `indices` of the stored byte
   * order, as {@link computeSparse} gives the whole matrix. Each block's arrays hold exactly its
   * stored values.
   */
  // @ts-expect-error the blocks' indices are of the stored dtype, not always int32
  override async *computeBlocks(options: BlockStreamOptions = {}): AsyncGenerator<StoredBlock> {
    const { data, indices } = this.#stored;
    const dtype = zaskDtype(indices.dtype) as Exclude<DataType, "string">;
    for await (const b of super.computeBlocks(options)) {
      const nnz = b.indptr[b.indptr.length - 1]!;
      const storedIndices = asStoredIndices(b.indices.length === nnz ? b.indices : b.indices.subarray(0, nnz), dtype);
      const values = b.data.length === nnz ? b.data : b.data.subarray(0, nnz);
      rememberSource(storedIndices, indices);
      rememberSource(values, data);
      yield { format: b.format, shape: b.shape, indptr: b.indptr, indices: storedIndices, data: values, dtype: b.dtype as Exclude<DataType, "string"> };
    }
  }

  /**
   * Compute the matrix as a {@link SparseMatrix} (`indptr`, `indices`, `data`, `shape`), its parts
   * of the stored dtypes and, for a writer, byte order: as an eager read gives it.
   */
  // @ts-expect-error the answer is anndata's SparseMatrix, a richer form of the block
  override async computeSparse(options: ComputeOptions = {}): Promise<SparseMatrix> {
    const b = await super.computeSparse(options);
    const { data, indices } = this.#stored;
    const storedIndices = asStoredIndices(b.indices, zaskDtype(indices.dtype) as Exclude<DataType, "string">);
    rememberSource(storedIndices, indices);
    rememberSource(b.data, data);
    try {
      return new SparseMatrix(b.format, [b.shape[0], b.shape[1]], this.indptr, storedIndices, b.data as TypedArray, b.dtype);
    } catch (cause) {
      throw new ElementReadError(this.#where.path, this.#where.url, "format", (cause as Error).message, { cause });
    }
  }
}
