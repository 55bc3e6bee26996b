/** Public API of zask (the command line's library side). */
export { serve } from "./serve.js";
export type { ServeOptions, FileServer } from "./serve.js";
export { RequestCounter } from "./request-counter.js";
export type { RequestEvent, RequestTally } from "./request-counter.js";
export { formatLogLine, parseLogLine } from "./request-log.js";
export type { LoggedRequest } from "./request-log.js";
export { parseRange } from "./byte-range.js";
export type { ByteRange } from "./byte-range.js";
export { ServeDirectoryError, ListenError } from "./errors.js";
export { measureRequests } from "./measure-requests.js";
export type { MeasuredRequests } from "./measure-requests.js";
export { formatTable } from "./format-table.js";
export type { Column } from "./format-table.js";
export { demo } from "./demo.js";
export type { DemoOptions, DemoRow } from "./demo.js";
export { pbmcLike, DEMO_GENE, GENES_ABOVE_1000 } from "./pbmc-like.js";
export type { PbmcLikeOptions } from "./pbmc-like.js";
