import { ZaskError } from "@zask/graph";
// The light entry point: worker threads load these errors without the whole scheduler.
import { registerErrorClass } from "@zask/scheduler/error-transfer";

/**
 * A chunk could not be read from its store (an HTTP status not read as missing, access denied, an I/O error).
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
    // The cause says what went wrong (a refused connection, a body past its limit): keep it in the message.
    const why = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`Could not read chunk ${url}${status === undefined ? "" : ` (HTTP ${status})`}${why}`, options);
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

/**
 * A zarr array's metadata document (`.zarray` or `zarr.json`) that zask will not trust: a
 * negative or non-integer shape, a chunk grid of the wrong rank or with a zero, a codec or
 * data type no reader here knows, or a grid too large to index. Raised when the array is
 * opened, before anything is sized from the metadata.
 *
 * @example
 * ```ts
 * await fromZarr("./bad.zarr").catch((e) => e.name === "ZarrMetadataError" && [e.url, e.field]);
 * ```
 */
export class ZarrMetadataError extends ZaskError {
  override name = "ZarrMetadataError" as const;
  /** The URL or file path of the array (its directory in the store). */
  readonly url: string;
  /** The array's path inside the store (`/X`; `/` for a store that is the array). */
  readonly path: string;
  /** The metadata field that is wrong (`shape`, `chunks`, `compressor`, `dtype`, …). */
  readonly field: string;
  /** What is wrong with it. */
  readonly reason: string;
  constructor(url: string, path: string, field: string, reason: string, options?: { cause?: unknown }) {
    super(`${url} (array ${path}): invalid zarr metadata \`${field}\`: ${reason}`, options);
    this.url = url;
    this.path = path;
    this.field = field;
    this.reason = reason;
  }
}

/**
 * A chunk's bytes that do not decode to the chunk its metadata promises: a codec refused them
 * (truncated, corrupt), or they decoded to a number of values other than the chunk shape's.
 * No block is ever returned whose data length disagrees with its shape.
 *
 * @example
 * ```ts
 * try { await x.compute(); } catch (e) { if (e instanceof Error && e.cause instanceof ChunkDecodeError) console.log(e.cause.url, e.cause.chunkKey); }
 * ```
 */
export class ChunkDecodeError extends ZaskError {
  override name = "ChunkDecodeError" as const;
  /** The URL or file path of the chunk. */
  readonly url: string;
  /** The array's path inside the store. */
  readonly path: string;
  /** The chunk's key relative to the array (`0.3`, `c/0/3`). */
  readonly chunkKey: string;
  /** What was wrong. */
  readonly reason: string;
  constructor(url: string, path: string, chunkKey: string, reason: string, options?: { cause?: unknown }) {
    super(`Could not decode chunk ${url} (array ${path}, chunk ${chunkKey}): ${reason}`, options);
    this.url = url;
    this.path = path;
    this.chunkKey = chunkKey;
    this.reason = reason;
  }
}

/**
 * A shard's index of a sharded zarr v3 array cannot be trusted: its crc32c does not match, an
 * entry points outside the shard's data, a length is absurd, or the index is short. Names the
 * shard's URL or path and, for a bad entry, the inner chunk (its block index in the array).
 *
 * @example
 * ```ts
 * try { await x.compute(); } catch (e) { if (e instanceof Error && e.cause instanceof ShardIndexError) console.log(e.cause.shard, e.cause.chunk); }
 * ```
 */
export class ShardIndexError extends ZaskError {
  override name = "ShardIndexError" as const;
  /** The shard's URL or file path. */
  readonly shard: string;
  /** The inner chunk's block index in the array, when one entry is at fault. */
  readonly chunk: readonly number[] | undefined;
  constructor(shard: string, chunk: readonly number[] | undefined, message: string, options?: { cause?: unknown }) {
    super(`Bad shard index of ${shard}${chunk === undefined ? "" : ` (inner chunk [${chunk.join(", ")}])`}: ${message}`, options);
    this.shard = shard;
    this.chunk = chunk;
  }
}

/**
 * A compressed sparse matrix is malformed: its `indptr` (checked whole when the lazy matrix is
 * made), or, where a block reads it, a stored index outside the minor axis or fewer stored
 * values than `indptr` promises.
 *
 * @example
 * ```ts
 * await X.sum().compute().catch((e: { cause?: Error }) => e.cause?.name === "SparseStructureError" && e.cause.message);
 * ```
 */
export class SparseStructureError extends ZaskError {
  override name = "SparseStructureError" as const;
  /** The matrix's path inside its store (`/X`). */
  readonly path: string;
  /** The matrix's URL or file path, when known. */
  readonly url: string | undefined;
  /** Position of the offending stored value (over the whole `indices`/`data`), or of the offending `indptr` entry. */
  readonly position: number;
  constructor(path: string, url: string | undefined, position: number, detail: string, options?: { cause?: unknown }) {
    super(`Malformed sparse matrix ${path}${url === undefined ? "" : ` (${url})`}: ${detail}`, options);
    this.path = path;
    this.url = url;
    this.position = position;
  }
}

/**
 * A block computed for an array has another shape than the array's chunks give it (a
 * `mapBlocks` function that returned the wrong shape, a store that decoded wrongly): the array
 * is not assembled, so no result disagrees with its shape. The scheduler wraps it in its
 * `TaskError` (with the assembling task's key) as the `cause`.
 *
 * @example
 * ```ts
 * try { await x.compute(); } catch (e) { if (e instanceof Error && e.cause instanceof BlockShapeError) console.log(e.cause.key, e.cause.expected); }
 * ```
 */
export class BlockShapeError extends ZaskError {
  override name = "BlockShapeError" as const;
  /** The block's task key. */
  readonly key: string;
  /** The shape the block has. */
  readonly shape: readonly number[];
  /** The shape the array's chunks give it. */
  readonly expected: readonly number[];
  constructor(key: string, shape: readonly number[], expected: readonly number[], options?: { cause?: unknown }) {
    super(`Block ${key} has shape [${shape.join(", ")}], expected [${expected.join(", ")}] from the array's chunks`, options);
    this.key = key;
    this.shape = [...shape];
    this.expected = [...expected];
  }
}

// Rebuilt with their class when thrown on a worker thread or another process.
registerErrorClass("ChunkFetchError", ChunkFetchError);
registerErrorClass("ZarrArrayError", ZarrArrayError);
registerErrorClass("ZarrMetadataError", ZarrMetadataError);
registerErrorClass("ChunkDecodeError", ChunkDecodeError);
registerErrorClass("ShardIndexError", ShardIndexError);
registerErrorClass("SparseStructureError", SparseStructureError);
registerErrorClass("BlockShapeError", BlockShapeError);
