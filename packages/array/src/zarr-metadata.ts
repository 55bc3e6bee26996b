// Checks a zarr array's metadata document before anything is sized from it: a store is untrusted.
import { registry } from "zarrita";
import { ZarrMetadataError } from "./errors.js";

/** The most blocks an array may have: beyond it, even the per-axis block lists would not fit. */
export const MAX_BLOCKS = 2 ** 24;

/** The most bytes one decoded chunk may hold (one typed array per chunk). */
export const MAX_CHUNK_BYTES = 2 ** 31;

/** Where the metadata came from, for errors. */
export interface MetadataWhere {
  /** The array's URL or directory path. */
  readonly url: string;
  /** The array's path inside the store. */
  readonly path: string;
}

// zarr v2 dtypes zask reads: bool, integers, floats, vlen strings and fixed-width strings.
const V2_DTYPE = /^([<>|=])?(b1|[iu][1248]|f[48]|O|[US]\d+)$/;
const V3_SIZES: Readonly<Record<string, number>> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float32: 4,
  float64: 8,
  string: 8,
};

function show(v: unknown): string {
  return `\`${JSON.stringify(v) ?? String(v)}\` (${Array.isArray(v) ? "array" : v === null ? "null" : typeof v})`;
}

/**
 * Check an array's metadata document (`.zarray` when `zarrFormat` is 2, `zarr.json` when 3):
 * shape, chunk grid, data type, codecs, order and fill value, and that the chunk grid and one
 * chunk stay within {@link MAX_BLOCKS} and {@link MAX_CHUNK_BYTES}. Throws
 * {@link ZarrMetadataError} naming the field; returns the shape and chunk shape it checked.
 *
 * @example
 * ```ts
 * validateZarrMetadata(JSON.parse(doc), 2, { url: "http://h/a.zarr/X", path: "/X" });
 * ```
 */
export function validateZarrMetadata(metadata: unknown, zarrFormat: 2 | 3, where: MetadataWhere): { shape: number[]; chunkShape: number[] } {
  const fail = (field: string, reason: string): never => {
    throw new ZarrMetadataError(where.url, where.path, field, reason);
  };
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) fail("(document)", `expected a JSON object, got ${show(metadata)}`);
  const m = metadata as Record<string, unknown>;
  const shape = m["shape"];
  if (!Array.isArray(shape)) return fail("shape", `expected an array of non-negative integers, got ${show(shape)}`);
  shape.forEach((n, k) => {
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) fail("shape", `expected non-negative integers, got ${show(n)} on axis ${k}`);
  });
  let chunkShape: unknown;
  let itemsize: number;
  if (zarrFormat === 2) {
    chunkShape = m["chunks"];
    itemsize = checkV2(m, fail);
  } else {
    const grid = m["chunk_grid"] as { name?: unknown; configuration?: { chunk_shape?: unknown } } | undefined;
    if (grid?.name !== "regular") fail("chunk_grid", `expected a regular chunk grid, got ${show(grid?.name)}`);
    chunkShape = grid?.configuration?.chunk_shape;
    itemsize = checkV3(m, fail);
  }
  const field = zarrFormat === 2 ? "chunks" : "chunk_grid";
  if (!Array.isArray(chunkShape)) return fail(field, `expected an array of positive integers, got ${show(chunkShape)}`);
  if (chunkShape.length !== shape.length)
    fail(field, `expected ${shape.length} entries (one per axis of shape [${shape.join(", ")}]), got ${chunkShape.length}`);
  chunkShape.forEach((c, k) => {
    if (typeof c !== "number" || !Number.isSafeInteger(c) || c < 1) fail(field, `expected positive integers, got ${show(c)} on axis ${k}`);
  });
  const dims = shape as number[];
  const chunks = chunkShape as number[];
  let blocks = 1;
  let chunkItems = 1;
  let size = 1;
  dims.forEach((n, k) => {
    blocks *= n === 0 ? 1 : Math.ceil(n / chunks[k]!);
    // a chunk is decoded whole, even where it overhangs its axis
    chunkItems *= chunks[k]!;
    size *= n;
  });
  if (!Number.isSafeInteger(size)) fail("shape", `[${dims.join(", ")}] holds more than 2^53 elements`);
  if (blocks > MAX_BLOCKS)
    fail(field, `shape [${dims.join(", ")}] in chunks [${chunks.join(", ")}] makes ${blocks} chunks, more than the ${MAX_BLOCKS} zask indexes`);
  if (chunkItems * itemsize > MAX_CHUNK_BYTES)
    fail(field, `a chunk of [${chunks.join(", ")}] holds ${chunkItems * itemsize} bytes, more than ${MAX_CHUNK_BYTES}`);
  return { shape: [...dims], chunkShape: [...chunks] };
}

function checkV2(m: Record<string, unknown>, fail: (field: string, reason: string) => never): number {
  if (m["zarr_format"] !== 2) fail("zarr_format", `expected 2, got ${show(m["zarr_format"])}`);
  const dtype = m["dtype"];
  const match = typeof dtype === "string" ? V2_DTYPE.exec(dtype) : null;
  if (match === null) return fail("dtype", `expected a boolean, integer, float or string dtype such as "<f4", got ${show(dtype)}`);
  const code = match[2]!;
  if (m["order"] !== "C" && m["order"] !== "F") fail("order", `expected "C" or "F", got ${show(m["order"])}`);
  const compressor = m["compressor"];
  if (compressor !== null && compressor !== undefined) checkV2Codec("compressor", compressor, fail);
  const filters = m["filters"];
  if (filters !== null && filters !== undefined) {
    if (!Array.isArray(filters)) fail("filters", `expected null or an array of codecs, got ${show(filters)}`);
    for (const f of filters as unknown[]) checkV2Codec("filters", f, fail);
  }
  if (code === "O" && !(Array.isArray(filters) && filters.some((f) => (f as { id?: unknown }).id === "vlen-utf8"))) {
    fail("filters", `an object array ("${dtype as string}") needs the vlen-utf8 filter, got ${show(filters)}`);
  }
  const sep = m["dimension_separator"];
  if (sep !== undefined && sep !== null && sep !== "." && sep !== "/") fail("dimension_separator", `expected "." or "/", got ${show(sep)}`);
  checkFill(m["fill_value"], fail);
  if (code === "O") return 8;
  if (code === "b1") return 1;
  const n = Number(code.slice(1));
  return code.startsWith("U") ? 4 * n : n;
}

function checkV2Codec(field: string, c: unknown, fail: (field: string, reason: string) => never): void {
  const id = (c as { id?: unknown } | null)?.id;
  if (typeof id !== "string") fail(field, `expected a codec object with an "id", got ${show(c)}`);
  // zarrita rewrites this filter into v3 codecs of its own rather than looking it up
  if (field === "filters" && (id === "fixedscaleoffset" || id === "numcodecs.fixedscaleoffset")) return;
  if (!registry.has(`numcodecs.${id as string}`)) fail(field, `unknown codec "${id as string}"`);
}

function checkV3(m: Record<string, unknown>, fail: (field: string, reason: string) => never): number {
  if (m["zarr_format"] !== 3) fail("zarr_format", `expected 3, got ${show(m["zarr_format"])}`);
  const dt = m["data_type"];
  const size = typeof dt === "string" ? V3_SIZES[dt] : undefined;
  if (size === undefined) return fail("data_type", `expected a boolean, integer, float or string data type, got ${show(dt)}`);
  const codecs = m["codecs"];
  if (!Array.isArray(codecs) || codecs.length === 0) fail("codecs", `expected a non-empty array of codecs, got ${show(codecs)}`);
  const walk = (list: unknown[]): void => {
    for (const c of list) {
      const name = (c as { name?: unknown } | null)?.name;
      if (typeof name !== "string") fail("codecs", `expected a codec object with a "name", got ${show(c)}`);
      // zarrita implements sharding itself, outside its codec registry
      if (name !== "sharding_indexed" && !registry.has(name as string)) fail("codecs", `unknown codec "${name as string}"`);
      const inner = (c as { configuration?: { codecs?: unknown; index_codecs?: unknown } }).configuration;
      if (Array.isArray(inner?.codecs)) walk(inner.codecs);
      if (Array.isArray(inner?.index_codecs)) walk(inner.index_codecs);
    }
  };
  walk(codecs as unknown[]);
  checkFill(m["fill_value"], fail);
  return size;
}

function checkFill(v: unknown, fail: (field: string, reason: string) => never): void {
  if (v === null || v === undefined || typeof v === "boolean" || typeof v === "string") return;
  if (typeof v === "number" && !Number.isNaN(v)) return;
  fail("fill_value", `expected a number, a boolean, a string or null, got ${show(v)}`);
}

// A fill_value written as an integer of 16 digits or more, which JSON.parse may round.
const LONG_INTEGER_FILL = /"fill_value"(\s*):(\s*)(-?\d{16,})(?![\d.eE])/g;

/**
 * Metadata document bytes (`.zarray`, `zarr.json`, `.zmetadata`) with the fill value of every
 * int64 and uint64 array kept exact: written as a long integer, it would reach zarrita through
 * JSON.parse rounded to a float64 (2^63 - 1 read as 2^63, then wrapped to -2^63), so it is
 * rewritten as the decimal string zarrita's BigInt() reads exactly. Documents without such a
 * fill value come back unchanged.
 *
 * @example
 * ```ts
 * exactIntegerFills(enc('{"dtype": "<i8", "fill_value": 9223372036854775807}')); // fill_value "9223372036854775807"
 * ```
 */
export function exactIntegerFills(bytes: Uint8Array): Uint8Array {
  const text = new TextDecoder().decode(bytes);
  LONG_INTEGER_FILL.lastIndex = 0;
  if (!LONG_INTEGER_FILL.test(text)) return bytes;
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(LONG_INTEGER_FILL, '"fill_value"$1:$2"$3"'));
  } catch {
    // not JSON: left for the metadata check to name
    return bytes;
  }
  // each object and array once, without recursion: a document may nest deeply
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== "object" || node === null) continue;
    if (!Array.isArray(node)) {
      const o = node as Record<string, unknown>;
      const fill = o["fill_value"];
      if (typeof fill === "string" && /^-?\d{16,}$/.test(fill)) {
        const dtype = String(o["dtype"] ?? o["data_type"] ?? "");
        // only 64-bit integers keep it as a string; any other type keeps the number JSON.parse gives
        if (!/^(int64|uint64|[<>|=]?[iu]8)$/.test(dtype)) o["fill_value"] = Number(fill);
      }
    }
    for (const v of Object.values(node)) stack.push(v);
  }
  return new TextEncoder().encode(JSON.stringify(doc));
}
