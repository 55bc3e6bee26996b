import * as zarr from "zarrita";
import { AnnData, type Raw } from "../anndata.js";
import { Categorical, type CategoricalCodes } from "../categorical.js";
import { DataFrame, type Column } from "../data-frame.js";
import { PackedStrings } from "@zask/array";
import { elemUrl, ioSpecOf, openChild, openChildIfExists, packedStringsOf, readArrayEager, zaskDtype, type Elem, type IOSpec } from "../elem.js";
import { ElementReadError, NotAnnDataError, UnsupportedEncodingError } from "../errors.js";
import { MaskedArray, type MaskedKind } from "../masked-array.js";
import { typedArrayOfOne, type DataType, type NDArray, type TypedArray } from "../ndarray.js";
import { NumericScalar } from "../numeric-scalar.js";
import { SparseMatrix } from "../sparse-matrix.js";
import { rememberSource } from "../byte-order.js";
import { listChildren } from "../store.js";
import { assertKnownVersion } from "./versions.js";

/** Reads a child element (through the dispatching reader, so callbacks see it). */
export type ReadChild = (elem: Elem) => Promise<unknown>;

interface Ctx {
  readonly readChild: ReadChild;
  readonly signal: AbortSignal | undefined;
}

function asGroup(elem: Elem, spec: IOSpec): zarr.Group<zarr.Readable> {
  if (!(elem instanceof zarr.Group)) {
    throw new ElementReadError(elem.path, elemUrl(elem), "format", `encoding "${spec.encodingType}" expects a group, found an array`);
  }
  return elem;
}

function asArray(elem: Elem, spec: IOSpec): zarr.Array<zarr.DataType, zarr.Readable> {
  if (!(elem instanceof zarr.Array)) {
    throw new ElementReadError(elem.path, elemUrl(elem), "format", `encoding "${spec.encodingType}" expects an array, found a group`);
  }
  return elem;
}

function attr<T>(elem: Elem, name: string, check: (x: unknown) => x is T, what: string): T {
  const v = (elem.attrs as Record<string, unknown>)[name];
  if (!check(v)) throw new ElementReadError(elem.path, elemUrl(elem), "metadata", `expected attribute "${name}" to be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

const isString = (x: unknown): x is string => typeof x === "string";
const isStringList = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === "string");

async function eager1d(elem: Elem, spec: IOSpec, ctx: Ctx): Promise<TypedArray | string[]> {
  const arr = asArray(elem, spec);
  const v = await readArrayEager(arr, { signal: ctx.signal });
  if (typeof v !== "object" || v.shape.length !== 1) {
    throw new ElementReadError(elem.path, elemUrl(elem), "format", `expected a 1-d array`);
  }
  rememberSource(v.data, arr);
  return v.data;
}

const warned = new WeakSet<object>();

/** Say once per store that its dict groups cannot be listed, rather than read them as empty in silence. */
function warnUnlisted(group: zarr.Group<zarr.Readable>): void {
  if (warned.has(group.store)) return;
  warned.add(group.store);
  process.emitWarning(
    `The store at ${elemUrl(group) ?? "(unknown)"} has no consolidated metadata and cannot be listed remotely: ` +
      `groups such as ${group.path} (uns, obsm, layers, …) read as empty. Run zarr.consolidate_metadata on it.`,
    { code: "ZASK_UNLISTABLE_STORE" },
  );
}

/** Read a dict group: each child through the dispatching reader. */
async function readDict(group: zarr.Group<zarr.Readable>, ctx: Ctx, skip: readonly string[] = []): Promise<Record<string, unknown>> {
  const listed = await listChildren(group);
  if (listed === undefined) warnUnlisted(group);
  const names = (listed ?? []).filter((n) => !skip.includes(n));
  // Children are independent: read them concurrently (over HTTP, latency dominates).
  const values = await Promise.all(names.map(async (name) => ctx.readChild(await openChild(group, name))));
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

async function readColumn(group: zarr.Group<zarr.Readable>, name: string, ctx: Ctx): Promise<Column | NDArray> {
  const child = await openChild(group, name);
  const v = await ctx.readChild(child);
  if (v instanceof Categorical || v instanceof MaskedArray || Array.isArray(v) || ArrayBuffer.isView(v)) return v as Column;
  if (typeof v === "object" && v !== null && "data" in v && "shape" in v) {
    const nd = v as NDArray;
    if (nd.shape.length !== 1) throw new ElementReadError(child.path, elemUrl(child), "format", "a dataframe column must be 1-d");
    return nd;
  }
  throw new ElementReadError(child.path, elemUrl(child), "format", "a dataframe column must be an array, categorical or nullable array");
}

async function readDataFrame(group: zarr.Group<zarr.Readable>, spec: IOSpec, ctx: Ctx): Promise<DataFrame> {
  const indexKey = attr(group, "_index", isString, "a string");
  const order = attr(group, "column-order", (x): x is string[] => isStringList(x) || (Array.isArray(x) && x.length === 0), "a list of strings");
  const [indexCol, ...cols] = await Promise.all([indexKey, ...order].map((name) => readColumn(group, name, ctx)));
  if (indexCol === undefined) throw new ElementReadError(group.path, elemUrl(group), "format", "a dataframe has no index column");
  // A string index (the usual case) is kept as read, packed until its names are asked for.
  const packed = packedStringsOf(indexCol);
  const indexData =
    packed !== undefined ? packed : "shape" in indexCol && !(indexCol instanceof Categorical) && !(indexCol instanceof MaskedArray) ? indexCol.data : indexCol;
  const index =
    indexData instanceof PackedStrings || (Array.isArray(indexData) && indexData.every((x) => typeof x === "string"))
      ? (indexData as string[] | PackedStrings)
      : Array.from(indexData as Iterable<unknown>, (x) => String(x));
  const columns = new Map<string, Column | NDArray>();
  order.forEach((name, i) => columns.set(name, cols[i]!));
  if (spec.encodingVersion === "0.1.0") {
    // 0.1.0 kept categories of categorical columns in a `__categories` subgroup.
    const cats = await openChildIfExists(group, "__categories");
    if (cats instanceof zarr.Group) {
      for (const name of order) {
        const cat = await openChildIfExists(cats, name);
        const col = columns.get(name);
        const codes = col && "shape" in col && !(col instanceof Categorical) && !(col instanceof MaskedArray) ? col.data : undefined;
        if (cat && codes && ArrayBuffer.isView(codes)) {
          const arraySpec = { encodingType: "array", encodingVersion: "" };
          const categories = await eager1d(cat, arraySpec, ctx);
          const path = `${group.path === "/" ? "" : group.path}/${name}`;
          if (codes instanceof Float32Array || codes instanceof Float64Array) {
            throw new ElementReadError(path, elemUrl(group), "format", "categorical codes must be integers");
          }
          try {
            columns.set(name, categoricalOf(codes as CategoricalCodes, categories, zaskDtype(asArray(cat, arraySpec).dtype), Boolean(cat.attrs["ordered"])));
          } catch (cause) {
            throw new ElementReadError(path, elemUrl(group), "format", (cause as Error).message, { cause });
          }
        }
      }
    }
  }
  return new DataFrame({ index, columns, indexName: indexKey === "_index" ? undefined : indexKey });
}

/** A categorical of stored `categories` of `dtype`: bool ones as booleans, and the dtype kept for writing back. */
function categoricalOf(codes: CategoricalCodes, categories: TypedArray | string[], dtype: DataType, ordered: boolean): Categorical {
  const values: (string | number | bigint | boolean)[] =
    dtype === "bool" ? Array.from(categories as Uint8Array, (v) => v !== 0) : Array.from(categories as ArrayLike<string | number | bigint>);
  return new Categorical(codes, values, ordered, dtype);
}

async function readCategorical(group: zarr.Group<zarr.Readable>, spec: IOSpec, ctx: Ctx): Promise<Categorical> {
  const [codesElem, categoriesElem] = await Promise.all(["codes", "categories"].map((n) => openChild(group, n)));
  const [codes, categories] = await Promise.all([eager1d(codesElem!, spec, ctx), eager1d(categoriesElem!, spec, ctx)]);
  if (Array.isArray(codes) || codes instanceof Float32Array || codes instanceof Float64Array) {
    throw new ElementReadError(group.path + "/codes", elemUrl(group), "format", "categorical codes must be integers");
  }
  const ordered = Boolean((group.attrs as Record<string, unknown>)["ordered"]);
  try {
    return categoricalOf(codes as CategoricalCodes, categories, zaskDtype(asArray(categoriesElem!, spec).dtype), ordered);
  } catch (cause) {
    throw new ElementReadError(group.path, elemUrl(group), "format", (cause as Error).message, { cause });
  }
}

async function readMasked(group: zarr.Group<zarr.Readable>, spec: IOSpec, ctx: Ctx): Promise<MaskedArray> {
  const [values, mask] = await Promise.all([
    openChild(group, "values").then((e) => eager1d(e, spec, ctx)),
    openChildIfExists(group, "mask").then((e) => (e ? eager1d(e, spec, ctx) : undefined)),
  ]);
  const naValue = (group.attrs as Record<string, unknown>)["na-value"];
  return new MaskedArray(spec.encodingType as MaskedKind, values, mask as Uint8Array | undefined, typeof naValue === "string" ? naValue : undefined);
}

async function readSparse(group: zarr.Group<zarr.Readable>, spec: IOSpec, ctx: Ctx): Promise<SparseMatrix> {
  const shape = attr(group, "shape", (x): x is [number, number] => Array.isArray(x) && x.length === 2 && x.every(Number.isInteger), "a [rows, cols] pair");
  const part = async (name: string) => {
    const elem = await openChild(group, name);
    const d = await eager1d(elem, spec, ctx);
    if (Array.isArray(d)) throw new ElementReadError(`${group.path}/${name}`, elemUrl(group), "format", "sparse parts must be numeric");
    return { d, dtype: zaskDtype(asArray(elem, spec).dtype) };
  };
  try {
    const [indptr, indices, data] = await Promise.all([part("indptr"), part("indices"), part("data")]);
    // the stored dtype, which a bool matrix's Uint8Array alone would lose
    return new SparseMatrix(spec.encodingType === "csr_matrix" ? "csr" : "csc", shape, indptr.d, indices.d, data.d, data.dtype);
  } catch (cause) {
    if (cause instanceof ElementReadError) throw cause;
    throw new ElementReadError(group.path, elemUrl(group), "format", (cause as Error).message, { cause });
  }
}

const ANNDATA_SLOTS = ["X", "obs", "var", "obsm", "varm", "obsp", "varp", "layers", "uns", "raw"] as const;

async function readSlots(group: zarr.Group<zarr.Readable>, ctx: Ctx, slots: readonly string[]): Promise<Record<string, unknown>> {
  const values = await Promise.all(
    slots.map(async (name) => {
      const child = await openChildIfExists(group, name);
      return child === undefined ? undefined : ctx.readChild(child);
    }),
  );
  const out: Record<string, unknown> = {};
  slots.forEach((name, i) => {
    if (values[i] !== undefined) out[name] = values[i];
  });
  return out;
}

/**
 * A 0-d value with its dtype kept, as numpy keeps it: `numeric-scalar` as a {@link NumericScalar}
 * (booleans and strings, which round-trip as themselves, as they are), a 0-d `array` as a 0-d
 * `{data, shape: [], dtype}`, so that each is written back with the same dtype and encoding.
 */
function typedScalar(v: number | bigint | boolean | string, dtype: DataType, spec: IOSpec): unknown {
  if (spec.encodingType === "numeric-scalar") {
    return dtype === "bool" || dtype === "string" ? v : new NumericScalar(v as number | bigint, dtype);
  }
  if (dtype === "string") return { data: [String(v)], shape: [], dtype } satisfies NDArray;
  return { data: typedArrayOfOne(dtype, typeof v === "boolean" ? Number(v) : (v as number | bigint)), shape: [], dtype } satisfies NDArray;
}

/** Read one element by its encoding with the default (eager) readers; children go through `readChild`. */
export async function readDefault(elem: Elem, spec: IOSpec, ctx: Ctx): Promise<unknown> {
  ctx.signal?.throwIfAborted();
  assertKnownVersion(elem, spec);
  switch (spec.encodingType) {
    case "anndata": {
      const parts = await readSlots(asGroup(elem, spec), ctx, ANNDATA_SLOTS);
      return new AnnData(parts as never);
    }
    case "raw": {
      const parts = await readSlots(asGroup(elem, spec), ctx, ["X", "var", "varm"]);
      return { X: parts["X"], var: parts["var"], varm: parts["varm"] ?? {} } as Raw<unknown>;
    }
    case "dict":
      return readDict(asGroup(elem, spec), ctx);
    case "dataframe":
      return readDataFrame(asGroup(elem, spec), spec, ctx);
    case "categorical":
      return readCategorical(asGroup(elem, spec), spec, ctx);
    case "nullable-integer":
    case "nullable-boolean":
    case "nullable-string-array":
      return readMasked(asGroup(elem, spec), spec, ctx);
    case "csr_matrix":
    case "csc_matrix":
      return readSparse(asGroup(elem, spec), spec, ctx);
    case "array":
    case "numeric-scalar": {
      const arr = asArray(elem, spec);
      const v = await readArrayEager(arr, { signal: ctx.signal });
      if (arr.shape.length === 0) return typedScalar(v as number | bigint | boolean | string, zaskDtype(arr.dtype), spec);
      rememberSource((v as NDArray).data, arr);
      return v;
    }
    case "string-array":
    case "string":
    case "bytes":
      return readArrayEager(asArray(elem, spec), { signal: ctx.signal });
    default:
      throw new UnsupportedEncodingError(elem.path, elemUrl(elem), spec.encodingType, spec.encodingVersion);
  }
}

/** Check that `root` is an AnnData group. */
export function assertAnnData(root: Elem): void {
  const spec = ioSpecOf(root);
  const t = (root.attrs as Record<string, unknown>)["encoding-type"];
  if (!(root instanceof zarr.Group) || spec.encodingType !== "anndata") {
    throw new NotAnnDataError(root.path, elemUrl(root), typeof t === "string" ? t : undefined);
  }
}
