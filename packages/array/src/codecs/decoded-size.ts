// What one chunk's bytes decode to, from the chunk's metadata: the bound every decompressor
// respects, and the exact size a decompressor's output must have.
import { fixedItemsize } from "../dtype.js";
import { MAX_CHUNK_BYTES } from "../zarr-metadata.js";

/** What zarrita hands a codec's `fromConfig` about the chunk it decodes. */
export interface CodecChunkMeta {
  readonly shape?: readonly number[];
  readonly dataType?: string;
  readonly codecs?: readonly { readonly name?: string }[];
}

function itemBytes(dataType: string | undefined): number | undefined {
  if (dataType === undefined) return undefined;
  const fixed = fixedItemsize(dataType);
  if (fixed !== undefined) return fixed;
  const m = /^v2:([US])(\d+)$/.exec(dataType);
  return m === null ? undefined : (m[1] === "U" ? 4 : 1) * Number(m[2]);
}

/**
 * The bytes of one whole chunk of fixed-size values (shape × item size), or `undefined` when
 * the values have no fixed size (vlen strings) or the metadata does not say.
 */
export function exactDecodedBytes(meta: CodecChunkMeta | undefined): number | undefined {
  const item = itemBytes(meta?.dataType);
  if (item === undefined || meta?.shape === undefined) return undefined;
  return meta.shape.reduce((a, b) => a * b, 1) * item;
}

/**
 * The decoded size of one chunk of fixed-size values, or {@link MAX_CHUNK_BYTES} when the
 * values have no fixed size: a decompressor stops there, so a hostile chunk cannot make it
 * allocate without bound.
 */
export function maxDecodedBytes(meta: CodecChunkMeta | undefined): number {
  const exact = exactDecodedBytes(meta);
  // a checksum codec (crc32c) may sit inside the compressor and add its 4 bytes per level
  const slack = 4 * (meta?.codecs?.filter((c) => c.name === "crc32c").length ?? 0);
  return exact === undefined ? MAX_CHUNK_BYTES : Math.min(exact + slack, MAX_CHUNK_BYTES);
}
