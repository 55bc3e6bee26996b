import type { AbsolutePath, AsyncReadable, RangeQuery } from "@zarrita/storage";
import { HttpAccessDeniedError, HttpError, IoLane } from "@zask/scheduler";
import { keyUrl } from "./store-keys.js";

/** The statuses read as "no such key" unless a store says otherwise: 404 Not Found and 410 Gone. */
export const DEFAULT_MISSING_STATUSES: readonly number[] = Object.freeze([404, 410]);

/** Options of an {@link HttpStore}: how its metadata and eager reads go over HTTP. */
export interface HttpStoreOptions {
  /**
   * HTTP statuses that mean "this key does not exist" (a chunk's fill value, an absent node).
   * 401 and 403 are errors ({@link HttpAccessDeniedError}) unless listed: list 403 for public
   * buckets that answer 403 for keys never written (no list permission), e.g. S3 and GCS.
   * @default [404, 410]
   */
  readonly missingStatuses?: readonly number[];
  /** Wait for the headers, and between two reads of a body, ms. @default 30000 */
  readonly timeout?: number;
  /** Deadline of one request attempt, headers and body, ms (retried like a timeout). @default 60000 */
  readonly deadline?: number;
  /** Retries after a transient failure (5xx, 429, reset, timeout, deadline). @default 3 */
  readonly retries?: number;
  /** Base of the retries' exponential backoff, ms. @default 100 */
  readonly retryDelay?: number;
  /** The most bytes one body may hold (metadata documents, eager reads). @default 67108864 (64 MiB) */
  readonly maxBytes?: number;
  /** Requests in flight to the store's origin. @default 16 */
  readonly httpConcurrency?: number;
  /** Read over HTTP/2 (the I/O lane's `http2`). @default false */
  readonly http2?: boolean;
  /** Aborts every request of the store. */
  readonly signal?: AbortSignal;
}

/**
 * Where a store's reads go: the status read as missing, and what a denied or failed answer
 * throws. Shared by {@link HttpStore} and `ZarrStore`'s chunk reads.
 */
export function answerOf(url: string, status: number, body: Uint8Array | null, missing: readonly number[]): Uint8Array | undefined {
  if (missing.includes(status)) return undefined;
  if (status === 401 || status === 403) throw new HttpAccessDeniedError(url, status);
  if (status < 200 || status >= 300 || body === null) throw new HttpError(url, status);
  return body;
}

/** Checks a `missingStatuses` option: HTTP statuses, 4xx or 5xx. */
export function missingStatuses(v: readonly number[] | undefined): readonly number[] {
  if (v === undefined) return DEFAULT_MISSING_STATUSES;
  if (!Array.isArray(v) || !v.every((s) => Number.isInteger(s) && s >= 400 && s <= 599)) {
    throw new TypeError(`Expected \`missingStatuses\` to be a list of HTTP error statuses (400-599), got \`${JSON.stringify(v)}\``);
  }
  return Object.freeze([...v]);
}

/**
 * A read-only zarr store over HTTP for metadata and eager reads, through a scheduler
 * {@link IoLane}: each request bounded per origin, retried on transient failures, with a gap
 * timeout, a deadline and a byte limit, content encodings decoded, and each key's URL built
 * with its segments percent-encoded. Lazy chunk reads go through the compute's own lane by URL.
 *
 * @example
 * ```ts
 * const store = new HttpStore("http://127.0.0.1:8080/data/pbmc3k.zarr", { deadline: 10_000 });
 * const zmetadata = await store.get("/.zmetadata");
 * ```
 */
export class HttpStore implements AsyncReadable {
  /** The store's URL, without a trailing slash. */
  readonly url: string;
  readonly #base: URL;
  readonly #lane: IoLane;
  readonly #missing: readonly number[];

  constructor(url: string | URL, options: HttpStoreOptions = {}) {
    this.#base = new URL(String(url));
    if (this.#base.protocol !== "http:" && this.#base.protocol !== "https:") throw new TypeError(`Expected an http(s) URL, got \`${this.#base.href}\``);
    this.url = this.#base.href.replace(/\/+$/, "");
    this.#missing = missingStatuses(options.missingStatuses);
    const { missingStatuses: _, ...lane } = options;
    this.#lane = new IoLane(lane);
  }

  /** The URL of store key `key`. */
  urlOf(key: string): string {
    return keyUrl(this.#base, key);
  }

  /** The bytes of `key` (`undefined` when missing); `maxBytes` bounds this body below the store's limit (a chunk's bound). */
  async get(key: AbsolutePath, options: { signal?: AbortSignal; maxBytes?: number } = {}): Promise<Uint8Array | undefined> {
    const url = this.urlOf(key);
    const res = await this.#lane.get(url, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    });
    return answerOf(url, res.status, res.body, this.#missing);
  }

  async getRange(key: AbsolutePath, range: RangeQuery, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    const url = this.urlOf(key);
    const bytes = "suffixLength" in range ? `bytes=-${range.suffixLength}` : `bytes=${range.offset}-${range.offset + range.length - 1}`;
    const res = await this.#lane.get(url, { headers: { Range: bytes }, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    const body = answerOf(url, res.status, res.body, this.#missing);
    // a server that ignores Range sends the whole object
    if (body === undefined || res.status === 206) return body;
    if ("suffixLength" in range) return body.slice(Math.max(0, body.length - range.suffixLength));
    return body.slice(range.offset, range.offset + range.length);
  }
}
