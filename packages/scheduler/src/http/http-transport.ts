import type { Agent } from "undici";
import { HttpTransportError } from "../errors.js";
import { isTransientStatus } from "../retry.js";
import { GcBudget } from "../gc.js";
import { decodeContentEncoding } from "./content-encoding.js";
import { IDLE_MS, MAX_TIMER, concat, directRequest, isDirect, onAbortOf, type BodyProgress } from "./direct-http.js";
import { h2Request, isHttp1Only } from "./h2-client.js";

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
  /** The whole answer (headers and body) must be in within this long, ms. */
  readonly deadline: number;
  /** A kept body (as received, and once decoded) longer than this fails with `ZASK_HTTP_TOO_LARGE`. */
  readonly maxBytes: number;
  readonly signal: AbortSignal;
  /** Read the body of a non-2xx answer too (`fetch` does; `get` does not). */
  readonly keepErrorBody: boolean;
  /** Send GET and HEAD over HTTP/2 (h2c with prior knowledge on http, ALPN on https), else HTTP/1.1. */
  readonly http2?: boolean;
  /** Read a body of known length into a `SharedArrayBuffer` (the direct client only). */
  readonly shared?: boolean;
  /** Told of a `shared` body's bytes as they arrive (the direct client only; see direct-http.ts). */
  readonly onBody?: BodyProgress;
  /** Read a body of known length into a pooled buffer (the direct client only; see body-pool.ts). */
  readonly pooled?: boolean;
}

// One keep-alive agent (one connection pool per origin) per concurrency, shared by every
// compute of the process, so connections outlive a compute. Idle sockets are unref'd by
// undici: they never keep a script alive. Requests go through undici's `dispatch` with a
// handler that writes the body straight into one buffer, because `Agent.request`'s stream per
// answer costs the main thread much more CPU (benchmarks/scheduler-io.bench.ts).
const agents = new Map<number, Agent>();
// undici is imported on its first request (https, or what the direct client does not send):
// importing it slows the start of every process, and plain-http reads never need it
let undici: Promise<typeof import("undici")> | undefined;

async function agentFor(connections: number): Promise<Agent> {
  let a = agents.get(connections);
  if (a === undefined) {
    const { Agent } = await (undici ??= import("undici"));
    // another request may have made it while this one waited for the import
    a = agents.get(connections) ?? new Agent({ connections, pipelining: 1, keepAliveTimeout: IDLE_MS });
    agents.set(connections, a);
  }
  return a;
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

// Socket reads and bodies decoded on this thread become garbage that V8 collects only after
// tens of MiB of it: a young-generation GC after every 16 MiB received keeps the peak memory
// of long HTTP computes lower (benchmarks/scheduler-io.bench.ts).
const received = new GcBudget(16 * 2 ** 20);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Redirects followed at most, as undici's and fetch's default. */
const MAX_REDIRECTS = 5;

/**
 * One HTTP request, its body read whole into one buffer (plain-http GET and HEAD through the
 * direct client, the rest through undici). A transient status (5xx, 429) comes back without
 * its body (discarded), as does a status without a body; redirects are followed (at most 5;
 * 303 turns into a GET). A body in a Content-Encoding (gzip, deflate, br) is decoded; another
 * encoding, a body past `maxBytes` and an answer past `deadline` fail with a
 * {@link HttpTransportError}. Other errors (resets, timeouts, the signal's abort) are thrown as
 * the socket or undici throws them.
 */
export async function request(url: URL, req: TransportRequest, connections: number): Promise<BufferedResponse> {
  for (let hops = 0; ; hops++) {
    let res = req.http2 === true ? await h2Once(url, req) : undefined;
    res ??= isDirect(url, req.method, req.body) ? await directOnce(url, req, connections) : await dispatchOnce(url, req, connections);
    if (res.body !== null && res.encoding !== "" && res.encoding !== "identity") {
      res = new Answer(res.status, res.raw, decodeContentEncoding(res.body, res.encoding, url.href, req.maxBytes), "");
    }
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
async function directOnce(url: URL, req: TransportRequest, connections: number): Promise<Answer> {
  const res = await directRequest(
    url,
    {
      method: req.method as "GET" | "HEAD",
      headers: req.headers,
      timeout: req.timeout,
      deadline: req.deadline,
      maxBytes: req.maxBytes,
      signal: req.signal,
      keepBody: (status) => keepsBody(status, req),
      shared: req.shared === true,
      ...(req.onBody === undefined ? {} : { onBody: req.onBody }),
      ...(req.pooled === true ? { pooled: true } : {}),
    },
    connections,
  );
  if (res.body !== null) received.add(res.body.byteLength);
  return new Answer(res.status, res.raw, res.body, res.encoding);
}

/** One GET or HEAD over HTTP/2; `undefined` when the origin (or the request) is for HTTP/1.1. */
async function h2Once(url: URL, req: TransportRequest): Promise<Answer | undefined> {
  if ((req.method !== "GET" && req.method !== "HEAD") || req.body !== null || !/^https?:$/.test(url.protocol) || isHttp1Only(url.origin)) return undefined;
  const res = await h2Request(url, {
    method: req.method,
    headers: req.headers,
    timeout: req.timeout,
    deadline: req.deadline,
    maxBytes: req.maxBytes,
    signal: req.signal,
    keepBody: (status) => keepsBody(status, req),
  });
  if (res === undefined) return undefined;
  if (res.body !== null) received.add(res.body.byteLength);
  return new Answer(res.status, res.raw, res.body, res.encoding);
}

async function dispatchOnce(url: URL, req: TransportRequest, connections: number): Promise<Answer> {
  const agent = await agentFor(connections);
  return new Promise<Answer>((resolve, reject) => {
    const { signal } = req;
    let settled = false;
    let abort: ((e: Error) => void) | undefined;
    const onAbort = (): void => abort?.(signal.reason instanceof Error ? signal.reason : new DOMException("This operation was aborted", "AbortError"));
    let unsubscribe = (): void => {};
    let failed: HttpTransportError | undefined;
    const fail = (e: HttpTransportError): void => {
      failed = e;
      abort?.(e);
      settle(e);
    };
    const deadline =
      req.deadline >= MAX_TIMER
        ? undefined
        : setTimeout(
            () =>
              fail(
                new HttpTransportError("ZASK_HTTP_DEADLINE", url.href, `The answer from ${url.href} took longer than its deadline of ${req.deadline} ms`, {
                  limit: req.deadline,
                }),
              ),
            req.deadline,
          );
    const settle = (e: unknown, res?: Answer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
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
    const tooLarge = (bytes: number): HttpTransportError =>
      new HttpTransportError(
        "ZASK_HTTP_TOO_LARGE",
        url.href,
        `The body from ${url.href} exceeds the limit of ${req.maxBytes} bytes for this request (${bytes} bytes)`,
        { limit: req.maxBytes },
      );
    const handler = {
      onConnect(abortRequest: (e: Error) => void): void {
        abort = abortRequest;
        if (failed !== undefined) abortRequest(failed);
        else if (signal.aborted) onAbort();
      },
      onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null): boolean {
        status = statusCode;
        raw = rawHeaders;
        keep = keepsBody(status, req);
        if (keep) {
          const n = contentLength(rawHeaders);
          if (n > req.maxBytes) {
            fail(tooLarge(n));
            return false;
          }
          // every byte is written before the body is used (or it is cut to what came): no zero-fill
          if (n >= 0) body = new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
          else parts = [];
        }
        return true;
      },
      onData(chunk: Buffer): boolean {
        if (!keep) return true;
        if (at + chunk.byteLength > req.maxBytes) {
          fail(tooLarge(at + chunk.byteLength));
          return false;
        }
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
        settle(undefined, new Answer(status, raw, out, encodingOf(raw)));
      },
      onError(e: Error): void {
        settle(e);
      },
    };
    try {
      agent.dispatch(
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: req.method as "GET",
          headers: withIdentity(req.headers),
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

/**
 * A {@link BufferedResponse} whose header record is made only when read (most never are).
 * `encoding` is the Content-Encoding the body is still in (`""` once decoded: then the headers
 * leave out Content-Encoding and Content-Length, which describe the bytes as sent).
 */
class Answer implements BufferedResponse {
  readonly status: number;
  readonly body: Uint8Array | null;
  readonly raw: Buffer[] | string[] | null;
  readonly encoding: string;
  #headers: Record<string, string | string[]> | undefined;
  constructor(status: number, raw: Buffer[] | string[] | null, body: Uint8Array | null, encoding: string) {
    this.status = status;
    this.raw = raw;
    this.body = body;
    this.encoding = encoding;
  }
  get headers(): Record<string, string | string[]> {
    if (this.#headers === undefined) {
      this.#headers = headerRecord(this.raw);
      if (this.encoding === "" && this.#headers["content-encoding"] !== undefined) {
        delete this.#headers["content-encoding"];
        delete this.#headers["content-length"];
      }
    }
    return this.#headers;
  }
}

/** `headers` asking for bodies as stored (`Accept-Encoding: identity`) unless they ask otherwise. */
function withIdentity(headers: Record<string, string> | undefined): Record<string, string> {
  if (headers !== undefined && Object.keys(headers).some((k) => k.toLowerCase() === "accept-encoding")) return headers;
  return { ...headers, "accept-encoding": "identity" };
}

/** The Content-Encoding of a raw header list, lower-cased (`""` when absent). */
function encodingOf(raw: Buffer[] | string[] | null): string {
  if (raw === null) return "";
  let out = "";
  for (let k = 0; k + 1 < raw.length; k += 2) {
    if (raw[k]!.toString("latin1").toLowerCase() === "content-encoding") out += (out === "" ? "" : ",") + raw[k + 1]!.toString("latin1").trim().toLowerCase();
  }
  return out;
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
