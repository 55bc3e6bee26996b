/**
 * A cpu op whose inputs hold fewer bytes than this runs inline on the main thread rather than
 * on the pool (unless it has proved slow, see `SLOW_OP_MS`): below it, posting the message and
 * getting the result back costs more than a light kernel's work.
 *
 * 256 KiB is where the pool stops costing more than inline on these 2-core machines, as
 * `benchmarks/scheduler-inline-threshold.ts` measures (light kernels, all inline vs all on the
 * pool). Override per compute with `inlineThreshold` (0 sends every cpu op to the pool,
 * `Infinity` none).
 */
export const DEFAULT_INLINE_THRESHOLD = 256 * 1024;
