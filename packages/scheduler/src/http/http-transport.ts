import { Agent } from "undici";
import { isTransientStatus } from "../retry.js";
import { GcBudget } from "../gc.js";
import { concat, directRequest, isDirect, onAbortOf } from "./direct-http.js";

/** One buffered answer of the transport. */
export interface BufferedResponse {
  readonly status: number;
  /** Header values as undici gives them (lower-case names). */
  readonly headers: Record<string, string | string[] | undefined>;
  /** The whole body (exactly its bytes: the view spans its buffer), or `null` when not read. */
  readonly body: Uint8Array | null;
}

/** What one request sends. */
export interface TransportRequest {
  readonly method: string;
  readonly headers: Record<string, string> | undefined;
  readonly body: string | Uint8Array | null;
  /** Wait for the headers, and at most this long between two pieces of the body, ms. */
  readonly timeout: number;
  readonly signal: AbortSignal;
  /** Read the body of a non-2xx answer too (`fetch` does; `get` does not). */
  readonly keepErrorBody: boolean;
}

// One keep-alive agent (one connection pool per origin) per concurrency, shared by every
// compute of the process, so connections outlive a compute. Idle sockets are unref'd by
// undici: they never keep a script alive. Requests go through undici's `dispatch` with a
// handler that writes the body straight into one buffer: `Agent.request` wraps every answer in
// a Readable stream (and redirects in a RedirectHandler), which on 368 requests of 50 KB cost
// the main thread about twice the CPU time (benchmarks/scheduler-io.bench.ts).
const agents = new Map<number, Agent>();

function agentFor(connections: number): Agent {
  let a = agents.get(connections);
  if (a === undefined) {
    a = new Agent({ connections, pipelining: 1 });
    agents.set(connections, a);
  }
  return a;
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

// Through undici each socket read is a new 64 KiB buffer that is garbage once copied into the
// body, and V8 collects dead buffers only after tens of MiB of them (33 MiB at the peak of a loop
// fetching 16 MiB chunks). A young-generation GC after every 16 MiB received frees them sooner
// (about a millisecond; none for computes that fetch less): the 2 GiB reduction over HTTP peaked
// at 333-347 MiB RSS with it, 341-361 MiB without. The direct client makes no such garbage, but
// its bodies are garbage too once decoded on this thread (sync mode, inline decodes): they are
// counted the same way.
const received = new GcBudget(16 * 2 ** 20);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Redirects followed at most, as undici's and fetch's default. */
const MAX_REDIRECTS = 5;

/**
 * One HTTP request through undici, its body read whole into one buffer. A transient status
 * (5xx, 429) comes back without its body (discarded), as does a status without a body;
 * redirects are followed (at most 5; 303 turns into a GET). Errors (resets, undici's
 * headers/body timeouts, the signal's abort) are thrown as undici throws them.
 */
export async function request(url: URL, req: TransportRequest, connections: number): Promise<BufferedResponse> {
  for (let hops = 0; ; hops++) {
    const res = isDirect(url, req.method, req.body) ? await directOnce(url, req, connections) : await dispatchOnce(url, req, connections);
    if (!REDIRECTS.has(res.status) || hops === MAX_REDIRECTS) return res;
    const location = res.headers["location"];
    if (typeof location !== "string") return res;
    const next = new URL(location, url);
    // a redirect to another origin does not carry the credentials meant for this one
    const headers = next.origin === url.origin ? req.headers : withoutCredentials(req.headers);
    req = res.status === 303 && req.method !== "HEAD" ? { ...req, method: "GET", body: null, headers } : { ...req, headers };
    url = next;
  }
}

function withoutCredentials(h: Record<string, string> | undefined): Record<string, string> | undefined {
  if (h === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (!/^(authorization|cookie|proxy-authorization)$/i.test(k)) out[k] = v;
  return out;
}

/** Whether to keep the body of an answer with `status` (the others are read and dropped). */
function keepsBody(status: number, req: TransportRequest): boolean {
  const ok = status >= 200 && status < 300;
  return !(NULL_BODY.has(status) || isTransientStatus(status) || REDIRECTS.has(status) || (!ok && !req.keepErrorBody));
}

/** One plain-HTTP GET or HEAD through the direct client (direct-http.ts). */
async function directOnce(url: URL, req: TransportRequest, connections: number): Promise<BufferedResponse> {
  const res = await directRequest(url, { method: req.method as "GET" | "HEAD", headers: req.headers, timeout: req.timeout, signal: req.signal, keepBody: (status) => keepsBody(status, req) }, connections);
  if (res.body !== null) received.add(res.body.byteLength);
  return new Answer(res.status, res.raw, res.body);
}

function dispatchOnce(url: URL, req: TransportRequest, connections: number): Promise<BufferedResponse> {
  return new Promise<BufferedResponse>((resolve, reject) => {
    const { signal } = req;
    let settled = false;
    let abort: ((e: Error) => void) | undefined;
    const onAbort = (): void => abort?.(signal.reason instanceof Error ? signal.reason : new DOMException("This operation was aborted", "AbortError"));
    let unsubscribe = (): void => {};
    const settle = (e: unknown, res?: BufferedResponse): void => {
      if (settled) return;
      settled = true;
      unsubscribe();
      if (res === undefined) reject(signal.aborted ? signal.reason : e);
      else resolve(res);
    };
    if (signal.aborted) {
      settle(signal.reason);
      return;
    }
    unsubscribe = onAbortOf(signal, onAbort);
    let status = 0;
    let raw: Buffer[] | string[] | null = null;
    let keep = false;
    let body: Uint8Array | undefined;
    let parts: Buffer[] | undefined;
    let at = 0;
    const handler = {
      onConnect(abortRequest: (e: Error) => void): void {
        abort = abortRequest;
        if (signal.aborted) onAbort();
      },
      onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null): boolean {
        status = statusCode;
        raw = rawHeaders;
        keep = keepsBody(status, req);
        if (keep) {
          const n = contentLength(rawHeaders);
          // every byte is written before the body is used (or it is cut to what came): no zero-fill
          if (n >= 0) body = new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
          else parts = [];
        }
        return true;
      },
      onData(chunk: Buffer): boolean {
        if (!keep) return true;
        if (parts !== undefined) {
          parts.push(chunk);
        } else if (body !== undefined) {
          if (at + chunk.byteLength > body.length) {
            abort?.(new RangeError(`Expected a body of ${body.length} bytes (Content-Length) from ${url.href}, got more`));
            return false;
          }
          body.set(chunk, at);
        }
        at += chunk.byteLength;
        return true;
      },
      onComplete(): void {
        received.add(at);
        // after this callback returns: the last socket read is still in use until then
        if (at > 0) setImmediate(() => received.collectIfDue());
        let out: Uint8Array | null = null;
        if (keep) {
          if (parts !== undefined) out = concat(parts, at);
          else out = at === body!.length ? body! : body!.slice(0, at);
        }
        settle(undefined, new Answer(status, raw, out));
      },
      onError(e: Error): void {
        settle(e);
      },
    };
    try {
      agentFor(connections).dispatch(
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: req.method as "GET",
          headers: req.headers,
          body: req.body,
          headersTimeout: req.timeout,
          bodyTimeout: req.timeout,
        },
        handler,
      );
    } catch (e) {
      settle(e);
    }
  });
}

/** A {@link BufferedResponse} whose header record is made only when read (most never are). */
class Answer implements BufferedResponse {
  readonly status: number;
  readonly body: Uint8Array | null;
  readonly #raw: Buffer[] | string[] | null;
  #headers: Record<string, string | string[]> | undefined;
  constructor(status: number, raw: Buffer[] | string[] | null, body: Uint8Array | null) {
    this.status = status;
    this.#raw = raw;
    this.body = body;
  }
  get headers(): Record<string, string | string[]> {
    return (this.#headers ??= headerRecord(this.#raw));
  }
}

/** The Content-Length of a raw header list, or -1 when absent or not a size. */
function contentLength(raw: Buffer[] | string[] | null): number {
  if (raw === null) return -1;
  for (let k = 0; k + 1 < raw.length; k += 2) {
    const name = raw[k]!;
    if (name.length === 14 && name.toString("latin1").toLowerCase() === "content-length") {
      const n = Number(raw[k + 1]!.toString("latin1"));
      return Number.isSafeInteger(n) && n >= 0 ? n : -1;
    }
  }
  return -1;
}

/** undici's raw header list (`[name, value, name, value, …]`) as lower-case names to values. */
function headerRecord(raw: Buffer[] | string[] | null): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (raw === null) return out;
  for (let k = 0; k + 1 < raw.length; k += 2) {
    const name = raw[k]!.toString("latin1").toLowerCase();
    const value = raw[k + 1]!.toString("latin1");
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

