import * as zarr from "zarrita";
import { ioSpecOf, type Elem, type IOSpec } from "./elem.js";
import { readDefault } from "./encodings/read-defaults.js";
import { assertKnownVersion } from "./encodings/versions.js";
import { openStore, type StoreSource } from "./store.js";

/** Reads `elem` with the default reader of its encoding; its children go through the callback again. */
export type ReadFunction = (elem: Elem) => Promise<unknown>;

/**
 * A `readDispatched` callback, as anndata's: called for every element with the default reader
 * `read`, the element's path, the element, and its encoding. Return the value to use (or a
 * promise of it); `T` is what it returns, and so what `readDispatched` resolves to.
 */
export type ReadCallback<T = unknown> = (read: ReadFunction, elemName: string, elem: Elem, spec: IOSpec) => T | PromiseLike<T>;

/** Options of {@link readDispatched} and {@link readElem}. */
export interface ReadOptions {
  signal?: AbortSignal;
}

function dispatcher(callback: ReadCallback<unknown> | undefined, signal: AbortSignal | undefined): (elem: Elem) => Promise<unknown> {
  const readElemAt = async (elem: Elem): Promise<unknown> => {
    signal?.throwIfAborted();
    const spec = ioSpecOf(elem);
    // As anndata's registry: an unknown version of a known encoding is refused before any reader runs.
    assertKnownVersion(elem, spec);
    const read: ReadFunction = (e) => readDefault(e, e === elem ? spec : ioSpecOf(e), { readChild: readElemAt, signal });
    if (callback === undefined) return read(elem);
    return await callback(read, elem.path, elem, spec);
  };
  return readElemAt;
}

/**
 * Read an element eagerly with the default reader of its encoding (anndata's `read_elem`):
 * arrays as `{data, shape, dtype}`, dataframes as {@link DataFrame}, sparse matrices as
 * {@link SparseMatrix}, dicts as plain objects, scalars as values.
 *
 * @example
 * ```ts
 * const obs = await readElem(await zarr.open(root.resolve("obs"))); // DataFrame
 * ```
 */
export async function readElem(elem: Elem, options: ReadOptions = {}): Promise<unknown> {
  return dispatcher(undefined, options.signal)(elem);
}

/**
 * Walk a store (or one element of it) calling `callback` for every element (anndata's
 * `read_dispatched`), so each can be read your way: lazily, eagerly, or skipped. Resolves to
 * what the callback returned for the root element (`source`).
 *
 * @example
 * ```ts
 * // The tutorial's read_dask: arrays lazy, dataframes and sparse matrices eager.
 * const adata = await readDispatched(url, (read, name, elem, { encodingType }) => {
 *   if (["dataframe", "csr_matrix", "csc_matrix", "awkward-array"].includes(encodingType)) return readElem(elem);
 *   if (encodingType === "array") return fromZarr(elem);
 *   return read(elem);
 * });
 * ```
 */
export async function readDispatched<T>(source: Elem | StoreSource, callback: ReadCallback<T>, options: ReadOptions = {}): Promise<T> {
  if (typeof callback !== "function") throw new TypeError(`Expected \`callback\` to be a function, got \`${String(callback)}\` (${typeof callback})`);
  const elem = source instanceof zarr.Group || source instanceof zarr.Array ? source : (await openStore(source, options)).root;
  return (await dispatcher(callback, options.signal)(elem)) as T;
}
