import { connect, type NetConnectOpts, type Socket } from "node:net";
import { HttpTransportError } from "../errors.js";
import { takeBody } from "./body-pool.js";
import { takeSharedBody } from "./shared-body-pool.js";

/**
 * A minimal HTTP/1.1 client for the I/O lane's plain-HTTP GET and HEAD requests that reads each
 * response body straight into its final buffer. Node's socket `onread` option lets the caller
 * say where each read goes: the headers go to the connection's scratch buffer, and once the
 * Content-Length is known every read lands in the body itself, as much of the rest of the body
 * as the kernel has. No HTTP library does this: undici copies every socket read into its
 * parser's memory and makes a new buffer per read, which costs several times the CPU on big
 * bodies (measured in benchmarks/scheduler-io.bench.ts). Everything else (https, other
 * methods, request bodies) goes through undici (http-transport.ts).
 *
 * What it implements of HTTP/1.1: keep-alive connections pooled per origin (idle ones unref'd
 * and closed after the server's `Keep-Alive: timeout`, or {@link IDLE_MS}), bodies framed by Content-Length, chunked transfer coding or
 * the end of the connection, responses without a body (HEAD, 1xx, 204, 304), interim 1xx
 * responses skipped, `Connection: close` and HTTP/1.0 honoured, a timeout for the wait for the
 * headers and between two reads of the body, a deadline for the whole answer, a cap on the
 * body's size, the signal, and one silent retry on a fresh
 * connection when a reused one turns out closed before any byte of the answer (the server
 * dropped it while idle; GET and HEAD are idempotent).
 */

/** Longer timers fire at once in Node: a deadline this long or more is none. */
export const MAX_TIMER = 2 ** 31 - 1;
/** The most header bytes accepted (status line and header fields). */
const MAX_HEAD = 64 * 1024;
/**
 * An idle connection is closed after this long, ms, unless the server says in `Keep-Alive:
 * timeout=N` that it closes sooner: a new connection costs a round trip more (its handshake),
 * and a server that closes an idle one first is seen doing it (or, in the rare race, the
 * request is sent once more on a fresh connection).
 */
export const IDLE_MS = 60_000;

/** Margin under a server's announced keep-alive timeout, ms, so that we close first. */
const KEEP_ALIVE_MARGIN_MS = 1_000;

/** A response as read: its status, its header fields as a flat `[name, value, …]` list, its body (`null` when not kept). */
export interface DirectResponse {
  readonly status: number;
  readonly raw: string[];
  readonly body: Uint8Array | null;
  /** The Content-Encoding, lower-cased (`""` when absent): the body is as it came, not decoded. */
  readonly encoding: string;
}

/** One request of the direct client. */
export interface DirectRequest {
  readonly method: "GET" | "HEAD";
  readonly headers: Record<string, string> | undefined;
  /** Wait at most this long for the headers, and between two reads of the body, ms. */
  readonly timeout: number;
  /** The whole answer must be in within this long, ms. */
  readonly deadline: number;
  /** A kept body longer than this fails (before anything is allocated when its length is announced). */
  readonly maxBytes: number;
  readonly signal: AbortSignal;
  /** Whether to keep the body of an answer with this status (else it is read and dropped). */
  keepBody(status: number): boolean;
  /** Read a body of known length into a `SharedArrayBuffer`. @default false */
  readonly shared?: boolean;
  /**
   * Called as a kept body read into a `SharedArrayBuffer` (`shared`, a known length, no
   * Content-Encoding) arrives, with the bytes in so far: views of them never change again.
   */
  readonly onBody?: BodyProgress;
  /** Read a body of known length into a pooled buffer (see body-pool.ts), unless `shared`. @default false */
  readonly pooled?: boolean;
}

/** See {@link DirectRequest.onBody}: the answer's status, its whole body buffer, the bytes received. */
export type BodyProgress = (status: number, body: Uint8Array, received: number) => void;

/** Whether `method` and `body` are what the direct client does, for `url`. */
export function isDirect(url: URL, method: string, body: unknown): method is "GET" | "HEAD" {
  return url.protocol === "http:" && (method === "GET" || method === "HEAD") && body === null;
}

interface Origin {
  readonly idle: Connection[];
  max: number;
  /** Its last answer closed the connection (HTTP/1.0, `Connection: close`): each request connects anew. */
  closes: boolean;
}

const origins = new Map<string, Origin>();

/**
 * Requests in flight to an origin whose answers close their connections. Each such request is a
 * new connection, and a simple server's listen backlog is small (Python's `http.server`: 5):
 * more connections at once than it holds have their SYNs dropped and sent again a second later.
 */
export const CLOSING_ORIGIN_BOUND = 4;

/**
 * The requests to allow in flight to `origin` (an `http:` URL's origin) under a bound of
 * `bound`: at most {@link CLOSING_ORIGIN_BOUND} while its last answer closed its connection.
 */
export function directBound(origin: string, bound: number): number {
  return origins.get(origin)?.closes === true ? Math.min(bound, CLOSING_ORIGIN_BOUND) : bound;
}

/**
 * Send `req` for `url` (http:, GET or HEAD) on a pooled connection to its origin and read the
 * answer. At most `connections` idle connections are kept per origin (the I/O lane bounds how
 * many are busy). Rejects with the socket's error (ECONNRESET, ECONNREFUSED, …), a
 * {@link HttpTransportError}, or the signal's reason.
 */
export async function directRequest(url: URL, req: DirectRequest, connections: number): Promise<DirectResponse> {
  req.signal.throwIfAborted();
  // before a connection is taken: a refused request is not one a stale connection failed
  checkHeaders(url, req.headers);
  let origin = origins.get(url.origin);
  // the largest bound any lane asked for: lanes with other bounds must not close each other's idle connections
  if (origin === undefined) {
    origin = { idle: [], max: connections, closes: false };
    origins.set(url.origin, origin);
  } else if (origin.max < connections) {
    origin.max = connections;
  }
  for (;;) {
    let conn = origin.idle.pop();
    while (conn !== undefined && conn.closed) conn = origin.idle.pop();
    const reused = conn !== undefined;
    conn ??= new Connection(url, origin);
    try {
      return await conn.send(url, req);
    } catch (e) {
      // a kept-alive connection the server had closed meanwhile: once more on a new one (only
      // when it did close, so a failure that leaves the connection usable is never retried,
      // and not after a timeout, which the I/O lane retries within its own budget)
      if (reused && conn.closed && conn.answered === 0 && !req.signal.aborted && !isTimeout(e)) continue;
      throw e;
    }
  }
}

function isTimeout(e: unknown): boolean {
  return e instanceof HttpTransportError && (e.code === "ZASK_HTTP_TIMEOUT" || e.code === "ZASK_HTTP_DEADLINE");
}

/** Throws a TypeError naming the header and the URL when a header's name or value would break the request's framing. */
function checkHeaders(url: URL, headers: Readonly<Record<string, string>> | undefined): void {
  if (headers === undefined) return;
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n:]/.test(name) || /[\r\n]/.test(value)) throw new TypeError(`Invalid request header ${JSON.stringify(name)} for ${url.href}`);
  }
}

const enum Phase {
  Idle,
  Head,
  Length,
  Chunked,
  UntilClose,
}

const enum Chunk {
  Size,
  Data,
  DataEnd,
  Trailer,
}

const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");

/** One keep-alive connection: at most one request at a time. */
class Connection {
  readonly #socket: Socket;
  readonly #origin: Origin;
  /** Header bytes (and, with chunked or close-delimited bodies, the raw body) land here. */
  readonly #scratch = Buffer.allocUnsafe(MAX_HEAD);
  #used = 0;
  #phase = Phase.Idle;
  #head = false;
  /** Bytes of this answer received so far (0: a reused connection may be stale). */
  answered = 0;
  closed = false;
  #keepAlive = true;
  /** How long this connection may stay idle (the server's `Keep-Alive: timeout`, else {@link IDLE_MS}). */
  #idleMs = IDLE_MS;
  #status = 0;
  #raw: string[] = [];
  #keep = false;
  #body: Uint8Array | null = null;
  #at = 0;
  #length = 0;
  #parts: Uint8Array[] = [];
  #chunk = Chunk.Size;
  #chunkLeft = 0;
  #line = "";
  #timeout = 0;
  #maxBytes = 0;
  #encoding = "";
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #url: URL | undefined;
  #keepBody: (status: number) => boolean = () => true;
  #shared = false;
  /** Told of the body's bytes as they arrive (see {@link DirectRequest.onBody}). */
  #onBody: BodyProgress | undefined;
  #pooled = false;
  #settle: ((e: unknown, res?: DirectResponse) => void) | undefined;

  constructor(url: URL, origin: Origin) {
    this.#origin = origin;
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    this.#socket = connect({
      host,
      port: url.port === "" ? 80 : Number(url.port),
      onread: { buffer: () => this.#nextBuffer(), callback: (n: number) => this.#onRead(n) },
    } as NetConnectOpts);
    this.#socket.setNoDelay(true);
    this.#socket.on("error", (e) => this.#destroy(e));
    this.#socket.on("end", () => this.#onEnd());
    this.#socket.on("close", () => this.#onClose());
    this.#socket.on("timeout", () => this.#onTimeout());
  }

  send(url: URL, req: DirectRequest): Promise<DirectResponse> {
    return new Promise<DirectResponse>((resolve, reject) => {
      const { signal } = req;
      let unsubscribe = (): void => {};
      this.#settle = (e, res) => {
        this.#settle = undefined;
        clearTimeout(this.#deadline);
        unsubscribe();
        if (res !== undefined) resolve(res);
        else reject(signal.aborted ? signal.reason : e);
      };
      unsubscribe = onAbortOf(signal, () => this.#destroy(signal.reason));
      this.#url = url;
      this.#head = req.method === "HEAD";
      this.#keepBody = req.keepBody;
      this.#shared = req.shared === true;
      this.#onBody = req.onBody;
      this.#pooled = req.pooled === true;
      this.#reset();
      this.#phase = Phase.Head;
      this.answered = 0;
      this.#timeout = req.timeout;
      this.#maxBytes = req.maxBytes;
      if (req.deadline < MAX_TIMER)
        this.#deadline = setTimeout(
          () =>
            this.#destroy(
              new HttpTransportError(
                "ZASK_HTTP_DEADLINE",
                url.href,
                `The answer from ${url.href} took longer than its deadline of ${req.deadline} ms (${this.answered} bytes in)`,
                { limit: req.deadline },
              ),
            ),
          req.deadline,
        );
      this.#socket.ref();
      this.#socket.setTimeout(req.timeout);
      let text = `${req.method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
      let encoding = false;
      if (req.headers !== undefined) {
        for (const [name, value] of Object.entries(req.headers)) {
          const lower = name.toLowerCase();
          if (lower === "host") continue;
          if (lower === "accept-encoding") encoding = true;
          text += `${name}: ${value}\r\n`;
        }
      }
      // bodies are wanted as stored: a server that compresses anyway is decoded by the transport
      if (!encoding) text += "Accept-Encoding: identity\r\n";
      this.#socket.write(text + "\r\n", "latin1");
    });
  }

  #reset(): void {
    this.#used = 0;
    this.#status = 0;
    this.#raw = [];
    this.#keep = false;
    this.#body = null;
    this.#at = 0;
    this.#length = 0;
    this.#parts = [];
    this.#chunk = Chunk.Size;
    this.#chunkLeft = 0;
    this.#line = "";
    this.#keepAlive = true;
    this.#encoding = "";
  }

  /** Where the next read goes: the rest of the body when its length is known, else the scratch buffer. */
  #nextBuffer(): Uint8Array {
    if (this.#phase === Phase.Length && this.#keep && this.#at < this.#length) return this.#body!.subarray(this.#at);
    return this.#scratch.subarray(this.#phase === Phase.Head ? this.#used : 0);
  }

  #onRead(n: number): boolean {
    this.answered += n;
    try {
      switch (this.#phase) {
        case Phase.Idle:
          // nothing was asked: the server is misbehaving; the connection is not reused
          this.#destroy(undefined);
          return false;
        case Phase.Head:
          this.#used += n;
          this.#parseHead();
          break;
        case Phase.Length:
          this.#at += n;
          if (this.#at > this.#length)
            throw new HttpTransportError("ZASK_HTTP_PARSE", this.#url!.href, `More than the ${this.#length} bytes of Content-Length from ${this.#url!.href}`);
          if (this.#at === this.#length) this.#finish();
          else this.#progress();
          break;
        case Phase.Chunked:
          this.#parseChunked(0, n);
          break;
        case Phase.UntilClose:
          this.#at += n;
          this.#checkSize(this.#at);
          if (this.#keep) this.#parts.push(copyOf(this.#scratch, 0, n));
          break;
      }
    } catch (e) {
      this.#destroy(e);
      return false;
    }
    return true;
  }

  /** Parse the status line and header fields once they are all in; then start on the body with what came after them. */
  #parseHead(): void {
    const end = this.#scratch.subarray(0, this.#used).indexOf(CRLFCRLF);
    if (end < 0) {
      if (this.#used === MAX_HEAD)
        throw new HttpTransportError("ZASK_HTTP_PARSE", this.#url!.href, `Response headers from ${this.#url!.href} exceed ${MAX_HEAD} bytes`);
      return;
    }
    const lines = this.#scratch.toString("latin1", 0, end).split("\r\n");
    const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]!);
    if (m === null)
      throw new HttpTransportError(
        "ZASK_HTTP_PARSE",
        this.#url!.href,
        `Not an HTTP/1.x status line from ${this.#url!.href}: ${JSON.stringify(lines[0]!.slice(0, 80))}`,
      );
    const status = Number(m[2]);
    const raw: string[] = [];
    let length = -1;
    let chunked = false;
    let connection = "";
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k]!;
      const colon = line.indexOf(":");
      if (colon <= 0 || line[0] === " " || line[0] === "\t")
        throw new HttpTransportError("ZASK_HTTP_PARSE", this.#url!.href, `Malformed header line from ${this.#url!.href}: ${JSON.stringify(line.slice(0, 80))}`);
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      raw.push(name, value);
      const lower = name.toLowerCase();
      if (lower === "content-length") {
        const v = /^\d+$/.test(value) ? Number(value) : NaN;
        if (!Number.isSafeInteger(v) || (length >= 0 && v !== length))
          throw new HttpTransportError("ZASK_HTTP_PARSE", this.#url!.href, `Invalid Content-Length ${JSON.stringify(value)} from ${this.#url!.href}`);
        length = v;
      } else if (lower === "transfer-encoding") {
        chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
        if (!chunked)
          throw new HttpTransportError("ZASK_HTTP_PARSE", this.#url!.href, `Unsupported Transfer-Encoding ${JSON.stringify(value)} from ${this.#url!.href}`);
      } else if (lower === "connection") {
        connection += value.toLowerCase() + ",";
      } else if (lower === "keep-alive") {
        const t = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(value);
        if (t !== null) this.#idleMs = Math.max(0, Math.min(IDLE_MS, Number(t[1]) * 1000 - KEEP_ALIVE_MARGIN_MS));
      } else if (lower === "content-encoding") {
        this.#encoding += (this.#encoding === "" ? "" : ",") + value.toLowerCase();
      }
    }
    const after = end + 4;
    const rest = this.#used - after;
    if (status >= 100 && status < 200) {
      // an interim answer (100 Continue, 103 Early Hints): the real one follows
      this.#scratch.copy(this.#scratch, 0, after, this.#used);
      this.#used = rest;
      if (rest > 0) this.#parseHead();
      return;
    }
    this.#status = status;
    this.#raw = raw;
    this.#keepAlive = m[1] === "1" ? !/(?:^|,)\s*close\s*,/.test(connection) : /(?:^|,)\s*keep-alive\s*,/.test(connection);
    this.#origin.closes = !this.#keepAlive;
    this.#keep = this.#keepBody(status);
    if (this.#head || status === 204 || status === 304) {
      if (rest > 0) throw new HttpTransportError("ZASK_HTTP_PARSE", this.#url!.href, `A body after a ${status} answer without one from ${this.#url!.href}`);
      this.#length = 0;
      this.#finish();
    } else if (chunked) {
      this.#phase = Phase.Chunked;
      if (rest > 0) this.#parseChunked(after, after + rest);
    } else if (length >= 0) {
      if (rest > length)
        throw new HttpTransportError("ZASK_HTTP_PARSE", this.#url!.href, `More than the ${length} bytes of Content-Length from ${this.#url!.href}`);
      this.#phase = Phase.Length;
      this.#length = length;
      this.#checkSize(length);
      if (this.#keep) {
        this.#body = this.#shared ? takeSharedBody(length) : this.#pooled ? takeBody(length) : new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
        this.#body.set(this.#scratch.subarray(after, after + rest));
        // only bytes that no later read overwrites may be shown before the end
        if (!this.#shared || this.#encoding !== "" || status < 200 || status >= 300) this.#onBody = undefined;
      } else this.#onBody = undefined;
      this.#at = rest;
      if (this.#at === this.#length) this.#finish();
      else if (rest > 0) this.#progress();
    } else {
      // no framing: the body ends with the connection
      this.#phase = Phase.UntilClose;
      this.#keepAlive = false;
      this.#checkSize(rest);
      if (this.#keep && rest > 0) this.#parts.push(copyOf(this.#scratch, after, this.#used));
      this.#at = rest;
    }
  }

  #progress(): void {
    this.#onBody?.(this.#status, this.#body!, this.#at);
  }

  /** Chunked transfer coding in scratch bytes `[from, to)`: data to the parts, sizes, extensions and trailers parsed and dropped. */
  #parseChunked(from: number, to: number): void {
    const s = this.#scratch;
    let p = from;
    while (p < to && this.#phase === Phase.Chunked) {
      switch (this.#chunk) {
        case Chunk.Size:
        case Chunk.Trailer: {
          const nl = s.indexOf(10, p);
          const stop = nl < 0 || nl >= to ? to : nl;
          this.#line += s.toString("latin1", p, stop);
          if (this.#line.length > 4096)
            throw new HttpTransportError("ZASK_HTTP_PARSE", this.#url!.href, `Chunk size or trailer line too long from ${this.#url!.href}`);
          p = stop;
          if (nl < 0 || nl >= to) break;
          p++;
          const line = this.#line.endsWith("\r") ? this.#line.slice(0, -1) : this.#line;
          this.#line = "";
          if (this.#chunk === Chunk.Trailer) {
            if (line === "") this.#finish();
            break;
          }
          const size = /^([0-9a-fA-F]{1,12})(?:[ \t]*;.*)?$/.exec(line);
          if (size === null)
            throw new HttpTransportError(
              "ZASK_HTTP_PARSE",
              this.#url!.href,
              `Invalid chunk size line ${JSON.stringify(line.slice(0, 40))} from ${this.#url!.href}`,
            );
          this.#chunkLeft = parseInt(size[1]!, 16);
          this.#chunk = this.#chunkLeft === 0 ? Chunk.Trailer : Chunk.Data;
          break;
        }
        case Chunk.Data: {
          const take = Math.min(this.#chunkLeft, to - p);
          this.#checkSize(this.#at + take);
          if (this.#keep) this.#parts.push(copyOf(s, p, p + take));
          this.#at += take;
          this.#chunkLeft -= take;
          p += take;
          if (this.#chunkLeft === 0) this.#chunk = Chunk.DataEnd;
          break;
        }
        case Chunk.DataEnd: {
          // the CRLF after a chunk's data
          const c = s[p++]!;
          if (c === 10) this.#chunk = Chunk.Size;
          else if (c !== 13) throw new HttpTransportError("ZASK_HTTP_PARSE", this.#url!.href, `Missing CRLF after a chunk from ${this.#url!.href}`);
          break;
        }
      }
    }
    if (p < to && this.#phase !== Phase.Chunked)
      throw new HttpTransportError("ZASK_HTTP_PARSE", this.#url!.href, `Bytes after the last chunk from ${this.#url!.href}`);
  }

  /** Throws when a kept body of `bytes` would exceed the request's limit (a dropped body is bounded by the deadline). */
  #checkSize(bytes: number): void {
    if (this.#keep && bytes > this.#maxBytes) {
      const href = this.#url!.href;
      throw new HttpTransportError(
        "ZASK_HTTP_TOO_LARGE",
        href,
        `The body from ${href} exceeds the limit of ${this.#maxBytes} bytes for this request (${bytes} bytes)`,
        { limit: this.#maxBytes },
      );
    }
  }

  #finish(): void {
    let body: Uint8Array | null = null;
    if (this.#keep) body = this.#body ?? concat(this.#parts, this.#at);
    const res: DirectResponse = { status: this.#status, raw: this.#raw, body, encoding: this.#encoding };
    const settle = this.#settle;
    this.#settle = undefined;
    const keepAlive = this.#keepAlive;
    this.#phase = Phase.Idle;
    this.#onBody = undefined;
    this.#reset();
    this.#release(keepAlive);
    settle?.(undefined, res);
  }

  /** Back to the origin's idle list (when the answer allows another request on this connection), or closed. */
  #release(keepAlive: boolean): void {
    if (this.closed) return;
    const { idle, max } = this.#origin;
    if (!keepAlive || idle.length >= max || this.#idleMs === 0) {
      this.#destroy(undefined);
      return;
    }
    this.#socket.setTimeout(this.#idleMs);
    this.#socket.unref();
    idle.push(this);
  }

  #onEnd(): void {
    // a close-delimited body is complete (and #finish closes the connection)
    if (this.#phase === Phase.UntilClose) this.#finish();
    else if (this.#phase !== Phase.Idle)
      this.#destroy(
        new HttpTransportError(
          "ZASK_HTTP_CLOSED",
          this.#url!.href,
          `The connection closed before the answer from ${this.#url!.href} was complete (${this.answered} bytes in)`,
        ),
      );
    else this.#destroy(undefined);
  }

  #onClose(): void {
    this.closed = true;
    this.#forget();
    if (this.#settle !== undefined)
      this.#settle(
        new HttpTransportError(
          "ZASK_HTTP_CLOSED",
          this.#url?.href ?? "",
          `The connection closed before the answer from ${this.#url?.href} was complete (${this.answered} bytes in)`,
        ),
      );
  }

  #onTimeout(): void {
    if (this.#phase === Phase.Idle) this.#destroy(undefined);
    else
      this.#destroy(
        new HttpTransportError(
          "ZASK_HTTP_TIMEOUT",
          this.#url!.href,
          `No bytes from ${this.#url!.href} for ${this.#timeout} ms (${this.answered} bytes of the answer in)`,
          { limit: this.#timeout },
        ),
      );
  }

  #destroy(e: unknown): void {
    this.closed = true;
    this.#forget();
    this.#phase = Phase.Idle;
    const settle = this.#settle;
    this.#settle = undefined;
    this.#socket.destroy();
    if (settle !== undefined) settle(e ?? new HttpTransportError("ZASK_HTTP_CLOSED", this.#url?.href ?? "", `The connection to ${this.#url?.origin} closed`));
  }

  #forget(): void {
    const i = this.#origin.idle.indexOf(this);
    if (i >= 0) this.#origin.idle.splice(i, 1);
  }
}

// One abort listener per signal (a compute's), shared by its requests: EventTarget's
// add/removeEventListener per request cost more than the rest of the request's bookkeeping.
// It is removed when the last request unsubscribes: Node keeps a signal of `AbortSignal.any`
// that has a listener, and everything the listener reaches, until the signal aborts.
const aborters = new WeakMap<AbortSignal, { fns: Set<() => void>; listener: () => void }>();

/** Call `fn` when `signal` aborts; returns the unsubscribe. */
export function onAbortOf(signal: AbortSignal, fn: () => void): () => void {
  let entry = aborters.get(signal);
  if (entry === undefined) {
    const fns = new Set<() => void>();
    entry = { fns, listener: () => fns.forEach((f) => f()) };
    aborters.set(signal, entry);
    signal.addEventListener("abort", entry.listener, { once: true });
  }
  const { fns, listener } = entry;
  fns.add(fn);
  return () => {
    if (!fns.delete(fn) || fns.size > 0) return;
    signal.removeEventListener("abort", listener);
    if (aborters.get(signal)?.fns === fns) aborters.delete(signal);
  };
}

/** A copy of bytes `[from, to)` of the scratch buffer (Buffer's own `slice` would be a view of it). */
function copyOf(b: Buffer, from: number, to: number): Uint8Array {
  return Uint8Array.prototype.slice.call(b, from, to);
}

/** `parts` joined into one buffer of `total` bytes that spans its own ArrayBuffer. */
export function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(Buffer.allocUnsafeSlow(total).buffer, 0, total);
  let at = 0;
  for (const c of parts) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
