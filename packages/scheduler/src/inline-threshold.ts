/**
 * A cpu op whose inputs hold fewer bytes than this runs inline on the main thread rather than
 * on the pool (unless it has proved slow, see `SLOW_OP_MS`): below it, posting the message and
 * getting the result back costs more than a light kernel's work.
 *
 * Measured by `benchmarks/scheduler-inline-threshold.ts` (64 blocks of `a * 2 + 1` then a sum,
 * all inline vs all on the pool): on the 2-core AMD EPYC of this project, loaded by other jobs
 * (load average 3.5), the pool cost 5x inline at 1 KiB, 2.9x at 64 KiB, 1.07x at 256 KiB and
 * 0.92x at 1 MiB; one message's round trip was ~220 µs. The crossover is between 256 KiB and
 * 1 MiB, so 256 KiB. Override per compute with `inlineThreshold` (0 sends every cpu op to the
 * pool, `Infinity` none).
 */
export const DEFAULT_INLINE_THRESHOLD = 256 * 1024;
