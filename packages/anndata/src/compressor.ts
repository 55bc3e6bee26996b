import { encodeBloscLz4 } from "@zask/array";
import { gzipSync, zlibSync } from "fflate";

/**
 * How chunks are compressed on write, in numcodecs' terms. `null` writes raw chunks.
 * @default { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1 } (zarr-python's and so anndata's default)
 */
export type Compressor =
  | { readonly id: "blosc"; readonly cname?: "lz4" | "lz4hc" | "zstd" | "zlib" | "blosclz"; readonly clevel?: number; readonly shuffle?: 0 | 1 | 2 }
  | { readonly id: "zlib"; readonly level?: number }
  | { readonly id: "gzip"; readonly level?: number };

/** The default compressor: blosc with lz4, level 5, byte shuffle. */
export const defaultCompressor: Compressor = { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1 };

type Level = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

function checkLevel(level: number, max: number): number {
  if (!Number.isInteger(level) || level < 0 || level > max) {
    throw new RangeError(`Expected a compression level from 0 to ${max}, got \`${level}\``);
  }
  return level;
}

/** Validate `c` and fill its defaults; the result is what the v2 `.zarray` records. */
export function normalizeCompressor(c: Compressor | null | undefined): Compressor | null {
  if (c === null) return null;
  if (c === undefined) return defaultCompressor;
  switch (c.id) {
    case "blosc":
      return { id: "blosc", cname: c.cname ?? "lz4", clevel: checkLevel(c.clevel ?? 5, 9), shuffle: c.shuffle ?? 1 };
    case "zlib":
    case "gzip":
      // numcodecs' Zlib() and GZip() default to level 1, as toZarr does
      return { id: c.id, level: checkLevel(c.level ?? 1, 9) };
    default:
      throw new RangeError(`Expected \`compressor.id\` to be "blosc", "zlib" or "gzip", got \`${String((c as { id?: unknown }).id)}\``);
  }
}

/** The `.zarray` form of a compressor (with blosc's blocksize, as zarr-python writes it). */
export function v2CompressorMeta(c: Compressor | null): Record<string, unknown> | null {
  if (c === null) return null;
  return c.id === "blosc" ? { blocksize: 0, clevel: c.clevel, cname: c.cname, id: "blosc", shuffle: c.shuffle } : { id: c.id, level: c.level };
}

/** The zarr v3 codec entry of a compressor. */
export function v3CodecMeta(c: Compressor | null, typesize: number): Record<string, unknown> | null {
  if (c === null) return null;
  if (c.id === "blosc") {
    const shuffle = ["noshuffle", "shuffle", "bitshuffle"][c.shuffle ?? 1];
    return { name: "blosc", configuration: { cname: c.cname, clevel: c.clevel, shuffle, typesize: Math.max(typesize, 1), blocksize: 0 } };
  }
  return { name: c.id, configuration: { level: c.level } };
}

type BloscCodec = { encode(b: Uint8Array): Promise<Uint8Array> };
const bloscCodecs = new Map<string, Promise<BloscCodec>>();

function bloscCodec(c: Extract<Compressor, { id: "blosc" }>): Promise<BloscCodec> {
  const key = `${c.cname}/${c.clevel}/${c.shuffle}`;
  let codec = bloscCodecs.get(key);
  if (codec === undefined) {
    codec = import("numcodecs/blosc").then((m) => {
      const Blosc = m.default as unknown as { fromConfig(cfg: object): BloscCodec };
      return Blosc.fromConfig({ cname: c.cname, clevel: c.clevel, shuffle: c.shuffle, blocksize: 0 });
    });
    bloscCodecs.set(key, codec);
  }
  return codec;
}

/** Compress one chunk's bytes, of items of `typesize` bytes (what blosc's shuffle goes by). */
export async function compress(c: Compressor | null, bytes: Uint8Array, typesize = 1): Promise<Uint8Array> {
  if (c === null) return bytes;
  if (c.id === "zlib") return zlibSync(bytes, { level: c.level as Level });
  if (c.id === "gzip") return gzipSync(bytes, { level: c.level as Level });
  const shuffle = c.shuffle ?? 1;
  if ((c.cname ?? "lz4") === "lz4" && (shuffle === 0 || shuffle === 1)) {
    const chunk = encodeBloscLz4(bytes, { clevel: c.clevel ?? 5, shuffle, typesize, blocksize: 0 });
    if (chunk !== null) return chunk;
  }
  return (await bloscCodec(c)).encode(bytes);
}
