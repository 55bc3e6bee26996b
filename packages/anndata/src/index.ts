/** Public API of @zask/anndata. */
export { AnnData } from "./anndata.js";
export type { AnnDataInit, Raw, Matrix } from "./anndata.js";
export { Categorical } from "./categorical.js";
export type { CategoricalCodes } from "./categorical.js";
export { DataFrame } from "./data-frame.js";
export type { Column, DataFrameInit } from "./data-frame.js";
export { MaskedArray } from "./masked-array.js";
export { NumericScalar } from "./numeric-scalar.js";
export type { ScalarDataType } from "./numeric-scalar.js";
export type { MaskedKind } from "./masked-array.js";
export { SparseMatrix } from "./sparse-matrix.js";
export { SparseArray } from "./sparse-array.js";
export type { SparseArrayOptions } from "./sparse-array.js";
export type { SparseFormat } from "./sparse-matrix.js";
export type { NDArray, DataType, TypedArray } from "./ndarray.js";
export { ioSpecOf } from "./elem.js";
export type { Elem, IOSpec } from "./elem.js";
export { openStore } from "./store.js";
export type { StoreSource, OpenStoreOptions, OpenedStore } from "./store.js";
export { readElem, readDispatched } from "./read-dispatched.js";
export type { ReadCallback, ReadFunction, ReadOptions } from "./read-dispatched.js";
export { readZarr } from "./read-zarr.js";
export type { ReadZarrOptions } from "./read-zarr.js";
export {
  StoreOpenError,
  NotAnnDataError,
  UnsupportedEncodingError,
  ElementReadError,
  ElementWriteError,
} from "./errors.js";
export type { ElementReadFailure } from "./errors.js";
export { writeZarr, writeElem, writeDispatched } from "./write-dispatched.js";
export type { WriteCallback, WriteFunction, WriteOptions, WriteTarget, WriteZarrOptions } from "./write-dispatched.js";
export type { DatasetOptions, ZarrFormat } from "./zarr-writer.js";
export type { Compressor } from "./compressor.js";
export type { WriteDestination } from "./destination.js";
