import { readElem, readDispatched, type ReadCallback } from "./read-dispatched.js";
import { assertAnnData } from "./encodings/read-defaults.js";
import { fromZarr, type Array as LazyArray } from "@zask/array";
import { resolveOpModule, warmPool } from "@zask/scheduler";
import * as zarr from "zarrita";
import { AnnData, type Matrix } from "./anndata.js";
import { rememberSource } from "./byte-order.js";
import { isStringDtype } from "./elem.js";
import type { NDArray } from "./ndarray.js";
import { SparseArray } from "./sparse-array.js";
import type { SparseMatrix } from "./sparse-matrix.js";
import { openStore, type OpenStoreOptions, type StoreSource } from "./store.js";

/** Options of {@link readZarr}. */
export interface ReadZarrOptions extends OpenStoreOptions {
  /**
   * Read dense arrays and sparse matrices lazily (only the chunks a computation needs) or
   * eagerly (everything now, as `{data, shape, dtype}` and {@link SparseMatrix}).
   * @default true
   */
  lazy?: boolean;
  /** Use consolidated metadata when present. @default true */
  consolidated?: boolean;
  /** Wait at most this long for the headers, and between two reads of a body, of a metadata or eager read over HTTP, ms (`deadline` bounds the whole answer). @default 30000 */
  timeout?: number;
  signal?: AbortSignal;
}

/**
 * Open an AnnData store: dataframes (obs, var) are read now, dense arrays (X, layers, obsm,
 * varm) become lazy arrays over their zarr chunks, sparse matrices lazy row- (CSR) or column-
 * (CSC) chunked arrays.
 *
 * @example
 * ```ts
 * const adata = await readZarr("http://127.0.0.1:8080/data/pbmc3k_processed.zarr");
 * const one = await adata.X!.slice(null, adata.varNames.map((g) => g === "C1orf86")).compute();
 * ```
 */
export async function readZarr(source: StoreSource, options?: ReadZarrOptions & { lazy?: true }): Promise<AnnData<LazyArray>>;
export async function readZarr(source: StoreSource, options: ReadZarrOptions & { lazy: false }): Promise<AnnData<NDArray | SparseMatrix>>;
export async function readZarr(source: StoreSource, options?: ReadZarrOptions): Promise<AnnData<Matrix>>;
export async function readZarr(source: StoreSource, options: ReadZarrOptions = {}): Promise<AnnData<Matrix>> {
  const { root } = await openStore(source, options);
  assertAnnData(root);
  const lazy = options.lazy ?? true;
  // A lazy AnnData is opened to be computed: its worker threads start and import the decoders
  // beside the obs and var reads (decoded here), not at the first compute.
  if (lazy) warmPool([[resolveOpModule("@zask/array/ops"), "decodeChunk"]]);
  const callback: ReadCallback = lazy ? lazyCallback : (read, _name, elem) => read(elem);
  return (await readDispatched(root, callback, { signal: options.signal })) as AnnData;
}

const lazyCallback: ReadCallback = async (read, _name, elem, { encodingType }) => {
  if (encodingType === "dataframe") return readElem(elem);
  if ((encodingType === "csr_matrix" || encodingType === "csc_matrix") && elem instanceof zarr.Group) return SparseArray.open(elem);
  // Numeric n-d arrays become lazy; strings and scalars (uns) are small and read now.
  if (encodingType === "array" && elem instanceof zarr.Array && elem.shape.length > 0 && !isStringDtype(elem.dtype)) {
    const lazy = await fromZarr(elem);
    rememberSource(lazy, elem);
    return lazy;
  }
  return read(elem);
};
