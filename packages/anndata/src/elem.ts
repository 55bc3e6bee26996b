import { ChunkFetchError, ZarrMetadataError, asPackedStrings, fromZarr, packedStringsArray, type PackedStrings } from "@zask/array";
import { computeEager } from "./eager-batch.js";
import * as zarr from "zarrita";
import { ElementReadError } from "./errors.js";
import { diagnoseMissing, toReadError } from "./read-error.js";
import { eagerHttpOf, isListed, urlOf } from "./store.js";
import { typedArrayOf, type DataType, type NDArray, type TypedArray } from "./ndarray.js";

/** A node of an AnnData store: a zarrita group or array. */
export type Elem = zarr.Group<zarr.Readable> | zarr.Array<zarr.DataType, zarr.Readable>;

/** An element's encoding, from its `encoding-type` / `encoding-version` attributes. */
export interface IOSpec {
  readonly encodingType: string;
  readonly encodingVersion: string;
}

/**
 * The encoding of `elem`. Elements without the attributes (stores older than anndata 0.8) are
 * read as what they look like: arrays as `array` (or `string-array`), groups as `dict`.
 *
 * @example
 * ```ts
 * ioSpecOf(xArray); // { encodingType: "array", encodingVersion: "0.2.0" }
 * ```
 */
export function ioSpecOf(elem: Elem): IOSpec {
  const attrs = elem.attrs as Record<string, unknown>;
  const t = attrs["encoding-type"];
  const v = attrs["encoding-version"];
  if (typeof t === "string") return { encodingType: t, encodingVersion: typeof v === "string" ? v : "" };
  if (elem instanceof zarr.Array) {
    return { encodingType: isStringDtype(elem.dtype) ? "string-array" : "array", encodingVersion: "" };
  }
  return { encodingType: "dict", encodingVersion: "" };
}

/** Whether a zarrita dtype holds strings. */
export function isStringDtype(dtype: string): boolean {
  return dtype === "v2:object" || dtype === "string" || dtype.startsWith("v2:U") || dtype.startsWith("v2:S");
}

/** The URL of an element, for messages. */
export function elemUrl(elem: Elem): string | undefined {
  return urlOf(elem.store, elem.path);
}

/** The child `name` of `group`, opened (array or group); typed errors when missing or broken. */
export async function openChild(group: zarr.Group<zarr.Readable>, name: string): Promise<Elem> {
  const loc = group.resolve(name);
  try {
    return await zarr.open(loc);
  } catch (cause) {
    const e = toReadError(cause, loc.path, urlOf(group.store, loc.path));
    if (e.reason === "missing") await diagnoseMissing(group.store, loc.path, urlOf(group.store, loc.path));
    throw e;
  }
}

/** Like {@link openChild}, but `undefined` when the child does not exist. */
export async function openChildIfExists(group: zarr.Group<zarr.Readable>, name: string): Promise<Elem | undefined> {
  // A consolidated listing answers at once: no open attempts of both zarr formats, no diagnosis.
  if (isListed(group.store, group.resolve(name).path) === false) return undefined;
  try {
    return await openChild(group, name);
  } catch (e) {
    if ((e as { reason?: string }).reason === "missing") return undefined;
    throw e;
  }
}

/** Map a zarrita dtype to zask's numpy name. */
export function zaskDtype(dtype: string): DataType {
  if (isStringDtype(dtype)) return "string";
  switch (dtype) {
    case "bool":
    case "int8":
    case "int16":
    case "int32":
    case "int64":
    case "uint8":
    case "uint16":
    case "uint32":
    case "uint64":
    case "float32":
    case "float64":
      return dtype;
  }
  throw new TypeError(`Expected a numeric, boolean or string zarr dtype, got \`${dtype}\``);
}

/** Normalize what zarrita returns into zask's data: bools as 0/1 bytes, strings as string[]. */
export function toZaskData(data: unknown): TypedArray | string[] {
  if (data instanceof zarr.BoolArray) return new Uint8Array(data.buffer, data.byteOffset, data.length).slice();
  if (data instanceof zarr.UnicodeStringArray || data instanceof zarr.ByteStringArray) return Array.from(data as Iterable<string>);
  if (Array.isArray(data)) return data.map((s) => (s === null || s === undefined ? "" : String(s)));
  if (ArrayBuffer.isView(data)) return data as TypedArray;
  throw new TypeError(`Expected array data, got \`${Object.prototype.toString.call(data)}\``);
}

const PACKED = Symbol("packed strings");

/**
 * A 1-d string array read and checked, whose `data` makes its strings on first use: a reader
 * that never looks at them (a dataframe index kept as {@link PackedStrings}) never pays for
 * them.
 */
function stringsOf(packed: PackedStrings): NDArray {
  const v = {
    // made on first use, then a plain value like any array's
    get data(): string[] {
      const data = packed.toArray();
      Object.defineProperty(v, "data", { value: data, enumerable: true, writable: true, configurable: true });
      return data;
    },
    shape: [packed.length],
    dtype: "string",
  };
  return Object.defineProperty(v, PACKED, { value: packed }) as unknown as NDArray;
}

/** The strings of an array {@link readArrayEager} read, still packed if nothing has asked for them. */
export function packedStringsOf(v: unknown): PackedStrings | undefined {
  return typeof v === "object" && v !== null && PACKED in v ? (v as { [PACKED]: PackedStrings })[PACKED] : undefined;
}

/** Eager arrays up to this many decoded bytes are decoded on the main thread. */
const EAGER_INLINE_BYTES = 16 * 2 ** 20;

/**
 * Read a whole zarr array eagerly (0-d arrays give a scalar). Errors name the element. An n-d
 * array is read through @zask/array's `fromZarr` and computed, so eager and lazy reads share
 * one decode path: the same order handling (C or F) and the same checks of every chunk.
 */
export async function readArrayEager(
  arr: zarr.Array<zarr.DataType, zarr.Readable>,
  options: { signal?: AbortSignal } = {},
): Promise<NDArray | number | bigint | boolean | string> {
  const dtype = zaskDtype(arr.dtype);
  if (arr.shape.length > 0) {
    try {
      // opened even when empty: its metadata is checked like any array's
      const x = await fromZarr(arr, { signal: options.signal });
      // A zero-size array has no chunks to read; numpy reads it as empty.
      if (arr.shape.some((n) => n === 0)) {
        return { data: dtype === "string" ? [] : new (typedArrayOf(dtype))(0), shape: [...arr.shape], dtype };
      }
      // Small arrays (dataframe columns) decode on this thread: a worker's strings would be
      // cloned back one by one, and a message costs more than decoding a few chunks.
      const small = dtype === "string" || x.nbytes <= EAGER_INLINE_BYTES;
      // the open's HTTP options (httpConcurrency, http2, retries, …) apply to eager reads too
      const computeOptions = { ...eagerHttpOf(arr.store), signal: options.signal, ...(small ? { inlineThreshold: Infinity } : {}) };
      // computed with the other eager reads of this turn (eager-batch.ts); strings kept packed
      const packed = packedStringsArray(x);
      if (packed !== undefined) return stringsOf(asPackedStrings((await computeEager(packed, computeOptions)).data));
      const r = await computeEager(x, computeOptions);
      return { data: r.data, shape: [...arr.shape], dtype };
    } catch (cause) {
      throw eagerReadError(cause, arr);
    }
  }
  let got: unknown;
  try {
    got = await zarr.get(arr, null, { opts: { signal: options.signal } } as never);
  } catch (cause) {
    throw toReadError(cause, arr.path, elemUrl(arr));
  }
  if (typeof got === "object" && got !== null && "data" in got) got = (got as { data: ArrayLike<unknown> }).data[0];
  // uns holds small integers; give them as numbers when that is exact, as anndata users expect.
  if (typeof got === "bigint" && got >= BigInt(Number.MIN_SAFE_INTEGER) && got <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(got);
  return got as number | bigint | boolean | string;
}

// @zask/array's errors (under the scheduler's TaskError) as the element's read error, with the
// array's own error (naming the chunk or the metadata field) as the cause. Matched by name: an
// error thrown on a worker arrives as a clone that keeps its name and message, not its class.
function eagerReadError(cause: unknown, arr: zarr.Array<zarr.DataType, zarr.Readable>): unknown {
  const url = elemUrl(arr);
  let c: unknown = cause;
  while (c instanceof Error) {
    switch (c.name) {
      case "ZarrMetadataError": {
        const codec = c instanceof ZarrMetadataError ? /^unknown codec/.test(c.reason) : /: unknown codec /.test(c.message);
        return new ElementReadError(arr.path, url, codec ? "codec" : "metadata", `${codec ? "unknown codec" : "malformed element metadata"} (${c.message})`, {
          cause: c,
        });
      }
      case "ChunkDecodeError":
        return new ElementReadError(arr.path, url, "chunk", `a chunk is truncated or corrupt (${c.message})`, { cause: c });
      case "ChunkFetchError": {
        const http = c instanceof ChunkFetchError && c.status !== undefined;
        return new ElementReadError(arr.path, url, http ? "http" : "chunk", `the chunk could not be read (${c.message})`, { cause: c });
      }
      case "AbortError":
        return c;
    }
    c = c.cause;
  }
  return toReadError(cause, arr.path, url);
}
