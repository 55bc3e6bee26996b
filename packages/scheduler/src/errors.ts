import { CycleError, FusionError, MissingKeyError, ZaskError } from "@zask/graph";
import { registerErrorClass } from "./error-transfer.js";

/**
 * A task of a compute failed. Carries the task's key and the op that failed; the original
 * error is the `cause` (an {@link HttpError} for a failed request).
 *
 * @example
 * ```ts
 * try {
 *   await compute(graph, [key]);
 * } catch (e) {
 *   if (e instanceof TaskError) console.error(e.key, e.op, e.cause);
 * }
 * ```
 */
export class TaskError extends ZaskError {
  override name = "TaskError" as const;
  /** The key of the task (for a fused task, the fused node's key). */
  readonly key: string;
  /** The printable name of the op that threw (`module#name` or the function's name). */
  readonly op: string;
  /** The key of the fused step that threw, when the task is fused; otherwise `key`. */
  readonly step: string;

  constructor(key: string, op: string, cause: unknown, step: string = key) {
    super(`Task ${key} failed in op ${op}: ${describe(cause)}`, { cause });
    this.key = key;
    this.op = op;
    this.step = step;
  }
}

/** What kind of failure an {@link HttpError} is: the server's status, or why no usable answer came. */
export type HttpFailure = "status" | "dns" | "refused" | "reset" | "tls" | "timeout" | "too-large" | "encoding" | "protocol" | "network";

/**
 * An HTTP request of the I/O lane failed: a status that is not retried, retries exhausted
 * on a transient status (5xx, 429), or no usable answer (`status` undefined): the message and
 * `failure` say which (DNS lookup, connection refused, reset, TLS, timeout, body too large,
 * unknown content encoding, malformed answer), with the cause.
 *
 * @example
 * ```ts
 * const res = await ctx.fetch(url);
 * if (!res.ok && res.status !== 404) throw new HttpError(url, res.status);
 * ```
 */
export class HttpError extends ZaskError {
  override name: "HttpError" | "HttpAccessDeniedError" = "HttpError";
  /** The URL requested. */
  readonly url: string;
  /** The last HTTP status received, or `undefined` when no response came. */
  readonly status: number | undefined;
  /** How many requests were made. */
  readonly attempts: number;
  /** `"status"` when the server answered with `status`; otherwise what went wrong on the way. */
  readonly failure: HttpFailure;

  constructor(url: string, status: number | undefined, options: { cause?: unknown; attempts?: number } = {}) {
    const failure = status === undefined ? failureOf(options.cause) : "status";
    const what = status === undefined ? `failed: ${FAILURE_TEXT[failure]} (${describe(options.cause)})` : `returned HTTP ${status}`;
    const tries = options.attempts !== undefined && options.attempts > 1 ? ` after ${options.attempts} attempts` : "";
    super(`GET ${url} ${what}${tries}`, { cause: options.cause });
    this.url = url;
    this.status = status;
    this.attempts = options.attempts ?? 1;
    this.failure = failure;
  }
}

/**
 * The server refused access (HTTP 401 or 403) to a URL that a store reads: not a missing key,
 * unless the store was told to read that status as missing (`missingStatuses`).
 *
 * @example
 * ```ts
 * await readZarr(url).catch((e: unknown) => e instanceof HttpAccessDeniedError && console.error(e.url, e.status));
 * ```
 */
export class HttpAccessDeniedError extends HttpError {
  override name = "HttpAccessDeniedError" as const;
  constructor(url: string, status: number, options: { cause?: unknown } = {}) {
    super(url, status, options);
    this.message = `GET ${url} was refused: access denied (HTTP ${status})`;
  }
}

/**
 * A failure of zask's HTTP client itself (the socket's system errors, ECONNRESET and the
 * like, come as they are): the `cause` of the {@link HttpError} a request fails with. The I/O
 * lane retries `ZASK_HTTP_TIMEOUT`, `ZASK_HTTP_DEADLINE` and `ZASK_HTTP_CLOSED`, not the others.
 *
 * @example
 * ```ts
 * if (e.cause instanceof HttpTransportError && e.cause.code === "ZASK_HTTP_TOO_LARGE") console.error(e.cause.url, e.cause.limit);
 * ```
 */
export class HttpTransportError extends ZaskError {
  override name = "HttpTransportError" as const;
  /**
   * `ZASK_HTTP_TIMEOUT` (no byte for the gap timeout), `ZASK_HTTP_DEADLINE` (the whole request
   * took longer than its deadline), `ZASK_HTTP_CLOSED` (the connection ended mid-answer),
   * `ZASK_HTTP_TOO_LARGE` (the body exceeds the request's byte limit, encoded or decoded),
   * `ZASK_HTTP_ENCODING` (a Content-Encoding zask does not decode, or a body that does not
   * decode) or `ZASK_HTTP_PARSE` (not HTTP/1.x as expected).
   */
  readonly code: string;
  /** The URL requested (the origin only when the request is unknown). */
  readonly url: string;
  /** The limit that was exceeded: bytes for `ZASK_HTTP_TOO_LARGE`, ms for timeouts and deadlines. */
  readonly limit: number | undefined;
  constructor(code: string, url: string, message: string, options: { limit?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.url = url;
    this.limit = options.limit;
  }
}

const FAILURE_TEXT: Record<HttpFailure, string> = {
  status: "HTTP error status",
  dns: "DNS lookup failed",
  refused: "connection refused",
  reset: "connection reset or closed by the server",
  tls: "TLS failure",
  timeout: "timed out",
  "too-large": "body larger than allowed",
  encoding: "undecodable content encoding",
  protocol: "malformed HTTP answer",
  network: "network failure",
};

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_)/;

/** The kind of a request's failure, from the codes along its `cause` chain. */
function failureOf(cause: unknown): HttpFailure {
  for (let x: unknown = cause, depth = 0; x !== null && typeof x === "object" && depth < 5; depth++) {
    const code = (x as { code?: unknown }).code;
    const name = (x as { name?: unknown }).name;
    if (typeof code === "string") {
      if (code === "ENOTFOUND" || code.startsWith("EAI_")) return "dns";
      if (code === "ECONNREFUSED") return "refused";
      if (code === "ECONNRESET" || code === "EPIPE" || code === "UND_ERR_SOCKET" || code === "ZASK_HTTP_CLOSED") return "reset";
      if (TLS_CODE.test(code) || (code === "EPROTO" && /SSL|TLS/i.test(String((x as Error).message)))) return "tls";
      if (code === "ETIMEDOUT" || code === "ZASK_HTTP_TIMEOUT" || code === "ZASK_HTTP_DEADLINE" || /^UND_ERR_.*TIMEOUT$/.test(code)) return "timeout";
      if (code === "ZASK_HTTP_TOO_LARGE") return "too-large";
      if (code === "ZASK_HTTP_ENCODING") return "encoding";
      if (code === "ZASK_HTTP_PARSE" || code.startsWith("HPE_")) return "protocol";
    }
    if (name === "TimeoutError") return "timeout";
    x = (x as { cause?: unknown }).cause;
  }
  return "network";
}

/**
 * A ranged read got bytes that do not match the range asked for: a response shorter or
 * longer than the range, or an object that ends before the range does.
 *
 * @example
 * ```ts
 * try { await planner.read({ object: url, offset: 0, length: 16 }); } catch (e) { if (e instanceof ByteRangeError) console.error(e.object, e.offset, e.length); }
 * ```
 */
export class ByteRangeError extends ZaskError {
  override name = "ByteRangeError" as const;
  /** The URL or path read. */
  readonly object: string;
  readonly offset: number;
  readonly length: number;

  constructor(object: string, offset: number, length: number, detail: string, options: { cause?: unknown } = {}) {
    super(`Reading bytes ${offset}-${offset + length - 1} of ${object}: ${detail}`, options);
    this.object = object;
    this.offset = offset;
    this.length = length;
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * A compute refused to start: the plan projects that one of its tasks needs more memory than
 * `maxTaskMemory` allows (cubed's `allowed_mem`). Names the task, its op, the projected bytes
 * and the limit; nothing ran. Rechunk to smaller blocks, or raise the limit.
 *
 * @example
 * ```ts
 * if (e instanceof TaskMemoryError) console.error(`${e.key} (${e.op}) needs ${e.bytes} B > ${e.limit} B`);
 * ```
 */
export class TaskMemoryError extends ZaskError {
  override name = "TaskMemoryError" as const;
  /** The key of the task (for a fused task, the fused node's key). */
  readonly key: string;
  /** The op of the step that makes the task's largest value. */
  readonly op: string;
  /** The task's projected peak memory, bytes. */
  readonly bytes: number;
  /** The `maxTaskMemory` it exceeds, bytes. */
  readonly limit: number;

  constructor(key: string, op: string, bytes: number, limit: number) {
    super(`Task ${key} (op ${op}) is projected to need ${bytes} bytes, more than maxTaskMemory ${limit} bytes; nothing ran`);
    this.key = key;
    this.op = op;
    this.bytes = bytes;
    this.limit = limit;
  }
}

// Rebuilt with their class when thrown on a worker thread or another process.
registerErrorClass("TaskError", TaskError);
registerErrorClass("TaskMemoryError", TaskMemoryError);
registerErrorClass("HttpError", HttpError);
registerErrorClass("HttpAccessDeniedError", HttpAccessDeniedError);
registerErrorClass("HttpTransportError", HttpTransportError);

/**
 * A task failed on a distributed worker: which worker, after how many attempts, and the
 * error its op threw there, rebuilt here with its class, fields and cause chain as this
 * error's `cause` (a `ChunkDecodeError` with its chunk key and URL, an {@link HttpError} with
 * its status). It is the `cause` of the compute's {@link TaskError}.
 *
 * @example
 * ```ts
 * if (e instanceof TaskError && e.cause instanceof WorkerTaskError) console.error(e.cause.worker, e.cause.cause);
 * ```
 */
export class WorkerTaskError extends ZaskError {
  override name = "WorkerTaskError" as const;
  /** The worker's name (`host:pid`) that ran the last attempt. */
  readonly worker: string;
  /** Attempts made before the task failed for good. */
  readonly attempts: number;
  /** The `name` of the error the op threw on the worker. */
  readonly errorName: string;

  constructor(worker: string, attempts: number, errorName: string, message: string, options?: { cause?: unknown }) {
    super(`on worker ${worker} after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${errorName}: ${message}`, options);
    this.worker = worker;
    this.attempts = attempts;
    this.errorName = errorName;
  }
}

/**
 * A distributed executor lost its queue: Redis did not answer (or stayed disconnected) for
 * longer than the executor's `timeout`. The compute fails instead of waiting for it.
 *
 * @example
 * ```ts
 * if (e instanceof ExecutorUnavailableError) console.error(`no Redis at ${e.url}`);
 * ```
 */
export class ExecutorUnavailableError extends ZaskError {
  override name = "ExecutorUnavailableError" as const;
  /** The Redis URL of the executor (its password, if any, hidden). */
  readonly url: string;
  /** How long it stayed unreachable before the compute gave up, ms. */
  readonly waited: number;

  constructor(url: string, waited: number, options?: { cause?: unknown }) {
    super(`Redis at ${url} unreachable for ${Math.round(waited)} ms${options?.cause instanceof Error ? `: ${options.cause.message}` : ""}`, options);
    this.url = url;
    this.waited = waited;
  }
}

/**
 * A value of a task cannot travel to a distributed worker: a class instance without a remote
 * form (`remoteSymbol`), or a function. Names the task and what the value was.
 *
 * @example
 * ```ts
 * if (e instanceof NotTransportableError) console.error(e.key, e.what);
 * ```
 */
export class NotTransportableError extends ZaskError {
  override name = "NotTransportableError" as const;
  /** The key of the task whose arguments or value hold it. */
  readonly key: string;
  /** What it is (`a ZarrStore of kind store`, `function f`). */
  readonly what: string;

  constructor(key: string, what: string) {
    super(`Task ${key} cannot run on a distributed worker: its arguments hold ${what}, which has no remote form`);
    this.key = key;
    this.what = what;
  }
}

// The scheduler's own, and the graph's, which cannot register themselves (the graph package
// does not depend on this one).
registerErrorClass("ByteRangeError", ByteRangeError);
registerErrorClass("WorkerTaskError", WorkerTaskError);
registerErrorClass("ExecutorUnavailableError", ExecutorUnavailableError);
registerErrorClass("NotTransportableError", NotTransportableError);
registerErrorClass("ZaskError", ZaskError);
registerErrorClass("CycleError", CycleError);
registerErrorClass("FusionError", FusionError);
registerErrorClass("MissingKeyError", MissingKeyError);
