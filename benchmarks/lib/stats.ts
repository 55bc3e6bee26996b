/** Medians and repeated timings for benchmarks. Timings are wall-clock milliseconds. */

/**
 * The median of `values` (mean of the middle two for an even count).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("Expected at least one value, got an empty list");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** What `timeRepeated` measured. */
export interface Timing<T> {
  /** Median of the runs, milliseconds. */
  medianMs: number;
  /** Each run, milliseconds, in order. */
  runsMs: number[];
  /** The value of the last run (to check it, or to keep it alive until measured). */
  value: T;
}

/**
 * Runs `fn` `repeats` times in sequence (after `warmup` untimed runs) and returns the median.
 * `between` runs after each timed run, outside the timing (e.g. to mark a server's log).
 *
 * @example
 * ```ts
 * const t = await timeRepeated(() => fetch(url).then((r) => r.arrayBuffer()), { repeats: 5 });
 * console.log(t.medianMs.toFixed(1));
 * ```
 */
export async function timeRepeated<T>(
  fn: () => T | Promise<T>,
  options: { repeats?: number; warmup?: number; between?: (run: number) => unknown } = {},
): Promise<Timing<T>> {
  const { repeats = 3, warmup = 0, between } = options;
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`Expected \`repeats\` to be a positive integer, got \`${repeats}\``);
  for (let i = 0; i < warmup; i++) await fn();
  const runsMs: number[] = [];
  let value!: T;
  for (let run = 0; run < repeats; run++) {
    const start = performance.now();
    value = await fn();
    runsMs.push(performance.now() - start);
    await between?.(run);
  }
  return { medianMs: median(runsMs), runsMs, value };
}
