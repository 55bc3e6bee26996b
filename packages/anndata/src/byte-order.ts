import type * as zarr from "zarrita";

type ZArray = zarr.Array<zarr.DataType, zarr.Readable>;

/** Byte order of stored numbers: numpy's `<` (little endian) or `>` (big endian). */
export type ByteOrder = "<" | ">";

// Values read from a store (an eager array's data, a lazy array) -> the zarr array they came
// from, so a writer can keep the stored byte order without every read paying to look it up.
const sources = new WeakMap<object, ZArray>();

/** Remember that `value` was read from `arr`. */
export function rememberSource(value: object, arr: ZArray): void {
  sources.set(value, arr);
}

/**
 * The byte order `value`'s source array is stored in, when `value` was read from a store and
 * that order is big endian; otherwise `undefined` (write little endian, as zarr-python does for
 * new arrays). Reads the source's metadata document, which a consolidated store answers at once.
 */
export async function sourceByteOrder(value: unknown): Promise<ByteOrder | undefined> {
  if (typeof value !== "object" || value === null) return undefined;
  const arr = sources.get(value);
  if (arr === undefined) return undefined;
  const prefix = arr.path === "/" ? "" : arr.path;
  const store = arr.store as zarr.AsyncReadable;
  try {
    const v2 = await store.get(`${prefix}/.zarray` as zarr.AbsolutePath);
    if (v2 !== undefined) {
      const dtype = (JSON.parse(new TextDecoder().decode(v2)) as { dtype?: unknown }).dtype;
      return typeof dtype === "string" && dtype.startsWith(">") ? ">" : undefined;
    }
    const v3 = await store.get(`${prefix}/zarr.json` as zarr.AbsolutePath);
    if (v3 === undefined) return undefined;
    const codecs = (JSON.parse(new TextDecoder().decode(v3)) as { codecs?: { name?: string; configuration?: { endian?: string } }[] }).codecs;
    return codecs?.some((c) => c.name === "bytes" && c.configuration?.endian === "big") ? ">" : undefined;
  } catch {
    // The source's metadata was read once already; if it cannot be read again, write the default.
    return undefined;
  }
}

export { swapBytes } from "@zask/array";
