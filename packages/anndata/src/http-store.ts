import PQueue from "p-queue";
import type { AbsolutePath, AsyncReadable, RangeQuery } from "@zarrita/storage";
import * as zarr from "zarrita";

/**
 * Requests in flight per opened http store for metadata and eager reads: the scheduler's
 * default per-origin bound, so that a dataframe of hundreds of columns does not open hundreds
 * of connections at once.
 */
export const HTTP_CONCURRENCY = 16;

/** Keys that need no percent-encoding: almost all zarr keys (metadata documents, chunk keys). */
const PLAIN_KEY = /^\/[A-Za-z0-9._\-/]*$/;

/**
 * The read-only http store of an opened AnnData store, for metadata and eager reads (lazy chunk
 * reads go through the scheduler's I/O lane by URL instead). zarrita's `FetchStore` builds two
 * `URL`s and a `Request` per key and then hands the `Request` to `fetch`, which copies it: a
 * third of the open's CPU per request. Here `get` fetches the key's URL string directly; ranged
 * reads (rare: sharded arrays) go through a `FetchStore` with the same bound and deadline.
 *
 * Answers as `FetchStore` does: 404 is an absent key, 200/206 its bytes, any other status an
 * `Unexpected response status` error. Each request gets its own deadline of `timeout` ms and
 * holds one of {@link HTTP_CONCURRENCY} slots until its body is read.
 *
 * @example
 * ```ts
 * const store = new HttpStore("http://127.0.0.1:8080/data/pbmc3k.zarr", { timeout: 30_000 });
 * const zmetadata = await store.get("/.zmetadata");
 * ```
 */
export class HttpStore implements AsyncReadable {
  /** The store's URL, without a trailing slash (read by `ZarrStore` to fetch chunks by URL). */
  readonly url: string;
  readonly #base: URL;
  readonly #prefix: string;
  readonly #search: string;
  readonly #timeout: number;
  readonly #queue = new PQueue({ concurrency: HTTP_CONCURRENCY });
  readonly #ranged: zarr.FetchStore;

  constructor(url: string, options: { timeout: number }) {
    this.url = url.replace(/\/+$/, "");
    this.#base = new URL(this.url + "/");
    this.#search = this.#base.search;
    this.#prefix = this.#base.origin + this.#base.pathname;
    this.#timeout = options.timeout;
    this.#ranged = new zarr.FetchStore(this.#base.href, {
      fetch: (request: Request) => this.#queue.add(async () => this.#settle(await fetch(request, { signal: this.#signal(request.signal) }))),
    });
  }

  #signal(signal: AbortSignal | null | undefined): AbortSignal {
    const deadline = AbortSignal.timeout(this.#timeout);
    return signal ? AbortSignal.any([signal, deadline]) : deadline;
  }

  /** The response with its body read, so the queue slot is held until the bytes are in. */
  async #settle(response: Response): Promise<Response> {
    if (!response.ok) {
      await response.body?.cancel();
      return new Response(null, { status: response.status, statusText: response.statusText });
    }
    return new Response(await response.arrayBuffer(), { status: response.status, headers: response.headers });
  }

  #href(key: string): string {
    if (PLAIN_KEY.test(key)) return this.#prefix + key.slice(1) + this.#search;
    const resolved = new URL(key.slice(1), this.#base);
    resolved.search = this.#search;
    return resolved.href;
  }

  async get(key: AbsolutePath, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    const href = this.#href(key);
    return this.#queue.add(async () => {
      const response = await fetch(href, { signal: this.#signal(options.signal) });
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      if (response.status !== 200 && response.status !== 206) {
        await response.body?.cancel();
        throw new Error(`Unexpected response status ${response.status} ${response.statusText} for ${href}`);
      }
      return new Uint8Array(await response.arrayBuffer());
    });
  }

  getRange(key: AbsolutePath, range: RangeQuery, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    return this.#ranged.getRange(key, range, options);
  }
}
