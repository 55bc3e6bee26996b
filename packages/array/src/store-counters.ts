import type { AbsolutePath, AsyncReadable, GetOptions, RangeQuery } from "@zarrita/storage";

/**
 * What a store has served since it was opened. `requests` are the requests that reached the
 * storage (HTTP requests, file reads); `reads` are the reads served, metadata and chunks,
 * including those that consolidated metadata answered from memory without a request. `bytes`
 * are the bytes of the reads served (compressed), `chunkBytes` the uncompressed size of the
 * chunks requested, which `plan()` predicts.
 *
 * @example
 * ```ts
 * const before = { ...store.counters };
 * await x.slice(0).compute();
 * store.counters.chunkRequests - before.chunkRequests; // === x.slice(0).plan().requests
 * ```
 */
export interface StoreCounters {
  /** Requests that reached the storage (HTTP requests, file or store reads), including those that found nothing. */
  requests: number;
  /** Reads served, metadata and chunks: requests plus reads that consolidated metadata answered from memory. */
  reads: number;
  /** Bytes of the reads served. */
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
  return { requests: 0, reads: 0, bytes: 0, chunkRequests: 0, chunkBytes: 0, missingChunks: 0, cacheHits: 0 };
}

/**
 * `store`, with each read that reaches it counted in `counters().requests`: put it beneath the
 * layers that answer reads without a request (consolidated metadata), and give the
 * {@link ZarrStore} above `requestsCountedBelow`, so that its `requests` are the real ones.
 */
export function countRequests(store: AsyncReadable, counters: () => Pick<StoreCounters, "requests">): AsyncReadable {
  const counted: AsyncReadable = {
    get(key: AbsolutePath, options?: GetOptions) {
      counters().requests++;
      return store.get(key, options);
    },
  };
  if (store.getRange) {
    const getRange = store.getRange.bind(store);
    counted.getRange = (key: AbsolutePath, range: RangeQuery, options?: GetOptions) => {
      counters().requests++;
      return getRange(key, range, options);
    };
  }
  return counted;
}
