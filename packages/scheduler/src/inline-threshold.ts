/**
 * A cpu op whose inputs hold fewer bytes than this runs inline on the main thread rather than
 * on the pool: below it, posting the message and getting the result back costs more than the
 * work. Measured by `benchmarks/scheduler-inline-threshold.ts` (see the README's performance
 * section); override per compute with the `inlineThreshold` option (0 sends every cpu op to
 * the pool, `Infinity` none).
 */
export const DEFAULT_INLINE_THRESHOLD = 64 * 1024;
