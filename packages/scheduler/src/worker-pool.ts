import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import type { Piscina } from "piscina";
import type { WorkerMessage, WorkerReply } from "./worker-protocol.js";
import { bodyPool } from "./http/body-pool.js";
import { sharedBodyPool } from "./http/shared-body-pool.js";

/** Options of the shared worker pool. */
export interface PoolOptions {
  /** Worker threads. @default os.availableParallelism() */
  readonly maxThreads?: number;
  /** Idle time after which a worker above `minThreads` exits, ms. @default 30000 */
  readonly idleTimeout?: number;
  /**
   * Added to the workers' nice value (Linux and macOS; ignored elsewhere), so that the main
   * thread, which does the HTTP and feeds the workers, wins a core over them when the pool
   * and the main thread want more cores than there are. @default 10
   */
  readonly niceIncrement?: number;
}

let pool: Piscina<WorkerMessage, WorkerReply> | undefined;
// niceIncrement 10: on 2 cores the full scan of 368 chunks of 50 KB over HTTP is bound by the
// main thread, which woken workers otherwise preempt; 8 of 8 paired runs were faster at 10 than
// at 0 (c5 10-15%, c25 ~4%; contracts.md).
let settings: Required<PoolOptions> = { maxThreads: availableParallelism(), idleTimeout: 30_000, niceIncrement: 10 };

/**
 * The pool shared by every compute of the process, started on first use. Idle workers are
 * unref'd by piscina, so the pool never keeps a script alive after its last compute.
 */
export function sharedPool(): Piscina<WorkerMessage, WorkerReply> {
  if (pool === undefined) {
    // loaded with the first pool: a process that never sends a task to a worker (an open, a
    // plan) does not pay its import at start
    const { Piscina: Pool } = createRequire(import.meta.url)("piscina") as typeof import("piscina");
    pool = new Pool<WorkerMessage, WorkerReply>({
      filename: new URL("./worker.js", import.meta.url).href,
      maxThreads: settings.maxThreads,
      minThreads: Math.min(1, settings.maxThreads),
      idleTimeout: settings.idleTimeout,
      niceIncrement: settings.niceIncrement,
      name: "default",
    });
  }
  return pool;
}

/**
 * Start the shared pool, if it is not running, with every thread importing `ops` (`[module
 * URL, export name]` pairs): a compute calls it before its first fetch, so that the threads
 * start and import while the first chunks are on the wire, not after they arrived. A running
 * pool is left alone (its threads imported on their first tasks).
 *
 * @example
 * ```ts
 * warmPool([[new URL("./my-ops.js", import.meta.url).href, "normalize"]]);
 * ```
 */
export function warmPool(ops: readonly (readonly [string, string])[]): void {
  if (pool !== undefined || ops.length === 0) return;
  const p = sharedPool();
  // One per thread: a thread busy warming makes piscina start the next one for the next task.
  for (let i = 0; i < settings.maxThreads; i++) p.run(ops as never, { name: "warm" }).catch(() => {});
}

/** Worker threads the shared pool runs (without starting it). */
export function poolThreads(): number {
  return settings.maxThreads;
}

/** Whether the shared pool has been started (and not closed since). */
export function poolStarted(): boolean {
  return pool !== undefined;
}

/**
 * Set the shared pool's size; a running pool is closed first (after its running tasks) and
 * the next compute starts a new one.
 *
 * @example
 * ```ts
 * await configurePool({ maxThreads: 4 });
 * ```
 */
export async function configurePool(options: PoolOptions): Promise<void> {
  const maxThreads = options.maxThreads ?? settings.maxThreads;
  if (!Number.isInteger(maxThreads) || maxThreads < 1) {
    throw new RangeError(`Expected \`maxThreads\` to be a positive integer, got \`${String(maxThreads)}\` (${typeof maxThreads})`);
  }
  const idleTimeout = options.idleTimeout ?? settings.idleTimeout;
  if (typeof idleTimeout !== "number" || !(idleTimeout >= 0)) {
    throw new RangeError(`Expected \`idleTimeout\` to be a non-negative number, got \`${String(idleTimeout)}\` (${typeof idleTimeout})`);
  }
  const niceIncrement = options.niceIncrement ?? settings.niceIncrement;
  if (typeof niceIncrement !== "number" || !Number.isInteger(niceIncrement) || niceIncrement < 0 || niceIncrement > 19) {
    throw new RangeError(`Expected \`niceIncrement\` to be an integer from 0 to 19, got \`${String(niceIncrement)}\` (${typeof niceIncrement})`);
  }
  settings = { maxThreads, idleTimeout, niceIncrement };
  await close();
}

/**
 * Shut the shared worker pool down (waiting for running tasks) and drop the free response
 * buffers kept for reuse. Not needed for a script to exit; useful in tests and servers. A
 * later compute starts a new pool.
 *
 * @example
 * ```ts
 * await compute(graph, keys);
 * await close();
 * ```
 */
export async function close(options: { signal?: AbortSignal } = {}): Promise<void> {
  const p = pool;
  pool = undefined;
  bodyPool.clear();
  sharedBodyPool.clear();
  if (p === undefined) return;
  options.signal?.throwIfAborted();
  await p.close({ force: options.signal?.aborted ?? false });
}
