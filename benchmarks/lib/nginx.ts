/**
 * A real static file server in its own process for benchmarks: Debian's nginx when installed,
 * else `zask serve` in a child process. Either way the server writes an access log to a temp
 * dir, and requests are counted from that log, i.e. as the server saw them.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseLogLine } from "zask";
import type { LoggedRequest } from "zask";

export const NGINX = "/usr/sbin/nginx";

/** Paths under this prefix are markers: requests sent only to cut the log into segments. */
export const MARK_PREFIX = "/__zask_mark__/";

/** The requests a server logged between two marks; `label` is the mark that ended the segment. */
export interface LogSegment {
  label: string;
  requests: LoggedRequest[];
}

/** A static file server process with a countable access log. */
export interface LoggingServer {
  readonly kind: "nginx" | "zask";
  /** Base URL with a trailing slash. */
  readonly url: string;
  /** nginx only: the same files over h2c (HTTP/2 with prior knowledge), base URL with a trailing slash. */
  readonly h2cUrl: string | undefined;
  readonly root: string;
  /**
   * Sends a marker request, waits until the server logged it, and returns the segments logged
   * since the previous call; the last one holds the requests since the previous mark and is
   * labelled `label`. Marks sent by other clients (the Python peer) end segments too.
   */
  mark(label: string, options?: { signal?: AbortSignal }): Promise<LogSegment[]>;
  /** Stops the server (gracefully, then by force) and removes its temp dir. */
  close(): Promise<void>;
}

/** Options of `startLoggingServer`. */
export interface StartOptions {
  /** Which server to run: nginx when present unless `"zask"`. @default "nginx" */
  prefer?: "nginx" | "zask";
  signal?: AbortSignal;
}

/**
 * Starts nginx (or, without it, `zask serve` in a child process) on a free loopback port,
 * serving `root`.
 *
 * @example
 * ```ts
 * const server = await startLoggingServer("benchmarks/results/tmp/stores");
 * await server.mark("start");
 * await fetch(new URL("c5.zarr/.zmetadata", server.url));
 * const [segment] = await server.mark("open");
 * console.log(segment.requests.length); // 1
 * await server.close();
 * ```
 */
export async function startLoggingServer(root: string, options: StartOptions = {}): Promise<LoggingServer> {
  const { prefer = "nginx", signal } = options;
  const dir = resolve(root);
  const useNginx = prefer === "nginx" && existsSync(NGINX);
  const temp = await mkdtemp(join(tmpdir(), `zask-${useNginx ? "nginx" : "serve"}-`));
  const logFile = join(temp, "access.log");
  let child: ChildProcess;
  let port: number;
  let h2cPort: number | undefined;
  try {
    if (useNginx) {
      ({ child, port, h2cPort } = await startNginx(dir, temp, logFile, signal));
    } else {
      ({ child, port } = await startZaskServe(dir, logFile, signal));
    }
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  const url = `http://127.0.0.1:${port}/`;
  const reader = new LogReader(logFile);
  const server: LoggingServer = {
    kind: useNginx ? "nginx" : "zask",
    url,
    h2cUrl: h2cPort === undefined ? undefined : `http://127.0.0.1:${h2cPort}/`,
    root: dir,
    async mark(label, markOptions = {}) {
      const target = `${MARK_PREFIX}${encodeURIComponent(label)}`;
      // A kept-alive socket may have been closed by the server while a reader ran for long:
      // then fetch fails once with EPIPE/ECONNRESET, and a new connection does it.
      for (let attempt = 1; ; attempt++) {
        try {
          await (await fetch(new URL(target, url), { signal: markOptions.signal })).arrayBuffer();
          break;
        } catch (error) {
          if (attempt >= 3 || markOptions.signal?.aborted) throw error;
        }
      }
      const deadline = Date.now() + 10_000;
      for (;;) {
        const segments = await reader.segmentsUntil(target);
        if (segments !== undefined) return segments;
        if (Date.now() > deadline) throw new Error(`The ${server.kind} access log never showed ${target}`);
        markOptions.signal?.throwIfAborted();
        await sleep(2);
      }
    },
    async close() {
      await stopChild(child, useNginx ? "SIGQUIT" : "SIGTERM");
      await rm(temp, { recursive: true, force: true });
    },
  };
  return server;
}

/** Reads an access log incrementally and cuts it at marker requests. */
class LogReader {
  #file: string;
  #offset = 0;
  #partial = "";
  #pending: LoggedRequest[] = [];
  #segments: LogSegment[] = [];

  constructor(file: string) {
    this.#file = file;
  }

  /** Reads new lines; returns all completed segments once the marker `target` was seen, else undefined. */
  async segmentsUntil(target: string): Promise<LogSegment[] | undefined> {
    await this.#readNew();
    const at = this.#segments.findIndex((s) => `${MARK_PREFIX}${encodeURIComponent(s.label)}` === target || s.label === target);
    if (at === -1) return undefined;
    return this.#segments.splice(0, at + 1);
  }

  async #readNew(): Promise<void> {
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      handle = await open(this.#file, "r");
    } catch {
      return;
    }
    try {
      const { size } = await handle.stat();
      if (size <= this.#offset) return;
      const buffer = Buffer.alloc(size - this.#offset);
      await handle.read(buffer, 0, buffer.length, this.#offset);
      this.#offset = size;
      const text = this.#partial + buffer.toString("utf8");
      const lines = text.split("\n");
      this.#partial = lines.pop() ?? "";
      for (const line of lines) {
        const entry = parseLogLine(line);
        if (entry === undefined) continue;
        if (entry.path.startsWith(MARK_PREFIX)) {
          this.#segments.push({ label: decodeURIComponent(entry.path.slice(MARK_PREFIX.length)), requests: this.#pending });
          this.#pending = [];
        } else {
          this.#pending.push(entry);
        }
      }
    } finally {
      await handle.close();
    }
  }
}

async function startNginx(root: string, temp: string, logFile: string, signal?: AbortSignal): Promise<{ child: ChildProcess; port: number; h2cPort: number }> {
  // nginx cannot report a port it picked, so take a free one and retry if someone grabs it first.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    let h2cPort = await freePort();
    while (h2cPort === port) h2cPort = await freePort();
    const conf = join(temp, "nginx.conf");
    await writeFile(conf, nginxConfig(root, temp, logFile, port, h2cPort));
    const child = spawn(NGINX, ["-p", temp, "-c", conf, "-e", join(temp, "error.log")], { stdio: ["ignore", "ignore", "pipe"], signal });
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const ready = (await waitForPort(port, child)) && (await waitForPort(h2cPort, child));
    if (ready) return { child, port, h2cPort };
    const errorLog = await readFile(join(temp, "error.log"), "utf8").catch(() => "");
    await stopChild(child, "SIGQUIT");
    if (attempt >= 3 || !/Address already in use/.test(errorLog + stderr)) {
      throw new Error(`nginx did not start: ${(stderr + errorLog).trim()}`);
    }
  }
}

function nginxConfig(root: string, temp: string, logFile: string, port: number, h2cPort: number): string {
  // As root, nginx would switch its worker to `nobody`, who may not read the store.
  const user = process.getuid?.() === 0 ? "user root root;\n" : "";
  return `${user}daemon off;
master_process on;
worker_processes 1;
pid ${temp}/nginx.pid;
error_log ${temp}/error.log warn;
events { worker_connections 1024; }
http {
  log_format zask '$remote_addr - - [$time_local] "$request" $status $body_bytes_sent';
  access_log ${logFile} zask;
  default_type application/octet-stream;
  client_body_temp_path ${temp}/client_body;
  proxy_temp_path ${temp}/proxy;
  fastcgi_temp_path ${temp}/fastcgi;
  uwsgi_temp_path ${temp}/uwsgi;
  scgi_temp_path ${temp}/scgi;
  sendfile on;
  # tcp_nopush (TCP_CORK) stalls loopback answers of one to two segments (64-130 KB) for a
  # delayed ACK of about 40 ms, whatever the client: it would time the kernel, not the readers.
  tcp_nopush off;
  keepalive_timeout 65;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / {
      add_header Access-Control-Allow-Origin * always;
    }
  }
  server {
    # h2c with prior knowledge (a plain listen with http2 speaks only HTTP/2)
    listen 127.0.0.1:${h2cPort} http2;
    root ${root};
    # Over HTTP/2, nginx turns TCP_NODELAY off around each sendfile and leaves it off, so the
    # last small frame of an answer waits for a delayed ACK (about 40 ms). Real HTTP/2 is over
    # TLS, where nginx cannot use sendfile: without it, h2c is served as h2 would be.
    sendfile off;
    location / {
      add_header Access-Control-Allow-Origin * always;
    }
  }
}
`;
}

async function startZaskServe(root: string, logFile: string, signal?: AbortSignal): Promise<{ child: ChildProcess; port: number }> {
  const bin = join(dirname(createRequire(import.meta.url).resolve("zask")), "bin.js");
  const log = await open(logFile, "a");
  // stderr goes straight to the file, so the log is read the same way as nginx's.
  const child = spawn(process.execPath, [bin, "serve", root, "--port", "0"], { stdio: ["ignore", "ignore", log.fd], signal });
  await log.close();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const text = await readFile(logFile, "utf8");
    const match = /^Serving HTTP on \S+ port (\d+) /m.exec(text);
    if (match) return { child, port: Number(match[1]) };
    if (child.exitCode !== null) throw new Error(`zask serve exited with ${child.exitCode}: ${text}`);
    await sleep(20);
  }
  child.kill();
  throw new Error("zask serve did not start in 10 s");
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const open = await new Promise<boolean>((done) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        done(true);
      });
      socket.once("error", () => done(false));
    });
    if (open) return true;
    await sleep(20);
  }
  return false;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  child.kill(signal);
  // Unref: a pending timer must not keep the process alive after the child is gone.
  const timeout = sleep(5_000, undefined, { ref: false }).then(() => "timeout" as const);
  if ((await Promise.race([exited, timeout])) === "timeout") {
    child.kill("SIGKILL");
    await exited;
  }
}
