import { setMaxListeners } from "node:events";
import { HttpError } from "./errors.js";
import { request, type BufferedResponse, type TransportRequest } from "./http/http-transport.js";
import { directBound } from "./http/direct-http.js";
import { h2StreamLimit } from "./http/h2-client.js";
import { originSlots, type OriginSlots, type SlotBound } from "./http/origin-slots.js";
import { abortableSleep, backoffDelay, isTransientError, isTransientStatus } from "./retry.js";

/** What {@link IoContext.get} returns: the status and, for a 2xx answer, the whole body. */
export interface IoResponse {
  readonly status: number;
  /** The URL requested. */
  readonly url: string;
  /** The body of a 2xx answer (a view spanning its own buffer); `null` for any other status. */
  readonly body: Uint8Array | null;
}

/** Options of {@link IoContext.get}. */
export interface IoGetOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The most bytes this answer may legitimately hold (for a chunk, the largest encoded size its
   * metadata allows): a longer body, as sent or once decoded, fails at once instead of growing.
   * @default the lane's `maxBytes`
   */
  readonly maxBytes?: number;
  /** Aborts this request (the lane's signal aborts it too). */
  readonly signal?: AbortSignal;
  /**
   * Read the body into a `SharedArrayBuffer` where the client can (plain-http bodies of a known
   * length), so that views of parts of it go to worker threads without a copy each.
   * @default false
   */
  readonly shared?: boolean;
  /**
   * With `shared`, called as the body of a 2xx answer arrives (plain http, no Content-Encoding),
   * with the answer's status, its whole body and the bytes in so far: views of those bytes never
   * change again, so parts of a long body can be used before its end. A retried request calls
   * it again with its new body.
   */
  readonly onBody?: (status: number, body: Uint8Array, received: number) => void;
  /**
   * Read the body into a reused buffer (plain http, a known length): the body is a view of part
   * of it, for an op that reads the bytes and drops them, and gives them back with
   * `recycleBody` once nothing reads them (a body never given back is simply collected).
   * @default false
   */
  readonly pooled?: boolean;
}

/** The lane's default {@link IoLaneOptions.maxBytes}: 64 MiB. */
export const DEFAULT_MAX_BYTES = 64 * 2 ** 20;

/**
 * What an `io` op receives as its first argument.
 *
 * @example
 * ```ts
 * export async function fetchBytes(ctx: IoContext, url: string): Promise<Uint8Array> {
 *   const res = await ctx.get(url);
 *   if (res.status === 404) return new Uint8Array(0);
 *   if (res.body === null) throw new HttpError(url, res.status);
 *   return res.body;
 * }
 * ```
 */
export interface IoContext {
  /** Aborts when the compute is cancelled or fails; pass it to anything that waits. */
  readonly signal: AbortSignal;
  /**
   * The I/O lane: `fetch` bounded to `httpConcurrency` requests in flight per origin (a request
   * holds its slot until its body is read; the body comes back buffered), retried with
   * backoff on 5xx, 429, reset connections, timeouts and deadlines, aborted with the compute.
   * Other statuses (404 included) are returned to the op, which decides. Throws
   * {@link HttpError} when the retries are exhausted or the body is larger than allowed.
   */
  fetch(url: string | URL, init?: RequestInit): Promise<Response>;
  /**
   * A GET through the same lane (same bound, retries and errors as `fetch`), without a
   * `Response`: the status and the body's bytes. The bytes are fresh, owned by the caller: an
   * op that keeps them (a cache) must keep a copy, since the scheduler may move them to a worker.
   */
  get(url: string | URL, options?: IoGetOptions): Promise<IoResponse>;
  /**
   * Declare `bytes` (read by the op, e.g. from a local file) fresh: nothing else holds them, so
   * the scheduler may move them to a worker instead of copying them. Returns `bytes`.
   */
  fresh<T extends Uint8Array>(bytes: T): T;
}

/** Options of an {@link IoLane}. */
export interface IoLaneOptions {
  /**
   * Requests in flight per origin across the process (every lane shares the origin's slots; a
   * request of this lane starts only while fewer are in flight), hence also the busy
   * connections per origin, and the idle ones kept.
   * @default 16
   */
  readonly httpConcurrency?: number;
  /** Retries after the first attempt of a transient failure. @default 3 */
  readonly retries?: number;
  /** Base of the exponential backoff, ms. @default 100 */
  readonly retryDelay?: number;
  /** Cap of one backoff wait, ms. @default 5000 */
  readonly maxRetryDelay?: number;
  /** Timeout of one attempt: the wait for the headers, and for each piece of the body, ms. @default 30000 */
  readonly timeout?: number;
  /**
   * Deadline of one attempt, headers and whole body, ms: a server that trickles bytes forever
   * fails it even though no gap reaches `timeout`. A missed deadline is retried like a timeout.
   * @default 60000
   */
  readonly deadline?: number;
  /**
   * The most bytes a body may hold (as sent, and once its Content-Encoding is decoded) when the
   * request does not say (`get`'s `maxBytes`): metadata documents and the like.
   * @default 67108864 (64 MiB)
   */
  readonly maxBytes?: number;
  /**
   * Send GET and HEAD over HTTP/2: h2c with prior knowledge on plain http, `h2` offered by ALPN
   * on https. Requests to an origin are then streams on one connection, as many in flight as
   * the server's SETTINGS_MAX_CONCURRENT_STREAMS allows (at most 256) instead of
   * `httpConcurrency`. An origin that does not answer in HTTP/2 is sent HTTP/1.1.
   * @default false
   */
  readonly http2?: boolean;
  /** Aborts every request, queued or in flight. */
  readonly signal?: AbortSignal;
}

/** Counters of an {@link IoLane}, for plans and profiles. */
export interface IoStats {
  requests: number;
  retries: number;
  bytes: number;
  maxInFlight: number;
}

type Attempt = { response: BufferedResponse } | { status: number; retryAfter: number | undefined } | { error: unknown };

/**
 * The I/O lane of one compute: HTTP over keep-alive connection pools (http/), bounded by the
 * request slots of each origin that every lane of the process shares (http/origin-slots.ts),
 * taken in turn by the lanes waiting, retries with exponential backoff and jitter, a gap timeout and
 * a deadline per attempt, a byte limit per body, content encodings decoded, all under one
 * abort signal.
 *
 * @example
 * ```ts
 * const lane = new IoLane({ httpConcurrency: 8, signal });
 * const { status, body } = await lane.get("http://127.0.0.1:8080/x.zarr/.zmetadata");
 * ```
 */
export class IoLane implements IoContext {
  readonly signal: AbortSignal;
  readonly stats: IoStats = { requests: 0, retries: 0, bytes: 0, maxInFlight: 0 };
  /** The process-wide slots of each origin this lane has sent to (see http/origin-slots.ts). */
  readonly #origins = new Set<OriginSlots>();
  readonly #concurrency: number;
  readonly #retries: number;
  readonly #retryDelay: number;
  readonly #maxRetryDelay: number;
  readonly #timeout: number;
  readonly #deadline: number;
  readonly #maxBytes: number;
  readonly #http2: boolean;
  /** Buffers of `get` bodies (made here) and those ops declared `fresh`: nothing else holds them. */
  readonly #fresh = new WeakSet<ArrayBufferLike>();
  #inFlight = 0;
  /** Sum and count of the `maxBytes` that `get` requests declared (their largest possible bodies). */
  #declaredSum = 0;
  #declaredCount = 0;
  #onDeclared: (() => void) | undefined;
  /**
   * Requests of this lane under way, and the abort listener they share, on {@link signal}
   * only while there are any: Node keeps a signal made by `AbortSignal.any` (and all its
   * listener holds: this lane, its compute) for as long as it has a listener and has not
   * aborted, so a listener left on it would keep every lane ever made.
   */
  #active = 0;
  readonly #cancelQueued: () => void;

  constructor(options: IoLaneOptions = {}) {
    this.#concurrency = positiveInteger("httpConcurrency", options.httpConcurrency ?? 16);
    this.#retries = nonNegativeInteger("retries", options.retries ?? 3);
    this.#retryDelay = nonNegativeNumber("retryDelay", options.retryDelay ?? 100);
    this.#maxRetryDelay = nonNegativeNumber("maxRetryDelay", options.maxRetryDelay ?? 5000);
    this.#timeout = positiveNumber("timeout", options.timeout ?? 30_000);
    this.#deadline = positiveNumber("deadline", options.deadline ?? 60_000);
    this.#maxBytes = byteLimit("maxBytes", options.maxBytes ?? DEFAULT_MAX_BYTES);
    if (options.http2 !== undefined && typeof options.http2 !== "boolean") {
      throw new TypeError(`Expected \`http2\` to be a boolean, got \`${String(options.http2)}\` (${typeof options.http2})`);
    }
    this.#http2 = options.http2 ?? false;
    // our own signal, following the caller's without a listener on it (AbortSignal.any holds
    // its dependants weakly), so that a long-lived signal given to many lanes (every store a
    // process opens) does not keep them all; requests in flight add their listeners to ours
    const outer = options.signal;
    const own = outer === undefined ? new AbortController().signal : AbortSignal.any([outer]);
    this.signal = own;
    setMaxListeners(0, own);
    // bound, not an arrow made here: an arrow kept on the instance keeps the lane and the
    // compute that listens to it alive through V8's young-generation collections
    this.#cancelQueued = this.#cancelAll.bind(this);
    this.fetch = this.fetch.bind(this);
    this.get = this.get.bind(this);
    this.fresh = this.fresh.bind(this);
  }

  #cancelAll(): void {
    for (const slots of this.#origins) slots.cancel(this, this.signal.reason);
  }

  async get(url: string | URL, options: IoGetOptions = {}): Promise<IoResponse> {
    const target = typeof url === "string" ? new URL(url) : url;
    if (options.maxBytes !== undefined && Number.isFinite(options.maxBytes)) this.#declare(options.maxBytes);
    const req: TransportRequest = {
      method: "GET",
      headers: options.headers as Record<string, string> | undefined,
      body: null,
      timeout: this.#timeout,
      deadline: this.#deadline,
      maxBytes: options.maxBytes === undefined ? this.#maxBytes : byteLimit("maxBytes", options.maxBytes),
      signal: options.signal === undefined ? this.signal : AbortSignal.any([this.signal, options.signal]),
      keepErrorBody: false,
      http2: this.#http2,
      ...(options.shared === true ? { shared: true } : {}),
      ...(options.shared === true && options.onBody !== undefined ? { onBody: options.onBody } : {}),
      ...(options.pooled === true ? { pooled: true } : {}),
    };
    const res = await this.#retrying(target, req);
    if (res.body !== null) this.#fresh.add(res.body.buffer);
    return { status: res.status, url: target.href, body: res.body };
  }

  /**
   * The average `maxBytes` that this lane's `get` requests declared — for chunks, the largest
   * encoded size their metadata allows — or `undefined` before any did: an upper bound on the
   * bodies to expect, known before the first of them arrives.
   */
  get declaredBytes(): number | undefined {
    return this.#declaredCount === 0 ? undefined : this.#declaredSum / this.#declaredCount;
  }

  /** Call `listener` whenever a request declares its `maxBytes` (one listener; `undefined` removes it). */
  onDeclared(listener: (() => void) | undefined): void {
    this.#onDeclared = listener;
  }

  #declare(maxBytes: number): void {
    this.#declaredSum += maxBytes;
    this.#declaredCount++;
    this.#onDeclared?.();
  }

  /**
   * Whether `buffer` is the body of a `get` of this lane: the scheduler may move it to a worker
   * (an op that keeps a body keeps a copy, as the contract of `get` says).
   */
  fresh<T extends Uint8Array>(bytes: T): T {
    this.#fresh.add(bytes.buffer);
    return bytes;
  }

  isFresh(buffer: ArrayBufferLike): boolean {
    return this.#fresh.has(buffer);
  }

  async fetch(url: string | URL, init?: RequestInit): Promise<Response> {
    const target = typeof url === "string" ? new URL(url) : url;
    const own = init?.signal ?? undefined;
    const req: TransportRequest = {
      method: init?.method ?? "GET",
      headers: headerRecord(init?.headers),
      body: requestBody(init?.body),
      timeout: this.#timeout,
      deadline: this.#deadline,
      maxBytes: this.#maxBytes,
      signal: own === undefined ? this.signal : AbortSignal.any([this.signal, own]),
      keepErrorBody: true,
      http2: this.#http2,
    };
    const res = await this.#retrying(target, req);
    const headers = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (Array.isArray(v)) for (const x of v) headers.append(k, x);
      else if (v !== undefined) headers.set(k, v);
    }
    const out = new Response(res.body, { status: res.status, headers });
    Object.defineProperty(out, "url", { value: target.href });
    return out;
  }

  /** The attempts of one request: each waits for a slot of the origin, retried on transient failures. */
  async #retrying(url: URL, req: TransportRequest): Promise<BufferedResponse> {
    const href = url.href;
    const slots = originSlots(url.origin);
    this.#origins.add(slots);
    // over HTTP/2, the session's stream limit once it is known (it may connect while we wait);
    // over plain-http HTTP/1.1 (also where HTTP/2 fell back to it), fewer while the origin
    // closes its connections after each answer
    const concurrency = this.#concurrency;
    const origin = url.origin;
    const plain = url.protocol === "http:";
    const bound: SlotBound = this.#http2
      ? () => h2StreamLimit(origin) ?? (plain ? directBound(origin, concurrency) : concurrency)
      : plain
        ? () => directBound(origin, concurrency)
        : concurrency;
    const signal = req.signal;
    if (this.#active++ === 0) this.signal.addEventListener("abort", this.#cancelQueued, { once: true });
    try {
      for (let attempt = 1; ; attempt++) {
        signal.throwIfAborted();
        const outcome = await this.#slotted(slots, bound, signal, () => this.#attempt(url, req));
        if ("response" in outcome) return outcome.response;
        const retryable = "status" in outcome || isTransientError(outcome.error);
        if (!retryable || attempt > this.#retries) {
          if ("status" in outcome) throw new HttpError(href, outcome.status, { attempts: attempt });
          throw new HttpError(href, undefined, { cause: outcome.error, attempts: attempt });
        }
        this.stats.retries++;
        let wait = backoffDelay(attempt, this.#retryDelay, this.#maxRetryDelay);
        if ("status" in outcome && outcome.retryAfter !== undefined) {
          wait = Math.max(wait, Math.min(outcome.retryAfter, this.#maxRetryDelay));
        }
        await abortableSleep(wait, signal);
      }
    } finally {
      if (--this.#active === 0) this.signal.removeEventListener("abort", this.#cancelQueued);
    }
  }

  /**
   * Run `fn` holding one of the origin's slots. While it waits, the lane's abort (through
   * `cancel`) and the request's own `signal` reject it at once and free its place in the queue.
   */
  async #slotted<T>(slots: OriginSlots, bound: SlotBound, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    if (!slots.tryAcquire(typeof bound === "number" ? bound : bound())) {
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        // the lane's own signal is handled by `cancel`, for all of its waiters at once
        const own = signal !== this.signal;
        let settled = false;
        let withdraw: (() => boolean) | undefined;
        const onAbort = (): void => {
          if (withdraw?.() === true) reject(signal.reason);
        };
        const done = (): void => {
          settled = true;
          if (own) signal.removeEventListener("abort", onAbort);
        };
        withdraw = slots.enqueue(
          this,
          bound,
          () => {
            done();
            resolve();
          },
          (e) => {
            done();
            reject(e);
          },
        );
        // `enqueue` may have admitted it at once
        if (own && !settled) signal.addEventListener("abort", onAbort, { once: true });
      });
    }
    try {
      return await fn();
    } finally {
      slots.release();
    }
  }

  /** One request, holding the origin's slot until the body is read (so the bound is real). */
  async #attempt(url: URL, req: TransportRequest): Promise<Attempt> {
    req.signal.throwIfAborted();
    this.stats.requests++;
    if (++this.#inFlight > this.stats.maxInFlight) this.stats.maxInFlight = this.#inFlight;
    try {
      const res = await request(url, req, this.#concurrency);
      if (isTransientStatus(res.status)) {
        return { status: res.status, retryAfter: retryAfterMs(res.headers["retry-after"]) };
      }
      if (res.body !== null) this.stats.bytes += res.body.byteLength;
      return { response: res };
    } catch (e) {
      if (req.signal.aborted) throw req.signal.reason;
      return { error: e };
    } finally {
      this.#inFlight--;
    }
  }
}

function headerRecord(h: RequestInit["headers"]): Record<string, string> | undefined {
  if (h === undefined) return undefined;
  const out: Record<string, string> = {};
  new Headers(h).forEach((v, k) => (out[k] = v));
  return out;
}

function requestBody(b: RequestInit["body"]): string | Uint8Array | null {
  if (b === undefined || b === null) return null;
  if (typeof b === "string" || b instanceof Uint8Array) return b;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  throw new TypeError(`Expected a request body as a string or bytes, got \`${Object.prototype.toString.call(b)}\``);
}

function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const header = Array.isArray(value) ? value[0] : value;
  if (header === undefined) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(header);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

function positiveInteger(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`Expected \`${name}\` to be a positive integer, got \`${String(v)}\` (${typeof v})`);
  }
  return v;
}

function nonNegativeInteger(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new RangeError(`Expected \`${name}\` to be a non-negative integer, got \`${String(v)}\` (${typeof v})`);
  }
  return v;
}

function nonNegativeNumber(name: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) {
    throw new RangeError(`Expected \`${name}\` to be a non-negative number, got \`${String(v)}\` (${typeof v})`);
  }
  return v;
}

function byteLimit(name: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0) || !(Number.isInteger(v) || v === Infinity)) {
    throw new RangeError(`Expected \`${name}\` to be a non-negative integer number of bytes or Infinity, got \`${String(v)}\` (${typeof v})`);
  }
  return v;
}

function positiveNumber(name: string, v: unknown): number {
  if (typeof v !== "number" || !(v > 0)) {
    throw new RangeError(`Expected \`${name}\` to be a positive number, got \`${String(v)}\` (${typeof v})`);
  }
  return v;
}
