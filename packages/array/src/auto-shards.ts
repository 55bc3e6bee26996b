/** zarr-python's target for an inner chunk when it picks chunks for a sharded array. */
export const AUTO_CHUNK_BYTES = 2 ** 20;
/** anndata 0.13's target for a shard when it shards automatically (uncompressed). */
export const AUTO_SHARD_BYTES = 2 ** 30;

/**
 * Chunks for an array of `shape` and `itemsize`, by zarr-python's heuristic (h5py's): halve
 * the axes in turn, starting with the first, until a chunk is near a target that grows with
 * the array's size, and under `maxBytes`.
 */
export function guessChunks(shape: readonly number[], itemsize: number, maxBytes = 64 * 2 ** 20): number[] {
  if (itemsize === 0) return [...shape];
  const chunks = shape.map((n) => Math.max(n, 1));
  const size = chunks.reduce((a, b) => a * b, 1) * itemsize;
  const target = Math.min(maxBytes, Math.max(128 * 1024, 256 * 1024 * 2 ** Math.log10(size / 2 ** 20)));
  for (let idx = 0; ; idx++) {
    const elements = chunks.reduce((a, b) => a * b, 1);
    const bytes = elements * itemsize;
    if ((bytes < target || Math.abs(bytes - target) / target < 0.5) && bytes < maxBytes) break;
    if (elements === 1) break;
    const k = idx % chunks.length;
    chunks[k] = Math.ceil(chunks[k]! / 2);
  }
  return chunks;
}

/**
 * The shard shape anndata 0.13 writes with `auto_shard_zarr_v3` (zarr-python's `shards="auto"`
 * with a 1 GiB target): the inner chunk shape times the largest `n` such that n^ndim inner
 * chunks fit in `maxBytes` and no axis of the shard exceeds the array's.
 *
 * @example
 * ```ts
 * autoShards([2638, 1838], [2638, 5], 4); // [2638, 5]: a shard cannot grow past axis 0
 * autoShards([100000, 2000], [1000, 100], 4); // [20000, 2000]
 * ```
 */
export function autoShards(shape: readonly number[], chunks: readonly number[], itemsize: number, maxBytes = AUTO_SHARD_BYTES): number[] {
  const chunkBytes = chunks.reduce((a, b) => a * b, 1) * Math.max(itemsize, 1);
  let n = 1;
  if (maxBytes >= chunkBytes) {
    while (chunkBytes * (n + 1) ** chunks.length <= maxBytes && chunks.every((c, k) => c * (n + 1) <= shape[k]!)) n++;
  }
  return chunks.map((c) => c * n);
}
