const CHUNK_BASE = 256 * 1024;
const CHUNK_MIN = 128 * 1024;
const CHUNK_MAX = 64 * 1024 * 1024;

/**
 * zarr-python 2's default chunk shape (`zarr.util.guess_chunks`), so that arrays written without
 * explicit chunks are chunked as anndata 0.8 would chunk them: halve the axes in turn until a
 * chunk is near a target that grows with the array's size (128 KiB to 64 MiB).
 *
 * @example
 * ```ts
 * guessChunks([2638, 50], 4); // [1319, 50]
 * ```
 */
export function guessChunks(shape: readonly number[], typesize: number): number[] {
  const chunks = shape.map((n) => Math.max(n, 1));
  if (chunks.length === 0) return [];
  const prod = () => chunks.reduce((a, b) => a * b, 1);
  const datasetBytes = prod() * typesize;
  let target = CHUNK_BASE * 2 ** Math.log10(datasetBytes / (1024 * 1024));
  target = Math.min(CHUNK_MAX, Math.max(CHUNK_MIN, target));
  for (let idx = 0; ; idx++) {
    const bytes = prod() * typesize;
    if ((bytes < target || Math.abs(bytes - target) / target < 0.5) && bytes < CHUNK_MAX) break;
    if (prod() === 1) break;
    const axis = idx % chunks.length;
    chunks[axis] = Math.ceil(chunks[axis]! / 2);
  }
  return chunks;
}
