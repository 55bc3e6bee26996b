import PQueue from "p-queue";
import { HttpError } from "./errors.js";
import { RequestTimeoutError, abortableSleep, backoffDelay, isTransientError, isTransientStatus } from "./retry.js";

/**
 * What an `io` op receives as its first argument.
 *
 * @example
 * ```ts
 * export async function fetchBytes(ctx: IoContext, url: string): Promise<Uint8Array> {
 *   const res = await ctx.fetch(url);
 *   if (res.status === 404) return new Uint8Array(0);
 *   if (!res.ok) throw new HttpError(url, res.status);
 *   return new Uint8Array(await res.arrayBuffer());
 * }
 * ```
 */
export interface IoContext {
  /** Aborts when the compute is cancelled or fails; pass it to anything that waits. */
  readonly signal: AbortSignal;
  /**
   * The I/O lane: `fetch` bounded to `httpConcurrency` requests in flight per origin (a request
   * holds its slot until its body is read; the body comes back buffered), retried with
   * backoff on 5xx, 429, reset connections and timeouts, aborted with the compute. Other
   * statuses (404 included) are returned to the op, which decides. Throws {@link HttpError}
   * when the retries are exhausted.
   */
  fetch(url: string | URL, init?: RequestInit): Promise<Response>;
}

/** Options of an {@link IoLane}. */
export interface IoLaneOptions {
  /** Requests in flight per origin. @default 16 */
  readonly httpConcurrency?: number;
  /** Retries after the first attempt of a transient failure. @default 3 */
  readonly retries?: number;
  /** Base of the exponential backoff, ms. @default 100 */
  readonly retryDelay?: number;
  /** Cap of one backoff wait, ms. @default 5000 */
  readonly maxRetryDelay?: number;
  /** Timeout of one attempt (headers and body), ms. @default 30000 */
  readonly timeout?: number;
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

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

type Attempt = { response: Response } | { status: number; retryAfter: number | undefined } | { error: unknown };

/**
 * The I/O lane of one compute: one p-queue per origin, retries with exponential backoff and
 * jitter, a per-attempt timeout, all under one abort signal.
 *
 * @example
 * ```ts
 * const lane = new IoLane({ httpConcurrency: 8, signal });
 * const res = await lane.fetch("http://127.0.0.1:8080/x.zarr/.zmetadata");
 * ```
 */
export class IoLane implements IoContext {
  readonly signal: AbortSignal;
  readonly stats: IoStats = { requests: 0, retries: 0, bytes: 0, maxInFlight: 0 };
  readonly #queues = new Map<string, PQueue>();
  readonly #concurrency: number;
  readonly #retries: number;
  readonly #retryDelay: number;
  readonly #maxRetryDelay: number;
  readonly #timeout: number;
  #inFlight = 0;

  constructor(options: IoLaneOptions = {}) {
    this.#concurrency = positiveInteger("httpConcurrency", options.httpConcurrency ?? 16);
    this.#retries = nonNegativeInteger("retries", options.retries ?? 3);
    this.#retryDelay = nonNegativeNumber("retryDelay", options.retryDelay ?? 100);
    this.#maxRetryDelay = nonNegativeNumber("maxRetryDelay", options.maxRetryDelay ?? 5000);
    this.#timeout = positiveNumber("timeout", options.timeout ?? 30_000);
    this.signal = options.signal ?? new AbortController().signal;
    this.fetch = this.fetch.bind(this);
  }

  async fetch(url: string | URL, init?: RequestInit): Promise<Response> {
    const href = typeof url === "string" ? url : url.href;
    const origin = new URL(href).origin;
    let queue = this.#queues.get(origin);
    if (queue === undefined) {
      queue = new PQueue({ concurrency: this.#concurrency });
      this.#queues.set(origin, queue);
    }
    const signal = this.signal;
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      let outcome: Attempt;
      try {
        outcome = (await queue.add(() => this.#attempt(href, init), { signal })) as Attempt;
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        throw e;
      }
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
  }

  /** One request, holding the origin's slot until the body is read (so the bound is real). */
  async #attempt(url: string, init: RequestInit | undefined): Promise<Attempt> {
    const outer = this.signal;
    outer.throwIfAborted();
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(outer.reason);
    outer.addEventListener("abort", onAbort, { once: true });
    const own = init?.signal;
    const onOwnAbort = (): void => ac.abort(own?.reason);
    own?.addEventListener("abort", onOwnAbort, { once: true });
    const timer = setTimeout(() => ac.abort(new RequestTimeoutError(this.#timeout)), this.#timeout);
    this.stats.requests++;
    if (++this.#inFlight > this.stats.maxInFlight) this.stats.maxInFlight = this.#inFlight;
    try {
      const res = await fetch(url, { ...init, signal: ac.signal });
      if (isTransientStatus(res.status)) {
        await res.body?.cancel().catch(() => undefined);
        return { status: res.status, retryAfter: retryAfterMs(res.headers.get("retry-after")) };
      }
      const body = NULL_BODY.has(res.status) ? null : await res.arrayBuffer();
      if (body !== null) this.stats.bytes += body.byteLength;
      const copy = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
      Object.defineProperty(copy, "url", { value: res.url });
      return { response: copy };
    } catch (e) {
      if (outer.aborted) throw outer.reason;
      if (own?.aborted) throw own.reason;
      // the timeout aborts with our own error as the reason; fetch rethrows the reason
      return { error: ac.signal.aborted ? ac.signal.reason : e };
    } finally {
      this.#inFlight--;
      clearTimeout(timer);
      outer.removeEventListener("abort", onAbort);
      own?.removeEventListener("abort", onOwnAbort);
    }
  }
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
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

function positiveNumber(name: string, v: unknown): number {
  if (typeof v !== "number" || !(v > 0)) {
    throw new RangeError(`Expected \`${name}\` to be a positive number, got \`${String(v)}\` (${typeof v})`);
  }
  return v;
}
