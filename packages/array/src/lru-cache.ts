/**
 * A map that keeps at most `maxEntries` entries and `maxBytes` bytes (as `sizeOf` counts
 * them), dropping the least recently used first, with one load in flight per key: callers that
 * ask for a key while it loads share that load; a failed load is not kept.
 *
 * State: `#entries` holds loaded values in use order (oldest first, Map insertion order);
 * `#loading` the loads in flight; `#bytes` the summed sizes of `#entries`.
 *
 * @example
 * ```ts
 * const cache = new LruCache<string, Uint8Array>({ maxEntries: 100, maxBytes: 2 ** 20, sizeOf: (v) => v.byteLength });
 * const v = await cache.load("a", () => fetchIt("a"));
 * ```
 */
export class LruCache<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #loading = new Map<K, Promise<V>>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #sizeOf: (v: V) => number;
  #bytes = 0;

  constructor(options: { maxEntries: number; maxBytes?: number; sizeOf?: (v: V) => number }) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`Expected \`maxEntries\` to be a positive integer, got \`${String(options.maxEntries)}\``);
    }
    this.#maxEntries = options.maxEntries;
    this.#maxBytes = options.maxBytes ?? Infinity;
    this.#sizeOf = options.sizeOf ?? (() => 0);
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether `key` is loaded (without marking it used). */
  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** The loaded value of `key` (marking it used), or `undefined`. */
  get(key: K): V | undefined {
    if (!this.#entries.has(key)) return undefined;
    const v = this.#entries.get(key)!;
    this.#entries.delete(key);
    this.#entries.set(key, v);
    return v;
  }

  set(key: K, value: V): void {
    const old = this.#entries.get(key);
    if (old !== undefined || this.#entries.has(key)) {
      this.#bytes -= this.#sizeOf(old as V);
      this.#entries.delete(key);
    }
    const size = this.#sizeOf(value);
    if (size > this.#maxBytes) return;
    this.#entries.set(key, value);
    this.#bytes += size;
    while (this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const [k, v] = this.#entries.entries().next().value as [K, V];
      this.#entries.delete(k);
      this.#bytes -= this.#sizeOf(v);
    }
  }

  /** The value of `key`: loaded, loading (shared), or loaded now by `load`. */
  load(key: K, load: () => Promise<V>): Promise<V> {
    if (this.#entries.has(key)) return Promise.resolve(this.get(key) as V);
    let p = this.#loading.get(key);
    if (p === undefined) {
      p = load().then(
        (v) => {
          this.#loading.delete(key);
          this.set(key, v);
          return v;
        },
        (e: unknown) => {
          this.#loading.delete(key);
          throw e;
        },
      );
      this.#loading.set(key, p);
    }
    return p;
  }
}
