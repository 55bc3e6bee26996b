import { constants } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream/promises";
import { parseRange } from "./byte-range.js";
import { contentType } from "./content-type.js";
import { ListenError, ServeDirectoryError } from "./errors.js";
import { RequestCounter } from "./request-counter.js";
import type { RequestEvent } from "./request-counter.js";
import { formatLogLine } from "./request-log.js";
import { realPathInside, resolveRequestPath } from "./resolve-path.js";

/** Options of `serve`. */
export interface ServeOptions {
  /** TCP port; 0 picks a free one (read it back from `address.port`). @default 8080 */
  port?: number;
  /** Interface to listen on. @default "127.0.0.1" */
  host?: string;
  /**
   * Where the access log goes, one line per request like Python's `http.server`:
   * `true` writes to stderr, `false` logs nothing, a function receives each line.
   * @default true
   */
  log?: boolean | ((line: string) => void);
  /** Called once per answered request, after the response ended. */
  onRequest?: (event: RequestEvent) => void;
  /** Aborting closes the server (and, before it listens, rejects). */
  signal?: AbortSignal;
}

/** A running `serve`: the node server, where it listens, and what it has seen. */
export interface FileServer {
  readonly server: Server;
  readonly address: { host: string; port: number };
  /** Base URL with a trailing slash, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  /** The served directory (its real path). */
  readonly root: string;
  /** Requests and bytes seen so far, in total and per path. */
  readonly counter: RequestCounter;
  /** Adds a per-request listener; returns a function that removes it. */
  onRequest(listener: (event: RequestEvent) => void): () => void;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

const CORS_HEADERS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges, Last-Modified",
} as const;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  416: "Range Not Satisfiable",
  500: "Internal Server Error",
};

/**
 * Serves the files under `dir` over HTTP, the way a static file server in front of a zarr
 * store would: GET and HEAD, single byte ranges (206, 416), CORS with preflight, one access-log
 * line per request, and per-request counters. Files are streamed, never read whole. Nothing
 * outside `dir` is reachable: dot segments and encoded separators are refused (403), and a
 * symlink is followed only if its target is inside `dir` too.
 *
 * @example
 * ```ts
 * const server = await serve("data", { port: 0 });
 * const res = await fetch(new URL("pbmc3k_processed.zarr/.zmetadata", server.url));
 * console.log(res.status, server.counter.requests); // 200 1
 * await server.close();
 * ```
 */
export async function serve(dir: string, options: ServeOptions = {}): Promise<FileServer> {
  if (typeof dir !== "string") throw new TypeError(`Expected \`dir\` to be a string, got \`${String(dir)}\` (${typeof dir})`);
  const { port = 8080, host = "127.0.0.1", log = true, onRequest, signal } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Expected \`port\` to be an integer from 0 to 65535, got \`${String(port)}\` (${typeof port})`);
  }
  signal?.throwIfAborted();
  let root: string;
  try {
    root = await realpath(dir);
    if (!(await stat(root)).isDirectory()) throw new Error("not a directory");
  } catch (cause) {
    throw new ServeDirectoryError(dir, { cause });
  }

  const counter = new RequestCounter();
  const listeners = new Set<(event: RequestEvent) => void>();
  if (onRequest !== undefined) listeners.add(onRequest);
  const writeLog = log === true ? (line: string) => process.stderr.write(`${line}\n`) : log === false ? undefined : log;

  const report = (event: RequestEvent, httpVersion: string): void => {
    counter.record(event);
    writeLog?.(
      formatLogLine({
        remoteAddress: event.remoteAddress,
        time: event.time,
        requestLine: `${event.method} ${event.url} HTTP/${httpVersion}`,
        status: event.status,
        bytes: event.bytes,
      }),
    );
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        // A listener's bug must not take the server down with it.
        process.emitWarning(`serve: onRequest listener threw: ${String(error)}`);
      }
    }
  };

  const server = createServer((req, res) => {
    const started = performance.now();
    const sent = { bytes: 0 };
    res.on("close", () => {
      report(
        {
          method: req.method ?? "",
          url: req.url ?? "",
          status: res.statusCode,
          bytes: sent.bytes,
          range: req.headers.range,
          remoteAddress: req.socket.remoteAddress ?? "-",
          time: new Date(),
          durationMs: performance.now() - started,
        },
        req.httpVersion,
      );
    });
    handle(root, req, res, sent).catch((error: unknown) => {
      if (!res.headersSent) sendStatus(req, res, 500, sent);
      else res.destroy(error instanceof Error ? error : undefined);
    });
  });
  server.on("clientError", (_error, socket) => {
    // Malformed request lines (raw NUL bytes, bad headers) end here, before any handler.
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (cause: Error): void => reject(new ListenError(host, port, { cause }));
    server.once("error", onError);
    server.listen({ port, host }, () => {
      server.off("error", onError);
      resolve();
    });
  });

  const info = server.address() as AddressInfo;
  const urlHost = info.family === "IPv6" ? `[${info.address}]` : info.address;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  if (signal !== undefined) {
    if (signal.aborted) await close();
    else signal.addEventListener("abort", () => void close(), { once: true });
  }

  return {
    server,
    address: { host: info.address, port: info.port },
    url: `http://${urlHost}:${info.port}/`,
    root,
    counter,
    onRequest(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close,
  };
}

async function handle(root: string, req: IncomingMessage, res: ServerResponse, sent: { bytes: number }): Promise<void> {
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value);
  if (req.method === "OPTIONS") {
    res.writeHead(204, {
      "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
      "Access-Control-Allow-Headers": req.headers["access-control-request-headers"] ?? "Range",
      "Access-Control-Max-Age": "86400",
      "Content-Length": "0",
    });
    res.end();
    return;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD, OPTIONS");
    sendStatus(req, res, 405, sent);
    return;
  }
  const resolved = resolveRequestPath(root, req.url ?? "");
  if (typeof resolved !== "string") return sendStatus(req, res, resolved.status, sent);
  const real = await realPathInside(root, resolved);
  if (real === "missing") return sendStatus(req, res, 404, sent);
  if (real === "outside") return sendStatus(req, res, 403, sent);

  let file: FileHandle;
  try {
    // O_NOFOLLOW: the path was just resolved, so a symlink here means it was swapped in since.
    file = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return sendStatus(req, res, 404, sent);
  }
  let handedOver = false;
  try {
    const info = await file.stat();
    if (!info.isFile()) return sendStatus(req, res, 404, sent);
    const size = info.size;
    const range = parseRange(req.headers.range, size);
    if (range === "unsatisfiable") {
      res.setHeader("Content-Range", `bytes */${size}`);
      return sendStatus(req, res, 416, sent);
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    res.writeHead(range === undefined ? 200 : 206, {
      "Content-Type": contentType(real),
      "Content-Length": String(end - start + 1),
      "Accept-Ranges": "bytes",
      "Last-Modified": info.mtime.toUTCString(),
      ...(range === undefined ? {} : { "Content-Range": `bytes ${start}-${end}/${size}` }),
    });
    if (req.method === "HEAD" || size === 0) {
      res.end();
      return;
    }
    const stream = file.createReadStream({ start, end, autoClose: true });
    handedOver = true;
    stream.on("data", (chunk: string | Buffer) => {
      sent.bytes += Buffer.byteLength(chunk);
    });
    // A client that hangs up mid-body rejects the pipeline; that is its business, not an error.
    await pipeline(stream, res).catch(() => undefined);
  } finally {
    if (!handedOver) await file.close();
  }
}

function sendStatus(req: IncomingMessage, res: ServerResponse, status: number, sent: { bytes: number }): void {
  const body = `${status} ${STATUS_TEXT[status] ?? ""}\n`;
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": String(Buffer.byteLength(body)) });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  sent.bytes += Buffer.byteLength(body);
  res.end(body);
}
