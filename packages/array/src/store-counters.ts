/**
 * What a store has served since it was opened: every read (metadata and chunks) counts as
 * one request; `bytes` are the bytes transferred (compressed), `chunkBytes` the
 * uncompressed size of the chunks requested, which `plan()` predicts.
 *
 * @example
 * ```ts
 * const before = { ...store.counters };
 * await x.slice(0).compute();
 * store.counters.chunkRequests - before.chunkRequests; // === x.slice(0).plan().requests
 * ```
 */
export interface StoreCounters {
  /** Reads of any key (metadata or chunk), including those that found nothing. */
  requests: number;
  /** Bytes received. */
  bytes: number;
  /** Reads of chunk keys. */
  chunkRequests: number;
  /** Uncompressed bytes of the chunks read (missing chunks included: they decode to fill values). */
  chunkBytes: number;
  /** Chunk reads that found no chunk (served as the fill value). */
  missingChunks: number;
  /** Chunk reads answered by a chunk cache instead of the store. */
  cacheHits: number;
}

/** Fresh zeroed counters. */
export function newCounters(): StoreCounters {
  return { requests: 0, bytes: 0, chunkRequests: 0, chunkBytes: 0, missingChunks: 0, cacheHits: 0 };
}
