import { readFile, stat } from "node:fs/promises";
import { isAbsolute, join, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { tokenSymbol, type Tokenizable } from "@zask/graph";
import { DEFAULT_MAX_BYTES, remoteSymbol, type RemoteForm } from "@zask/scheduler";
import type { AbsolutePath, AsyncReadable, GetOptions, RangeQuery } from "@zarrita/storage";
import FileSystemStore from "@zarrita/storage/fs";
import type { ChunkCache } from "./chunk-cache.js";
import { ChunkBounds, encodedBound, isMetadataKey } from "./chunk-bounds.js";
import { ChunkFetchError } from "./errors.js";
import { exactIntegerFills } from "./zarr-metadata.js";
import { answerOf, HttpStore, missingStatuses, type HttpStoreOptions } from "./http-store.js";
import { keyUrl } from "./store-keys.js";
import { newCounters, type StoreCounters } from "./store-counters.js";

/** What the I/O lane hands an io op (the scheduler's `IoContext`). */
export interface ChunkIoContext {
  readonly signal: AbortSignal;
  fetch(url: string | URL, init?: RequestInit): Promise<Response>;
  /** A GET through the lane: the status, and the body's bytes for a 2xx answer (fresh: ours to keep). */
  get(
    url: string | URL,
    options?: { headers?: Readonly<Record<string, string>>; maxBytes?: number; pooled?: boolean },
  ): Promise<{ status: number; url: string; body: Uint8Array | null }>;
  /** Declare bytes the op read itself as held by nothing else (movable to a worker). */
  fresh<T extends Uint8Array>(bytes: T): T;
}

/**
 * A local chunk file that the decoding thread reads itself (see `ZarrStore.fetchChunk`): plain
 * data, so it clones to a worker.
 */
export interface ChunkFile {
  /** Absolute path of the chunk file. */
  readonly file: string;
  /** Its size when the io op looked (for counters; the reader trusts the file). */
  readonly size: number;
}

/**
 * Options of {@link ZarrStore}. The HTTP options apply to an http(s) store's metadata reads
 * (its chunk reads go through the compute's I/O lane, whose deadline and retries are the
 * compute's options), except `missingStatuses` and `maxBytes`, which apply to both.
 */
export interface ZarrStoreOptions extends HttpStoreOptions {
  /** A chunk cache shared by every compute that reads this store. */
  cache?: ChunkCache;
  /** The wrapped store counts `requests` itself (`countRequests`); this one counts `reads`. @default false */
  requestsCountedBelow?: boolean;
}

/**
 * A zarr store as zask reads it: an http(s) URL, a local directory, or any zarrita store,
 * wrapped so that every read is counted (`counters`). It is a zarrita `AsyncReadable`
 * (zarrita opens metadata through it), and it fetches chunks for the `fetchChunk` op: over
 * HTTP through the scheduler's I/O lane (`ctx.get`: per-origin bound and retries), from
 * local files with `fs`, otherwise through the wrapped zarrita store. A missing chunk
 * (HTTP 404 or 410, or a status of `missingStatuses`; no file; `undefined`) is `null`: the fill
 * value; HTTP 401 and 403 are access errors. A chunk's body may hold at most the largest
 * encoded size its array's metadata allows (a variable-length array's, `maxBytes`).
 *
 * @example
 * ```ts
 * const store = new ZarrStore("http://127.0.0.1:8080/pbmc.zarr");
 * const x = await fromZarr(store, { path: "X" });
 * await x.slice([0, 1]).compute();
 * store.counters.chunkRequests; // chunks fetched so far
 * ```
 */
export class ZarrStore implements AsyncReadable, Tokenizable {
  /** `http` (fetch), `file` (a local directory) or `store` (any other zarrita store). */
  readonly kind: "http" | "file" | "store";
  /** The store's URL (with a trailing slash) or absolute directory path; `store:<n>` for others. */
  readonly location: string;
  /** Reads so far. Mutable on purpose: tests and tools reset or snapshot it. */
  counters: StoreCounters = newCounters();
  readonly cache: ChunkCache | undefined;
  readonly #inner: AsyncReadable;
  readonly #requestsBelow: boolean;
  readonly #missing: readonly number[];
  readonly #maxBytes: number;
  /** The largest encoded size of each array's chunks, learnt from the metadata read through `get`. */
  readonly #bounds = new ChunkBounds();
  static #anonymous = 0;

  constructor(source: string | URL | AsyncReadable, options: ZarrStoreOptions = {}) {
    this.cache = options.cache;
    this.#requestsBelow = options.requestsCountedBelow ?? false;
    this.#missing = missingStatuses(options.missingStatuses);
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (typeof source === "string" && /^https?:\/\//i.test(source)) source = new URL(source);
    if (source instanceof URL && source.protocol === "file:") source = fileURLToPath(source);
    if (source instanceof URL) {
      if (source.protocol !== "http:" && source.protocol !== "https:") {
        throw new TypeError(`Expected an http(s) or file URL, got \`${source.href}\``);
      }
      // the directory's URL, its query (a signed URL's token) kept after the path
      const href = source.origin + source.pathname.replace(/\/*$/, "/") + source.search;
      this.kind = "http";
      this.location = href;
      const { cache: _, ...http } = options;
      this.#inner = new HttpStore(href, http);
    } else if (typeof source === "string") {
      const path = isAbsolute(source) ? source : resolvePath(source);
      this.kind = "file";
      this.location = path;
      this.#inner = new FileSystemStore(path);
    } else if (source !== null && typeof source === "object" && typeof source.get === "function") {
      // A FetchStore (possibly behind zarrita's extension proxies) still shows its url.
      const url = (source as { url?: unknown }).url;
      const root = (source as { root?: unknown }).root;
      if ((typeof url === "string" || url instanceof URL) && /^https?:/i.test(String(url))) {
        const href = String(url).endsWith("/") ? String(url) : String(url) + "/";
        this.kind = "http";
        this.location = href;
      } else if (typeof root === "string" && source instanceof FileSystemStore) {
        this.kind = "file";
        this.location = root;
      } else {
        this.kind = "store";
        this.location = `store:${ZarrStore.#anonymous++}`;
      }
      this.#inner = source;
    } else {
      throw new TypeError(`Expected a URL, a local path or a zarrita store, got \`${String(source)}\` (${typeof source})`);
    }
  }

  [tokenSymbol](): string {
    return this.location;
  }

  /** How a distributed worker opens this store itself (an http or file store; not a wrapped one). */
  [remoteSymbol](): RemoteForm | undefined {
    return this.kind === "store" ? undefined : { module: "@zask/array", name: "ZarrStore", args: [this.location], construct: true };
  }

  /** Whether the wrapped store reads byte ranges (`getRange`); sharded arrays read whole shards otherwise. */
  get hasRanges(): boolean {
    return typeof this.#inner.getRange === "function";
  }

  /** The HTTP statuses that mean "no such key" for this store (its `missingStatuses`). */
  get missingStatuses(): readonly number[] {
    return this.#missing;
  }

  /** A ranged read of the wrapped store (sharded arrays of other zarrita stores), counted. */
  async getRange(key: AbsolutePath, range: RangeQuery, options?: GetOptions): Promise<Uint8Array | undefined> {
    if (!this.#inner.getRange) throw new TypeError(`Expected a store with ranged reads, got ${this.location}`);
    this.counters.reads++;
    if (!this.#requestsBelow) this.counters.requests++;
    const out = await this.#inner.getRange(key, range, options);
    if (out) this.counters.bytes += out.byteLength;
    return out;
  }

  /** The URL or path of `key` (a store path such as `/X/0.0`), for messages. */
  describe(key: string): string {
    const rel = key.replace(/^\/+/, "");
    if (this.kind === "http") return keyUrl(this.location, rel);
    if (this.kind === "file") return join(this.location, rel);
    return `${this.location}/${rel}`;
  }

  /** zarrita's read of a whole key (metadata reads go through here), counted. */
  async get(key: AbsolutePath, options?: GetOptions): Promise<Uint8Array | undefined> {
    this.counters.reads++;
    if (!this.#requestsBelow) this.counters.requests++;
    // an eager read of a chunk is bounded as a chunk fetch is (an HttpStore reads `maxBytes`)
    const bound = isMetadataKey(key) ? undefined : this.#bounds.of(key);
    const got = await this.#inner.get(key, bound === undefined ? options : ({ ...options, maxBytes: bound } as GetOptions));
    if (got) {
      this.counters.bytes += got.byteLength;
      this.#bounds.learn(key, got);
    }
    return got && isMetadataKey(key) ? exactIntegerFills(got) : got;
  }

  /**
   * The most bytes chunk `key` may hold as stored: the bound its array's metadata allows, else
   * the larger of `maxBytes` and the bound for `chunkBytes` decoded bytes.
   */
  #chunkLimit(key: string, chunkBytes: number): number {
    return this.#bounds.of(key) ?? Math.max(this.#maxBytes, encodedBound(chunkBytes));
  }

  /**
   * The raw bytes of chunk `key` (`null` if the store has no such chunk), counted, through the
   * chunk cache when there is one. `chunkBytes` is the chunk's uncompressed size, for counters.
   * A local file without a cache is only looked up here (`stat`): the result is a
   * {@link ChunkFile} that `decodeChunk` reads on the thread that decodes it, into a buffer it
   * reuses, so a big chunk's compressed bytes are neither allocated per chunk nor allocated in
   * one thread and freed in another (glibc then keeps them in the freeing thread's arena).
   */
  async fetchChunk(ctx: ChunkIoContext, key: string, chunkBytes: number): Promise<Uint8Array | ChunkFile | null> {
    const cacheKey = this.location + "\u0000" + key;
    const cached = this.cache?.get(cacheKey);
    if (cached !== undefined) {
      this.counters.cacheHits++;
      return cached;
    }
    this.counters.reads++;
    // chunks of an http or file store are fetched here, not through the wrapped store
    if (!this.#requestsBelow || this.kind !== "store") this.counters.requests++;
    this.counters.chunkRequests++;
    this.counters.chunkBytes += chunkBytes;
    if (this.kind === "file" && this.cache === undefined) {
      const ref = await this.#locate(ctx, key);
      if (ref === null) this.counters.missingChunks++;
      else this.counters.bytes += ref.size;
      return ref;
    }
    const bytes = await this.#read(ctx, key, chunkBytes);
    if (bytes === null) this.counters.missingChunks++;
    else this.counters.bytes += bytes.byteLength;
    this.cache?.set(cacheKey, bytes);
    return bytes;
  }

  async #locate(ctx: ChunkIoContext, key: string): Promise<ChunkFile | null> {
    const where = this.describe(key);
    try {
      const st = await stat(where);
      if (!st.isFile()) throw new TypeError(`Expected a chunk file, got a directory at ${where}`);
      return { file: where, size: st.size };
    } catch (cause) {
      if ((cause as { code?: string }).code === "ENOENT") return null;
      if (ctx.signal.aborted) throw cause;
      throw new ChunkFetchError(where, undefined, { cause });
    }
  }

  async #read(ctx: ChunkIoContext, key: string, chunkBytes: number): Promise<Uint8Array | null> {
    const where = this.describe(key);
    if (this.kind === "http") {
      try {
        // a body only decodeChunk reads (the cache keeps its own): its buffer may be reused after
        const pooled = this.cache === undefined;
        const response = await ctx.get(where, { maxBytes: this.#chunkLimit(key, chunkBytes), ...(pooled ? { pooled } : {}) });
        // zarr has no listing: a chunk that was never written is simply absent (fill value)
        return answerOf(where, response.status, response.body, this.#missing) ?? null;
      } catch (cause) {
        if (ctx.signal.aborted) throw cause;
        throw new ChunkFetchError(where, (cause as { status?: number }).status, { cause });
      }
    }
    if (this.kind === "file") {
      try {
        const buf = await readFile(where, { signal: ctx.signal });
        // read for this task only (the cache keeps its own copy): the worker may take it
        return ctx.fresh(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
      } catch (cause) {
        if ((cause as { code?: string }).code === "ENOENT") return null;
        if (ctx.signal.aborted) throw cause;
        throw new ChunkFetchError(where, undefined, { cause });
      }
    }
    try {
      const out = await this.#inner.get(("/" + key.replace(/^\/+/, "")) as AbsolutePath, { signal: ctx.signal });
      return out === undefined ? null : out;
    } catch (cause) {
      if (ctx.signal.aborted) throw cause;
      throw new ChunkFetchError(where, undefined, { cause });
    }
  }
}
