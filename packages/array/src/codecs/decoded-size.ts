// The most bytes a bytes-to-bytes codec may produce for one chunk, from the chunk's metadata.
import { MAX_CHUNK_BYTES } from "../zarr-metadata.js";

const SIZES: Readonly<Record<string, number>> = {
  bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8,
  float16: 2, float32: 4, float64: 8,
};

/** What zarrita hands a codec's `fromConfig` about the chunk it decodes. */
export interface CodecChunkMeta {
  readonly shape?: readonly number[];
  readonly data_type?: string;
}

/**
 * The decoded size of one chunk of fixed-size values (shape × item size), or
 * {@link MAX_CHUNK_BYTES} when the values have no fixed size (strings): a decompressor stops
 * there, so a hostile chunk cannot make it allocate without bound.
 */
export function maxDecodedBytes(meta: CodecChunkMeta | undefined): number {
  const item = meta?.data_type === undefined ? undefined : SIZES[meta.data_type];
  if (item === undefined || meta?.shape === undefined) return MAX_CHUNK_BYTES;
  return Math.min(meta.shape.reduce((a, b) => a * b, 1) * item, MAX_CHUNK_BYTES);
}
