import { ZaskError } from "@zask/graph";

/**
 * A chunk could not be read from its store (an HTTP status other than 404/403, an I/O error).
 * The scheduler wraps it in its `TaskError` (with the task key) as the `cause`.
 *
 * @example
 * ```ts
 * try { await x.compute(); } catch (e) { if (e instanceof Error && e.cause instanceof ChunkFetchError) console.log(e.cause.url, e.cause.status); }
 * ```
 */
export class ChunkFetchError extends ZaskError {
  override name = "ChunkFetchError" as const;
  /** The URL or file path of the chunk. */
  readonly url: string;
  /** The HTTP status, when there was a response. */
  readonly status: number | undefined;
  constructor(url: string, status: number | undefined, options?: { cause?: unknown }) {
    super(`Could not read chunk ${url}${status === undefined ? "" : ` (HTTP ${status})`}`, options);
    this.url = url;
    this.status = status;
  }
}

/**
 * A zarr node is missing or is not an array zask can read (unknown dtype, sharding, …), or
 * `toZarr` would overwrite an array without `overwrite: true`.
 *
 * @example
 * ```ts
 * await fromZarr("./nothing.zarr").catch((e) => e.name === "ZarrArrayError" && e.location);
 * ```
 */
export class ZarrArrayError extends ZaskError {
  override name = "ZarrArrayError" as const;
  /** Where the array was looked for. */
  readonly location: string;
  constructor(location: string, message: string, options?: { cause?: unknown }) {
    super(`${location}: ${message}`, options);
    this.location = location;
  }
}
