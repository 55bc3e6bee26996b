import { crc32c } from "./crc32c.js";

/**
 * One shard of a sharded zarr v3 array (`sharding_indexed` with index codecs `bytes`
 * little-endian + `crc32c`, as zarr-python writes it): the encoded inner chunks one after
 * another in row-major order, and the index of (offset, length) per inner chunk, 2^64−1 twice
 * for a chunk left out (`null`: the fill value), followed by its crc32c; the index at the end
 * (zarr-python's default) or the start.
 *
 * @example
 * ```ts
 * const shard = encodeShard([chunk0, null, chunk2]); // 3 inner chunks, the second empty
 * ```
 */
export function encodeShard(chunks: readonly (Uint8Array | null)[], indexLocation: "start" | "end" = "end"): Uint8Array {
  const indexSize = 16 * chunks.length + 4;
  let data = 0;
  for (const c of chunks) if (c !== null) data += c.byteLength;
  const out = new Uint8Array(data + indexSize);
  const index = new DataView(out.buffer, indexLocation === "start" ? 0 : data, indexSize);
  let at = indexLocation === "start" ? indexSize : 0;
  chunks.forEach((c, i) => {
    if (c === null) {
      index.setBigUint64(16 * i, 0xffff_ffff_ffff_ffffn, true);
      index.setBigUint64(16 * i + 8, 0xffff_ffff_ffff_ffffn, true);
      return;
    }
    out.set(c, at);
    index.setBigUint64(16 * i, BigInt(at), true);
    index.setBigUint64(16 * i + 8, BigInt(c.byteLength), true);
    at += c.byteLength;
  });
  const entries = new Uint8Array(out.buffer, index.byteOffset, 16 * chunks.length);
  index.setUint32(16 * chunks.length, crc32c(entries) >>> 0, true);
  return out;
}
