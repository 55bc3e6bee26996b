/** A chunk specification: one size for every axis, a size per axis (`-1`/`null`: whole), or explicit sizes. */
export type ChunksSpec = number | readonly (number | null | readonly number[])[];

/** Per-axis block sizes, dask style: `[[2638], [5, 5, …, 3]]`. */
export type Chunks = readonly (readonly number[])[];

/**
 * Normalize a chunk specification against `shape` into per-axis block sizes.
 * Accepts a number (the same block size on every axis), a block size per axis (`-1` or
 * `null` for the whole axis), or explicit per-axis sizes (which must add up to the axis).
 *
 * @example
 * ```ts
 * normalizeChunks([2, -1], [5, 3]); // [[2, 2, 1], [3]]
 * ```
 */
export function normalizeChunks(chunks: ChunksSpec, shape: readonly number[]): Chunks {
  const spec = typeof chunks === "number" ? shape.map(() => chunks) : chunks;
  if (spec.length !== shape.length) {
    throw new RangeError(`Expected \`chunks\` to have ${shape.length} entries (one per axis), got ${spec.length}`);
  }
  return shape.map((n, axis) => {
    const c = spec[axis]!;
    if (Array.isArray(c)) {
      const sizes = c as readonly number[];
      const total = sizes.reduce((a, b) => a + b, 0);
      if (total !== n || sizes.some((s) => !Number.isInteger(s) || s < 0)) {
        throw new RangeError(`Expected chunks on axis ${axis} to be non-negative integers adding up to ${n}, got [${sizes.join(", ")}]`);
      }
      return [...sizes];
    }
    const size = c === null || c === -1 ? Math.max(n, 1) : (c as number);
    if (!Number.isInteger(size) || size <= 0) {
      throw new RangeError(`Expected \`chunks\` to be positive integers, got \`${String(c)}\` (${typeof c}) on axis ${axis}`);
    }
    if (n === 0) return [0];
    const out: number[] = [];
    for (let start = 0; start < n; start += size) out.push(Math.min(size, n - start));
    return out;
  });
}

/** Start offset of every block along one axis, plus the axis length at the end. */
export function blockOffsets(sizes: readonly number[]): number[] {
  const out = [0];
  for (const s of sizes) out.push(out[out.length - 1]! + s);
  return out;
}
