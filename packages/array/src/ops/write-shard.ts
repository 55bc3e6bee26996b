// Writing sharded zarr v3: one task per shard encodes its inner chunks and the shard on a worker.
import { allocate, type NDArray } from "../dtype.js";
import { encodeShard } from "../shard-encode.js";
import { cStrides, copyIndexed } from "./copy-indexed.js";
import { encodeChunk, type CompressorConfig } from "./write.js";

/**
 * cpu op: one shard of a sharded zarr v3 array from its block (the shard cut to the array's
 * bounds): each inner chunk padded to `innerShape` with `fill`, encoded (little-endian bytes,
 * then `compressor`), laid out row-major with the index and its crc32c at the end. An inner
 * chunk wholly outside the array, or whose values are all a fill value of 0 (zarr-python's
 * `write_empty_chunks=False`), is left out (an empty index entry).
 */
export async function encodeShardBlock(
  block: NDArray,
  shardShape: readonly number[],
  innerShape: readonly number[],
  fill: number | boolean | null,
  compressor: CompressorConfig | null,
  bigEndian = false,
): Promise<Uint8Array> {
  const per = shardShape.map((s, k) => s / innerShape[k]!);
  const total = per.reduce((a, b) => a * b, 1);
  const strides = cStrides(block.shape);
  const chunks: (Uint8Array | null)[] = [];
  const at = new Array<number>(per.length).fill(0);
  for (let e = 0; e < total; e++) {
    const origin = at.map((c, k) => c * innerShape[k]!);
    if (origin.some((o, k) => o >= block.shape[k]!)) chunks.push(null);
    else {
      const count = origin.map((o, k) => Math.min(innerShape[k]!, block.shape[k]! - o));
      const n = count.reduce((a, b) => a * b, 1);
      const part = allocate(block.dtype, n);
      const base = origin.reduce((a, o, k) => a + o * strides[k]!, 0);
      copyIndexed(block.data, strides, [], part, cStrides(count), [], count, base, 0);
      const sub: NDArray = { data: part, shape: count, dtype: block.dtype };
      chunks.push(fill === 0 && allZero(part as ArrayBufferView) ? null : await encodeChunk(sub, innerShape, fill, compressor, bigEndian));
    }
    for (let k = per.length - 1; k >= 0; k--) {
      if (++at[k]! < per[k]!) break;
      at[k] = 0;
    }
  }
  return encodeShard(chunks, "end");
}

function allZero(v: ArrayBufferView): boolean {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
