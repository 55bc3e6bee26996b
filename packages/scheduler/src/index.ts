/** Public API of @zask/scheduler. */
export { compute } from "./compute.js";
export type { ComputeOptions, OptimizeOptions } from "./compute.js";
export { TaskError, HttpError, HttpAccessDeniedError, HttpTransportError } from "./errors.js";
export type { HttpFailure } from "./errors.js";
export { IoLane } from "./io-lane.js";
export { DEFAULT_MAX_BYTES } from "./io-lane.js";
export type { IoContext, IoGetOptions, IoLaneOptions, IoResponse, IoStats } from "./io-lane.js";
export { loadOp, resolveOpModule } from "./op-registry.js";
export { sizeOf } from "./size-of.js";
export { close, configurePool } from "./worker-pool.js";
export type { PoolOptions } from "./worker-pool.js";
export { Profiler } from "./profiler.js";
export type { LaneSummary } from "./profiler.js";
export { ProgressBar } from "./progress-bar.js";
export type { ProgressBarOptions } from "./progress-bar.js";
export type { Callbacks, StartInfo, TaskInfo, FinishInfo, TaskLane } from "./callbacks.js";
export { DEFAULT_INLINE_THRESHOLD } from "./inline-threshold.js";
