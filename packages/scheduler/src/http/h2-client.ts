import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from "node:http2";
import { connect as netConnect, isIP, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { HttpTransportError } from "../errors.js";
import { originSlots } from "./origin-slots.js";
import { IDLE_MS, MAX_TIMER, concat, onAbortOf, type DirectResponse } from "./direct-http.js";

// node:http2 (and node:tls with it) is imported with the first session: loading them slows the
// start of every process, and HTTP/1.1 reads never need them
let http2: typeof import("node:http2") | undefined;

/**
 * HTTP/2 for the I/O lane (Node's `node:http2`): one session per origin, every request a stream
 * on it, as many at once as the server's SETTINGS_MAX_CONCURRENT_STREAMS allows. Plain http
 * speaks h2c with prior knowledge (opt-in: the lane's `http2` option); https offers `h2` and
 * `http/1.1` by ALPN. An origin that does not answer in HTTP/2 (an h2c preface refused, ALPN
 * picking http/1.1) is remembered as HTTP/1.1-only and its requests go to the HTTP/1.1 client.
 * Bodies keep the HTTP/1.1 client's guards: the byte cap (before allocation when announced),
 * the gap timeout, the deadline, the signal, typed errors naming the URL.
 *
 * State: `sessions` (origin → its live session, dropped on close, error or GOAWAY), `h1Only`
 * (origins that turned out not to speak HTTP/2), `streams` per session (active streams: the
 * session's socket keeps the process alive only while there are some, and an idle session is
 * closed after {@link IDLE_MS}, as the HTTP/1.1 client's idle connections are).
 */

/** The most streams used at once on one session, whatever the server allows. */
export const MAX_STREAMS = 256;

interface Session {
  /** The session, once there is one (on https, after the TLS handshake chose h2 by ALPN). */
  session: ClientHttp2Session | undefined;
  /** Settles once the server's SETTINGS arrived (`true`) or with the session's failure before that. */
  readonly ready: Promise<true | { error: unknown }>;
  streams: number;
  /** Closes the session once it has been without streams for {@link IDLE_MS}. */
  idle: NodeJS.Timeout | undefined;
}

/** Flow-control window of each stream, and of the whole session (bodies are read as they come). */
const STREAM_WINDOW = 16 * 2 ** 20;
const SESSION_WINDOW = 256 * 2 ** 20;

const sessions = new Map<string, Session>();
const h1Only = new Set<string>();

/** Whether `origin` is known not to speak HTTP/2. */
export function isHttp1Only(origin: string): boolean {
  return h1Only.has(origin);
}

/** Streams at once the live session of `origin` allows (`undefined` before one is established). */
export function h2StreamLimit(origin: string): number | undefined {
  const session = sessions.get(origin)?.session;
  const n = session?.remoteSettings?.maxConcurrentStreams;
  if (session === undefined || session.destroyed || n === undefined) return undefined;
  return Math.max(1, Math.min(n, MAX_STREAMS));
}

function sessionFor(url: URL): Session {
  const origin = url.origin;
  const live = sessions.get(origin);
  // a session still connecting is live too: its requests wait for it
  if (live !== undefined && (live.session === undefined || (!live.session.closed && !live.session.destroyed))) return live;
  const s: Session = { session: undefined, streams: 0, idle: undefined, ready: undefined as never };
  const drop = (): void => {
    if (sessions.get(origin) === s) sessions.delete(origin);
  };
  (s as { ready: Session["ready"] }).ready = (async (): Promise<true | { error: unknown }> => {
    let socket: TLSSocket | undefined;
    http2 ??= await import("node:http2");
    const h2 = http2;
    if (url.protocol === "https:") {
      try {
        socket = await alpnSocket(url);
      } catch (error) {
        drop();
        return { error };
      }
      if (socket.alpnProtocol !== "h2") {
        h1Only.add(origin);
        socket.destroy();
        drop();
        return { error: undefined };
      }
    }
    // flow-control windows as large as a wave of chunks: with the default 64 KiB, every 64 KiB of
    // bodies in flight on the session would wait a round trip for a WINDOW_UPDATE
    const settings = { initialWindowSize: STREAM_WINDOW };
    // frames go out as they are written (WINDOW_UPDATEs, request HEADERS), not held by Nagle's
    // algorithm until the server acknowledges earlier ones
    const conn = socket ?? plainSocket(url);
    conn.setNoDelay(true);
    const session = h2.connect(origin, { settings, createConnection: () => conn });
    s.session = session;
    session.once("connect", () => session.setLocalWindowSize(SESSION_WINDOW));
    // each stream reports its own failure; the session's only ends the session
    session.on("error", drop);
    session.on("close", drop);
    session.on("goaway", drop);
    return new Promise<true | { error: unknown }>((resolve) => {
      // the connect keeps the process alive (the requests waiting for it hold no other handle);
      // once it is over, only streams do
      const settle = (r: true | { error: unknown }): void => {
        if (s.streams === 0) session.unref();
        resolve(r);
      };
      session.once("remoteSettings", () => settle(true));
      // requests waiting for the origin's slots may now start, up to the server's stream limit
      session.on("remoteSettings", () => originSlots(origin).raise(h2StreamLimit(origin) ?? 1));
      session.once("error", (error: unknown) => settle({ error }));
      session.once("close", () => settle({ error: undefined }));
    });
  })();
  sessions.set(origin, s);
  return s;
}

/** A TCP connection for h2c. */
function plainSocket(url: URL): Socket {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return netConnect({ host, port: Number(url.port || 80) });
}

/**
 * A TLS connection offering h2 and http/1.1, once its handshake is over: the caller reads the
 * protocol the server chose (a session is made on it only for h2, since Node's http2 cannot
 * take over a socket that another part of the code has already closed).
 */
async function alpnSocket(url: URL): Promise<TLSSocket> {
  const { connect: tlsConnect } = await import("node:tls");
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  // SNI names a host, never an address (RFC 6066)
  const socket = tlsConnect({ host, port: Number(url.port || 443), ...(isIP(host) === 0 ? { servername: host } : {}), ALPNProtocols: ["h2", "http/1.1"] });
  return new Promise<TLSSocket>((resolve, reject) => {
    socket.once("secureConnect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** One request of the HTTP/2 client (the direct client's, {@link DirectResponse} back). */
export interface H2Request {
  readonly method: string;
  readonly headers: Record<string, string> | undefined;
  readonly timeout: number;
  readonly deadline: number;
  readonly maxBytes: number;
  readonly signal: AbortSignal;
  keepBody(status: number): boolean;
}

/**
 * Send `req` for `url` as a stream on the origin's session and read the answer. Resolves
 * `undefined` when the origin turns out not to speak HTTP/2 (the caller sends it over
 * HTTP/1.1); rejects with a {@link HttpTransportError}, the stream's error or the signal's reason.
 */
export async function h2Request(url: URL, req: H2Request): Promise<DirectResponse | undefined> {
  req.signal.throwIfAborted();
  const s = sessionFor(url);
  const ready = await s.ready;
  if (ready !== true) {
    if (h1Only.has(url.origin)) return undefined;
    // on https only ALPN tells the protocol: any other failure is the connection's (a certificate, a reset)
    if (url.protocol === "https:" && ready.error !== undefined) throw ready.error;
    // a socket that failed (refused, reset, TLS) says nothing about the protocol: reported as is
    const code = (ready.error as { code?: unknown } | undefined)?.code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) throw ready.error;
    if (typeof code === "string" && /^ERR_(TLS|SSL|OSSL)_/.test(code)) throw ready.error;
    // the server answered, but not in HTTP/2 (an HTTP/1.1 server refusing the h2c preface)
    h1Only.add(url.origin);
    return undefined;
  }
  req.signal.throwIfAborted();
  return streamOnce(s, url, req);
}

function streamOnce(s: Session, url: URL, req: H2Request): Promise<DirectResponse> {
  return new Promise<DirectResponse>((resolve, reject) => {
    let stream: ClientHttp2Stream;
    try {
      stream = s.session!.request(
        { ...req.headers, ":method": req.method, ":path": url.pathname + url.search, "accept-encoding": req.headers?.["accept-encoding"] ?? "identity" },
        { endStream: true },
      );
    } catch (e) {
      reject(e);
      return;
    }
    if (s.streams++ === 0) {
      clearTimeout(s.idle);
      s.session!.ref();
    }
    let settled = false;
    let status = 0;
    let raw: string[] = [];
    let encoding = "";
    let keep = false;
    let body: Uint8Array | undefined;
    let parts: Buffer[] | undefined;
    let at = 0;
    const settle = (e: unknown, res?: DirectResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      if (--s.streams === 0) {
        s.session!.unref();
        s.idle = setTimeout(() => s.session!.close(), IDLE_MS).unref();
      }
      if (res === undefined) {
        if (!stream.closed) stream.close(http2!.constants.NGHTTP2_CANCEL);
        reject(req.signal.aborted ? req.signal.reason : e);
      } else resolve(res);
    };
    const fail = (code: string, message: string, limit?: number): void => settle(new HttpTransportError(code, url.href, message, { limit }));
    // One timer per stream for both the deadline and the gap timeout (no frame of this stream for
    // that long), re-armed only when it fires early: Node's own stream timeout is moved in its
    // timer list on every frame, which costs the main thread more than the frame's bytes.
    const started = performance.now();
    let last = started;
    const check = (): void => {
      const now = performance.now();
      if (now - started >= req.deadline)
        fail("ZASK_HTTP_DEADLINE", `The answer from ${url.href} took longer than its deadline of ${req.deadline} ms`, req.deadline);
      else if (now - last >= req.timeout) fail("ZASK_HTTP_TIMEOUT", `No answer from ${url.href} for ${req.timeout} ms`, req.timeout);
      else arm(Math.min(started + req.deadline, last + req.timeout) - now);
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (ms: number): void => {
      // past Node's longest timer there is no limit to keep
      if (ms < MAX_TIMER) timer = setTimeout(check, Math.max(1, Math.ceil(ms)));
    };
    arm(Math.min(req.deadline, req.timeout));
    const unsubscribe = onAbortOf(req.signal, () => settle(req.signal.reason));
    const tooLarge = (bytes: number): void =>
      fail("ZASK_HTTP_TOO_LARGE", `The body from ${url.href} exceeds the limit of ${req.maxBytes} bytes for this request (${bytes} bytes)`, req.maxBytes);
    stream.on("response", (headers: IncomingHttpHeaders) => {
      last = performance.now();
      status = Number(headers[":status"]);
      raw = flatHeaders(headers);
      encoding = String(headers["content-encoding"] ?? "")
        .trim()
        .toLowerCase();
      keep = req.method !== "HEAD" && req.keepBody(status);
      if (!keep) return;
      const n = Number(headers["content-length"] ?? -1);
      if (n > req.maxBytes) return tooLarge(n);
      // every byte is written before the body is used (or it is cut to what came): no zero-fill
      if (Number.isSafeInteger(n) && n >= 0) body = new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
      else parts = [];
    });
    stream.on("data", (chunk: Buffer) => {
      last = performance.now();
      if (!keep || settled) return;
      if (at + chunk.byteLength > req.maxBytes) return tooLarge(at + chunk.byteLength);
      if (parts !== undefined) parts.push(chunk);
      else if (body !== undefined) {
        if (at + chunk.byteLength > body.length)
          return fail("ZASK_HTTP_PARSE", `Expected a body of ${body.length} bytes (content-length) from ${url.href}, got more`);
        body.set(chunk, at);
      }
      at += chunk.byteLength;
    });
    stream.on("end", () => {
      if (settled) return;
      let out: Uint8Array | null = null;
      if (keep) out = parts !== undefined ? concat(parts, at) : at === body!.length ? body! : body!.slice(0, at);
      settle(undefined, { status, raw, body: out, encoding });
    });
    stream.on("error", (e: Error) => settle(e));
    stream.on("close", () => {
      if (!settled) fail("ZASK_HTTP_CLOSED", `The HTTP/2 stream for ${url.href} closed before the answer was complete (code ${stream.rstCode})`);
    });
  });
}

/** The header fields of an answer as a flat `[name, value, …]` list (pseudo-headers left out). */
function flatHeaders(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith(":") || v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else out.push(k, String(v));
  }
  return out;
}
