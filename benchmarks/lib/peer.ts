/**
 * The Python peer (benchmarks/peers/dask_http_queries.py) as a session: one process per store,
 * one query run per call, so the runner can interleave the peer's runs with zask's.
 */
import { spawn } from "node:child_process";
import type { ChildProcessByStdio } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { PYTHON } from "./stores.ts";
import type { QueryName } from "./results.ts";

const PEER = new URL("../peers/dask_http_queries.py", import.meta.url).pathname;

/** How much of the peer's stderr errors quote: enough for a Python traceback. */
const STDERR_TAIL = 4000;

/** What the peer says when it is ready (its hello line). */
export interface PeerInfo {
  peer: "dask";
  versions: Record<string, string>;
  scheduler: string;
  url: string;
}

/** One run of one query, timed inside the peer's process (the pipe's latency is not in `ms`). */
export interface QueryRun {
  ms: number;
  /** float64 sum of the result (for `open`, nObs + nVars). */
  sum: number;
  /** Minor page faults of the peer's process during the run (fresh memory it touched). */
  faults: number;
}

/** The peer failed: a query raised, or the process died or could not start. */
export class PeerError extends Error {
  override name = "PeerError";
  /** The query that failed; undefined when the process failed while starting. */
  readonly query: QueryName | undefined;
  /** The last lines the peer wrote on stderr (its traceback, usually). */
  readonly stderrTail: string;

  constructor(message: string, query: QueryName | undefined, stderrTail: string, options?: { cause?: unknown }) {
    super(`${message}${stderrTail.trim() === "" ? "" : `\n--- peer stderr (tail) ---\n${stderrTail.trimEnd()}`}`, options);
    this.query = query;
    this.stderrTail = stderrTail;
  }
}

type PeerProcess = ChildProcessByStdio<Writable, Readable, Readable>;

/**
 * A running `dask_http_queries.py STORE_URL --serve`: imports once, then runs one query per
 * `run` call. Calls are queued, one at a time. The process is killed on abort, on `close`
 * (after it had a moment to exit at the end of its stdin) and when this process exits.
 *
 * @example
 * ```ts
 * const peer = await PeerSession.start(`${server.url}c5.zarr`, { signal });
 * try {
 *   await peer.run("open");
 *   const { ms, sum } = await peer.run("mean_per_gene");
 * } finally {
 *   await peer.close();
 * }
 * ```
 */
export class PeerSession {
  /** Versions and scheduler, from the peer's hello line. */
  readonly info: PeerInfo;
  #child: PeerProcess;
  #lines: AsyncIterator<string>;
  #stderr: { text: string };
  #exited: Promise<void>;
  #queue: Promise<unknown> = Promise.resolve();
  #failure: PeerError | undefined;
  #cleanup: () => void;
  #signal: AbortSignal | undefined;

  private constructor(
    child: PeerProcess,
    lines: AsyncIterator<string>,
    stderr: { text: string },
    exited: Promise<void>,
    info: PeerInfo,
    cleanup: () => void,
    signal: AbortSignal | undefined,
  ) {
    this.#child = child;
    this.#signal = signal;
    this.#lines = lines;
    this.#stderr = stderr;
    this.#exited = exited;
    this.info = info;
    this.#cleanup = cleanup;
  }

  /**
   * Spawns the peer on `storeUrl` (/usr/bin/python3, which has dask, zarr and anndata 0.8) and
   * waits for its hello line.
   *
   * @throws PeerError when the process cannot start or exits before saying hello.
   * @example
   * ```ts
   * const peer = await PeerSession.start(`${server.url}c25.zarr`, { scheduler: "threads" });
   * console.log(peer.info.versions.dask);
   * ```
   */
  static async start(storeUrl: string, options: { scheduler?: "threads" | "sync"; numWorkers?: number; signal?: AbortSignal } = {}): Promise<PeerSession> {
    const { scheduler = "threads", numWorkers, signal } = options;
    signal?.throwIfAborted();
    const workers = numWorkers === undefined ? [] : ["--num-workers", String(numWorkers)];
    const child = spawn(PYTHON, [PEER, storeUrl, "--serve", "--scheduler", scheduler, ...workers], { stdio: ["pipe", "pipe", "pipe"] });
    const stderr = { text: "" };
    child.stderr.setEncoding("utf8");
    // Drained all the time, else a chatty peer would block on a full pipe.
    child.stderr.on("data", (chunk: string) => {
      stderr.text = (stderr.text + chunk).slice(-STDERR_TAIL);
    });
    // A write to a dead peer's stdin errors (EPIPE); the exit is what reports it.
    child.stdin.on("error", () => {});
    const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const spawnFailed = new Promise<never>((_, reject) =>
      child.once("error", (error) =>
        reject(new PeerError(`Could not start the peer ${PYTHON} ${PEER}: ${error.message}`, undefined, stderr.text, { cause: error })),
      ),
    );
    spawnFailed.catch(() => {});
    // Never leave a python process behind: not on abort, not when this process exits.
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    };
    process.once("exit", kill);
    signal?.addEventListener("abort", kill, { once: true });
    const cleanup = (): void => {
      process.off("exit", kill);
      signal?.removeEventListener("abort", kill);
    };
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity })[Symbol.asyncIterator]();
    try {
      const hello = await Promise.race([lines.next(), spawnFailed]);
      signal?.throwIfAborted(); // the abort killed it: report the abort
      if (hello.done)
        throw new PeerError(
          `The peer on ${storeUrl} exited before it was ready (exit code ${child.exitCode}, signal ${child.signalCode})`,
          undefined,
          stderr.text,
        );
      const info = parseLine(hello.value, undefined, stderr.text) as Partial<PeerInfo> & { ready?: boolean };
      if (info.ready !== true || info.versions === undefined)
        throw new PeerError(`Expected the peer's hello line, got ${hello.value.slice(0, 200)}`, undefined, stderr.text);
      return new PeerSession(child, lines, stderr, exited, info as PeerInfo, cleanup, signal);
    } catch (error) {
      kill();
      cleanup();
      await exited;
      throw error;
    }
  }

  /**
   * Runs `query` once in the peer and returns its time (measured in the peer) and result sum.
   * `open` must run first: the other queries use the store it opened.
   *
   * @throws PeerError naming the query and quoting the peer's stderr when the query raised
   *   (the session stays usable) or the peer died (it does not).
   * @example
   * ```ts
   * const { ms } = await peer.run("one_gene");
   * ```
   */
  run(query: QueryName): Promise<QueryRun> {
    const next = this.#queue.then(() => this.#runNow(query));
    this.#queue = next.catch(() => {});
    return next;
  }

  async #runNow(query: QueryName): Promise<QueryRun> {
    if (this.#failure !== undefined) throw this.#failure;
    this.#signal?.throwIfAborted();
    this.#child.stdin.write(`${JSON.stringify({ query })}\n`);
    const line = await this.#lines.next();
    if (line.done) {
      // Let the stderr pipe drain so the tail holds the peer's last words.
      await this.#exited;
      // Killed on abort: that is the error to report, not the death it caused.
      this.#signal?.throwIfAborted();
      this.#failure = new PeerError(
        `The peer died running ${query} (exit code ${this.#child.exitCode}, signal ${this.#child.signalCode})`,
        query,
        this.#stderr.text,
      );
      throw this.#failure;
    }
    const reply = parseLine(line.value, query, this.#stderr.text) as Partial<QueryRun> & { error?: string };
    if (reply.error !== undefined) throw new PeerError(`The peer's ${query} failed: ${reply.error}`, query, this.#stderr.text);
    if (typeof reply.ms !== "number" || typeof reply.sum !== "number" || typeof reply.faults !== "number") {
      throw new PeerError(`Expected {"ms", "sum", "faults"} from the peer's ${query}, got ${line.value.slice(0, 200)}`, query, this.#stderr.text);
    }
    return { ms: reply.ms, sum: reply.sum, faults: reply.faults };
  }

  /**
   * Ends the session: closes the peer's stdin (it exits at the end of it), and kills it if it
   * has not exited within `graceMs`. Safe to call twice.
   *
   * @example
   * ```ts
   * await peer.close();
   * ```
   */
  async close(graceMs = 2000): Promise<void> {
    this.#failure ??= new PeerError("The peer session is closed", undefined, "");
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    await this.#exited;
    clearTimeout(timer);
    this.#cleanup();
  }
}

function parseLine(line: string, query: QueryName | undefined, stderrTail: string): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new PeerError(`Expected a JSON line from the peer${query === undefined ? "" : ` for ${query}`}, got ${line.slice(0, 200)}`, query, stderrTail, {
      cause: error,
    });
  }
}
