import { Array as LazyArray, type WritableStore } from "@zask/array";
import { AnnData, type Raw } from "../anndata.js";
import { sourceByteOrder } from "../byte-order.js";
import { normalizeCompressor } from "../compressor.js";
import { Categorical, isTypedArray } from "../categorical.js";
import { DataFrame } from "../data-frame.js";
import type { IOSpec } from "../elem.js";
import { ElementWriteError } from "../errors.js";
import { MaskedArray } from "../masked-array.js";
import { dtypeOf, typedArrayFrom, typedArrayOfOne, type NDArray, type TypedArray } from "../ndarray.js";
import { NumericScalar } from "../numeric-scalar.js";
import { SparseMatrix } from "../sparse-matrix.js";
import type { DatasetOptions, ZarrWriter } from "../zarr-writer.js";
import { writeSparse } from "./write-sparse.js";

/** Writes a child element (through the dispatching writer, so callbacks see it). */
export type WriteChild = (path: string, value: unknown, options: DatasetOptions) => Promise<void>;

function isNDArray(x: unknown): x is NDArray {
  return typeof x === "object" && x !== null && "data" in x && "shape" in x && "dtype" in x && Array.isArray((x as NDArray).shape);
}

function isRaw(x: unknown): x is Raw<unknown> {
  return typeof x === "object" && x !== null && (x as Raw<unknown>).var instanceof DataFrame && "X" in x && !(x instanceof AnnData);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && (Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null);
}

/** The encoding zask writes for a value, or undefined for values it does not write (null, undefined). */
export function ioSpecOfValue(value: unknown, pathHint = ""): IOSpec | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof AnnData) return { encodingType: "anndata", encodingVersion: "0.1.0" };
  if (pathHint.endsWith("/raw") && isRaw(value)) return { encodingType: "raw", encodingVersion: "0.1.0" };
  if (value instanceof DataFrame) return { encodingType: "dataframe", encodingVersion: "0.2.0" };
  if (value instanceof Categorical) return { encodingType: "categorical", encodingVersion: "0.2.0" };
  if (value instanceof MaskedArray) return { encodingType: value.kind, encodingVersion: "0.1.0" };
  if (value instanceof SparseMatrix || isLazySparse(value)) return { encodingType: `${(value as { format: string }).format}_matrix`, encodingVersion: "0.1.0" };
  if (isNDArray(value)) {
    // A numeric 0-d array is numpy's np.array(7): anndata writes it as "array", not as a scalar.
    return { encodingType: value.dtype === "string" ? (value.shape.length === 0 ? "string" : "string-array") : "array", encodingVersion: "0.2.0" };
  }
  if (value instanceof NumericScalar) return { encodingType: "numeric-scalar", encodingVersion: "0.2.0" };
  if (isLazy(value)) return { encodingType: "array", encodingVersion: "0.2.0" };
  if (isTypedArray(value)) return { encodingType: "array", encodingVersion: "0.2.0" };
  if (Array.isArray(value) && value.every((s) => typeof s === "string")) return { encodingType: "string-array", encodingVersion: "0.2.0" };
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return { encodingType: "numeric-scalar", encodingVersion: "0.2.0" };
  if (typeof value === "string") return { encodingType: "string", encodingVersion: "0.2.0" };
  if (isPlainObject(value)) return { encodingType: "dict", encodingVersion: "0.1.0" };
  return undefined;
}

function isLazy(x: unknown): x is { compute(o?: object): Promise<unknown>; shape: readonly number[] } {
  return typeof x === "object" && x !== null && typeof (x as { compute?: unknown }).compute === "function";
}

function isLazySparse(x: unknown): x is { computeSparse(o?: object): Promise<SparseMatrix>; format: string } {
  return typeof x === "object" && x !== null && typeof (x as { computeSparse?: unknown }).computeSparse === "function";
}

function encodingAttrs(spec: IOSpec, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { "encoding-type": spec.encodingType, "encoding-version": spec.encodingVersion, ...extra };
}

function toNDArray(value: unknown, path: string, url: string | undefined): NDArray {
  if (isNDArray(value)) return value;
  if (value instanceof NumericScalar) return { data: typedArrayOfOne(value.dtype, value.value), shape: [], dtype: value.dtype };
  if (isTypedArray(value)) return { data: value, shape: [value.length], dtype: dtypeOf(value) };
  if (Array.isArray(value)) return { data: value as string[], shape: [value.length], dtype: "string" };
  if (typeof value === "number") {
    return Number.isInteger(value) && Number.isSafeInteger(value)
      ? { data: BigInt64Array.of(BigInt(value)), shape: [], dtype: "int64" }
      : { data: Float64Array.of(value), shape: [], dtype: "float64" };
  }
  if (typeof value === "bigint") {
    // int64 as numpy's default integer; uint64 only above int64's range; beyond both, an error, never a wrapped value.
    if (value >= -(2n ** 63n) && value < 2n ** 63n) return { data: BigInt64Array.of(value), shape: [], dtype: "int64" };
    if (value >= 0n && value < 2n ** 64n) return { data: BigUint64Array.of(value), shape: [], dtype: "uint64" };
    throw new ElementWriteError(path, url, "value", `the integer ${value} fits neither int64 nor uint64`);
  }
  if (typeof value === "boolean") return { data: Uint8Array.of(value ? 1 : 0), shape: [], dtype: "bool" };
  if (typeof value === "string") return { data: [value], shape: [], dtype: "string" };
  throw new ElementWriteError(path, url, "value", `cannot write a value of type ${Object.prototype.toString.call(value)} as an array`);
}

/** Write `value` at `path` with the default writer of `spec`; children go through `writeChild`. */
export async function writeDefault(
  writer: ZarrWriter,
  path: string,
  value: unknown,
  spec: IOSpec,
  options: DatasetOptions,
  writeChild: WriteChild,
): Promise<void> {
  // `chunks` applies to the element it is given for; children inherit only the compressor.
  const inherited: DatasetOptions = { compressor: options.compressor };
  const child = (name: string) => (path === "/" || path === "" ? "/" : path + "/") + name;
  switch (spec.encodingType) {
    case "anndata": {
      const a = value as AnnData<unknown>;
      await writer.group(path, encodingAttrs(spec));
      if (a.X !== undefined) await writeChild(child("X"), a.X, inherited);
      await writeChild(child("obs"), a.obs, inherited);
      await writeChild(child("var"), a.var, inherited);
      for (const slot of ["obsm", "varm", "obsp", "varp", "layers", "uns"] as const) await writeChild(child(slot), a[slot], inherited);
      if (a.raw !== undefined) await writeChild(child("raw"), a.raw, inherited);
      return;
    }
    case "raw": {
      const r = value as Raw<unknown>;
      await writer.group(path, encodingAttrs(spec));
      if (r.X !== undefined) await writeChild(child("X"), r.X, inherited);
      await writeChild(child("var"), r.var, inherited);
      await writeChild(child("varm"), r.varm ?? {}, inherited);
      return;
    }
    case "dict": {
      await writer.group(path, encodingAttrs(spec));
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (k.includes("/")) throw new ElementWriteError(child(k), writer.url, "value", "keys must not contain '/'");
        await writeChild(child(k), v, inherited);
      }
      return;
    }
    case "dataframe": {
      const df = value as DataFrame;
      const indexKey = df.indexName ?? "_index";
      if (df.has(indexKey)) throw new ElementWriteError(path, writer.url, "value", `a column may not be named like the index ("${indexKey}")`);
      await writer.group(path, encodingAttrs(spec, { _index: indexKey, "column-order": df.columns }));
      await writeChild(child(indexKey), { data: [...df.index], shape: [df.nRows], dtype: "string" }, inherited);
      for (const [name, col] of df.entries()) {
        const dt = df.dtype(name);
        await writeChild(child(name), dt === undefined ? col : { data: col as TypedArray, shape: [col.length], dtype: dt }, inherited);
      }
      return;
    }
    case "categorical": {
      const c = value as Categorical;
      await writer.group(path, encodingAttrs(spec, { ordered: c.ordered }));
      await writeChild(child("codes"), { data: c.codes, shape: [c.codes.length], dtype: dtypeOf(c.codes) }, inherited);
      const cats = c.categories;
      const dtype = c.categoriesDtype;
      // the categories as their dtype holds them (checked when the Categorical was made)
      const catArray: NDArray =
        dtype === "string"
          ? { data: [...(cats as string[])], shape: [cats.length], dtype }
          : dtype === "bool"
            ? { data: Uint8Array.from(cats as boolean[], (b) => (b ? 1 : 0)), shape: [cats.length], dtype }
            : { data: typedArrayFrom(dtype, cats as readonly (number | bigint)[]), shape: [cats.length], dtype };
      await writeChild(child("categories"), catArray, inherited);
      return;
    }
    case "nullable-integer":
    case "nullable-boolean":
    case "nullable-string-array": {
      const m = value as MaskedArray;
      await writer.group(path, encodingAttrs(spec, m.kind === "nullable-string-array" ? { "na-value": m.naValue ?? "NA" } : {}));
      const values: NDArray =
        m.kind === "nullable-boolean"
          ? { data: m.values as TypedArray, shape: [m.length], dtype: "bool" }
          : { data: m.values, shape: [m.length], dtype: dtypeOf(m.values) };
      await writeChild(child("values"), values, inherited);
      await writeChild(child("mask"), { data: m.mask, shape: [m.length], dtype: "bool" }, inherited);
      return;
    }
    case "csr_matrix":
    case "csc_matrix":
      return writeSparse(writer, path, value, encodingAttrs(spec), options);
    case "array":
    case "string-array":
    case "numeric-scalar":
    case "string": {
      // A big-endian source keeps its byte order.
      const lazyOrder = value instanceof LazyArray ? await sourceByteOrder(value) : undefined;
      if (value instanceof LazyArray && value.dtype !== "string" && value.ndim > 0) {
        // Stream a lazy array block by block (rechunked to the requested chunks), never whole in memory.
        await writer.flush();
        await value.toZarr(writer.store as unknown as WritableStore, {
          ...(lazyOrder === undefined ? {} : { byteOrder: lazyOrder }),
          path,
          format: writer.format,
          ...(writer.format === 3 && options.shards !== undefined ? { shards: options.shards } : {}),
          chunks: options.chunks === undefined ? undefined : options.chunks.map((c) => (c === null ? -1 : c)),
          compressor: normalizeCompressor(options.compressor),
          attributes: encodingAttrs(spec),
          overwrite: true,
          signal: writer.signal,
        });
        await writer.adopt(path);
        return;
      }
      let nd: NDArray;
      if (isLazy(value) && !isNDArray(value)) {
        nd = (await value.compute()) as NDArray;
      } else {
        nd = toNDArray(value, path, writer.url);
      }
      const opts = nd.shape.length === 0 ? { compressor: options.compressor } : options;
      await writer.array(path, nd, encodingAttrs(spec), opts, lazyOrder ?? (await sourceByteOrder(nd.data)));
      return;
    }
    default:
      throw new ElementWriteError(path, writer.url, "value", `no writer for encoding "${spec.encodingType}"`);
  }
}
