import { fixedItemsize } from "./dtype.js";

/**
 * The largest encoded size of the chunks of each array of a store, learnt from the array
 * metadata documents (`.zarray`, `zarr.json`) read through it: a fixed itemsize times the chunk's
 * elements plus a compressor's worst expansion, when the codecs only compress (filters and
 * variable-length types have no such bound). A body past it is not a chunk of that array.
 */
export class ChunkBounds {
  /** Array prefixes (`X/`, `` for a root array) to their bound (`undefined`: none). */
  readonly #bounds = new Map<string, number | undefined>();

  /**
   * Learn from the metadata document `key` the largest encoded size of its array's chunks:
   * known for a fixed itemsize and codecs that only compress, `undefined` otherwise.
   */
  learn(key: string, bytes: Uint8Array): void {
    if (!/(^|\/)(\.zarray|zarr\.json)$/.test(key)) return;
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    } catch {
      return; // zarrita reports malformed metadata
    }
    const prefix = key.replace(/^\/+/, "").replace(/(\.zarray|zarr\.json)$/, "");
    let itemsize: number | undefined;
    let shape: unknown;
    let plain = false;
    if (key.endsWith(".zarray")) {
      const m = typeof doc["dtype"] === "string" ? /^[<>|=]?([biufcmMSU])(\d+)/.exec(doc["dtype"]) : null;
      if (m !== null) itemsize = Number(m[2]) * (m[1] === "U" ? 4 : 1);
      shape = doc["chunks"];
      const filters = doc["filters"];
      plain = filters == null || (Array.isArray(filters) && filters.length === 0);
    } else if (doc["node_type"] === "array") {
      itemsize = typeof doc["data_type"] === "string" ? fixedItemsize(doc["data_type"]) : undefined;
      shape = (doc["chunk_grid"] as { configuration?: { chunk_shape?: unknown } } | undefined)?.configuration?.chunk_shape;
      const codecs = Array.isArray(doc["codecs"]) ? (doc["codecs"] as { name?: unknown }[]) : [];
      plain = codecs.every((c) => typeof c.name === "string" && SIZE_KEEPING_CODECS.has(c.name));
    } else {
      return;
    }
    let n = itemsize ?? NaN;
    if (Array.isArray(shape)) for (const c of shape) n *= typeof c === "number" && Number.isSafeInteger(c) && c >= 0 ? c : NaN;
    this.#bounds.set(prefix, plain && Number.isSafeInteger(n) ? encodedBound(n) : undefined);
  }

  /** The bound learnt for the array that chunk `key` belongs to (`undefined`: none known). */
  of(key: string): number | undefined {
    const rel = key.replace(/^\/+/, "");
    // the longest learnt prefix is one of the key's own directories, deepest first, or the
    // root: a lookup per level, whatever the number of arrays the store holds
    for (let end = rel.lastIndexOf("/"); end >= 0; end = end > 0 ? rel.lastIndexOf("/", end - 1) : -1) {
      const prefix = rel.slice(0, end + 1);
      if (this.#bounds.has(prefix)) return this.#bounds.get(prefix);
    }
    return this.#bounds.get("");
  }
}

/** Whether `key` is a zarr metadata document. */
export function isMetadataKey(key: string): boolean {
  return METADATA_KEY.test(key);
}

const METADATA_KEY = /(^|\/)(\.zarray|\.zgroup|\.zattrs|\.zmetadata|zarr\.json)$/;

/** v3 codecs after which a chunk is at most its decoded size plus a compressor's expansion. */
const SIZE_KEEPING_CODECS = new Set(["bytes", "transpose", "blosc", "gzip", "zstd", "crc32c"]);

/**
 * The largest encoded size of a chunk of `bytes` decoded bytes: the worst case of the
 * compressors zarr uses (zlib's deflateBound is the largest, about 1/8 + 1/64 over), plus room
 * for headers and checksums.
 */
export function encodedBound(bytes: number): number {
  return bytes + Math.ceil(bytes / 8) + Math.ceil(bytes / 64) + 65_536;
}
