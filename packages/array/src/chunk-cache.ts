/** Options of {@link ChunkCache}. */
export interface ChunkCacheOptions {
  /** Upper bound on the bytes of cached chunks (compressed, as fetched). @default 256 MiB */
  maxBytes?: number;
}

/**
 * A bytes-bounded LRU cache of raw (still encoded) chunk bytes, shared by every compute of
 * the arrays that were opened with it: a repeated query costs no request. Missing chunks are
 * remembered too (as fill values). Values are copied in and out because the scheduler
 * transfers chunk buffers to worker threads, which detaches them.
 *
 * @example
 * ```ts
 * const cache = new ChunkCache({ maxBytes: 64 * 2 ** 20 });
 * const x = await fromZarr("http://127.0.0.1:8080/pbmc.zarr", { path: "X", cache });
 * await x.slice(null, [0]).compute(); // fetches
 * await x.slice(null, [0]).compute(); // 0 requests
 * ```
 */
export class ChunkCache {
  readonly maxBytes: number;
  #bytes = 0;
  // A Map iterates in insertion order: re-inserting on access makes it an LRU.
  readonly #entries = new Map<string, Uint8Array | null>();

  constructor(options: ChunkCacheOptions = {}) {
    const maxBytes = options.maxBytes ?? 256 * 2 ** 20;
    if (typeof maxBytes !== "number" || !(maxBytes >= 0)) {
      throw new RangeError(`Expected \`maxBytes\` to be a non-negative number, got \`${String(maxBytes)}\` (${typeof maxBytes})`);
    }
    this.maxBytes = maxBytes;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Number of chunks held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether `key` is cached (without touching its recency). */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** A copy of the cached bytes (`null`: a known-missing chunk), or `undefined` when not cached. */
  get(key: string): Uint8Array | null | undefined {
    const v = this.#entries.get(key);
    if (v === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, v);
    return v === null ? null : v.slice();
  }

  /** Remember `value` (copied), evicting least recently used chunks beyond `maxBytes`. */
  set(key: string, value: Uint8Array | null): void {
    const size = value === null ? 0 : value.byteLength;
    if (size > this.maxBytes) return;
    this.delete(key);
    this.#entries.set(key, value === null ? null : value.slice());
    this.#bytes += size;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= v === null ? 0 : v.byteLength;
    }
  }

  /** Forget `key`. */
  delete(key: string): void {
    const v = this.#entries.get(key);
    if (v === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= v === null ? 0 : v.byteLength;
  }

  /** Forget everything. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}
