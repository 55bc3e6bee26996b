import { Fused, Graph, Task, cull, fuse, opName, orderIndexed, order as orderPass, type GraphNode, type Key, type OpFunction, type OpRef } from "@zask/graph";
import type { Callbacks } from "./callbacks.js";
import { TaskError } from "./errors.js";
import { Execution, type OpTable } from "./executor.js";
import { isExecutor, type Executor } from "./executors/executor.js";
import { RemoteExecution } from "./executors/remote-execution.js";
import { defaultPoolLane } from "./pool-lane.js";
import { warmPool } from "./worker-pool.js";
import { defaultStaging } from "./staging.js";
import { DEFAULT_INLINE_THRESHOLD } from "./inline-threshold.js";
import { IoLane } from "./io-lane.js";
import { MAX_STREAMS } from "./http/h2-client.js";
import { loadOp, resolveOpModule } from "./op-registry.js";
import { buildPlan, planIndexed, type Plan } from "./plan.js";
import { ProgressBar } from "./progress-bar.js";

/** Which graph optimizations run before a compute (all by default). */
export interface OptimizeOptions {
  /** Drop tasks the requested keys don't need. @default true */
  readonly cull?: boolean;
  /** Fuse chains (load + select) into one task. @default true */
  readonly fuse?: boolean;
  /** Prioritize tasks with the graph's `order` (depth-first completion). @default true */
  readonly order?: boolean;
}

/** Options of {@link compute}. */
export interface ComputeOptions {
  /**
   * `"threads"`: io ops on the main thread's I/O lane, cpu ops on the worker pool (or inline
   * when their inputs are small), inline ops on the main thread. `"sync"`: every task inline,
   * one at a time, in priority order (debugging, tiny graphs). dask's names. An
   * {@link Executor} (such as `bullmq(...)`) runs the io and cpu tasks on its workers, the
   * cheap glue here.
   * @default "threads"
   */
  readonly scheduler?: "threads" | "sync" | Executor;
  /** HTTP requests in flight per origin through `ctx.fetch`, across the process. @default 16 */
  readonly httpConcurrency?: number;
  /**
   * Fetch over HTTP/2 (h2c with prior knowledge on http, ALPN on https): many requests as
   * streams of one connection, up to the server's SETTINGS_MAX_CONCURRENT_STREAMS; HTTP/1.1
   * when the server does not speak it. @default false
   */
  readonly http2?: boolean;
  /** Retries of a request after a transient failure (5xx, 429, reset, timeout); 4xx are never retried. @default 3 */
  readonly retries?: number;
  /** Base of the retries' exponential backoff, ms (each wait is jittered). @default 100 */
  readonly retryDelay?: number;
  /** Timeout of one request attempt: the wait for the headers and between two reads of the body, ms. @default 30000 */
  readonly timeout?: number;
  /** Deadline of one request attempt, headers and whole body, ms (retried like a timeout). @default 60000 */
  readonly deadline?: number;
  /** The most bytes a response body may hold when its request does not bound it itself (chunks do). @default 67108864 (64 MiB) */
  readonly maxBytes?: number;
  /**
   * cpu ops whose inputs hold fewer bytes run inline, unless they have proved slow inline (then
   * they go to the pool whatever their size); `0` sends every cpu op to the pool, `Infinity`
   * keeps all inline. Left unset, a compute with at most one task that could use the pool runs
   * it inline (nothing could run beside it). @default DEFAULT_INLINE_THRESHOLD
   */
  readonly inlineThreshold?: number;
  /** Hooks called as the compute runs (a {@link Profiler}, your own). */
  readonly callbacks?: Callbacks | readonly Callbacks[];
  /** Show a progress bar on stderr when it is a TTY and the compute runs longer than 0.5 s. @default true */
  readonly progress?: boolean;
  /** Graph optimizations; `false` turns them all off. @default true */
  readonly optimize?: boolean | OptimizeOptions;
  /** Cancels the compute: in-flight requests aborted, queued tasks dropped (workers keep running). */
  readonly signal?: AbortSignal;
}

/**
 * Run `graph` to produce the values of `keys` (in the order of `keys`): cull, fuse and order
 * the graph, then run it on the lanes. The first failing task ends the compute with a
 * {@link TaskError}; cancelling through `signal` rejects with the signal's reason.
 *
 * @example
 * ```ts
 * const g = Graph.fromNodes("sum", [
 *   new DataNode("a", 1),
 *   new DataNode("b", 2),
 *   new Task("sum", (x: number, y: number) => x + y, [ref("a"), ref("b")]),
 * ]);
 * const [total] = await compute(g, ["sum"]); // 3
 * ```
 */
export async function compute(graph: Graph, keys: readonly Key[], options: ComputeOptions = {}): Promise<unknown[]> {
  if (!(graph instanceof Graph)) {
    throw new TypeError(`Expected \`graph\` to be a Graph, got \`${String(graph)}\` (${typeof graph})`);
  }
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string")) {
    throw new TypeError(`Expected \`keys\` to be an array of strings, got \`${String(keys)}\` (${typeof keys})`);
  }
  const scheduler = options.scheduler ?? "threads";
  if (scheduler !== "threads" && scheduler !== "sync" && !isExecutor(scheduler)) {
    throw new RangeError(`Expected \`scheduler\` to be "threads", "sync" or an executor, got \`${String(scheduler)}\``);
  }
  const inlineThreshold = options.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD;
  if (typeof inlineThreshold !== "number" || !(inlineThreshold >= 0)) {
    throw new RangeError(`Expected \`inlineThreshold\` to be a non-negative number, got \`${String(inlineThreshold)}\` (${typeof inlineThreshold})`);
  }
  const signal = options.signal;
  signal?.throwIfAborted();

  const opt =
    options.optimize === false
      ? { cull: false, fuse: false, order: false }
      : options.optimize === true || options.optimize === undefined
        ? {}
        : options.optimize;
  let g = graph;
  if (opt.cull !== false) g = cull(g, keys);
  if (opt.fuse !== false) g = fuse(g, keys);
  let plan: Plan;
  if (opt.cull !== false) {
    // after the graph's cull every node is needed: the graph's numbering (made for `order`, or
    // already by fuse) is the plan's
    const indexed = g.indexed();
    plan = planIndexed(indexed, keys, opt.order !== false ? orderIndexed(indexed) : undefined);
  } else {
    // walk from the keys; without `order`, the plan's depth-first post-order is the priority
    const nodes = g.materialize();
    plan = buildPlan(nodes, keys, opt.order !== false ? orderPass(nodes) : undefined);
  }

  const callbacks: Callbacks[] =
    options.callbacks === undefined ? [] : Array.isArray(options.callbacks) ? [...(options.callbacks as Callbacks[])] : [options.callbacks as Callbacks];
  if (options.progress !== false && process.stderr.isTTY === true) callbacks.push(new ProgressBar());
  if (typeof scheduler === "object") {
    const local = { ...options, scheduler: "sync" as const, optimize: false, progress: false, callbacks: [], signal };
    return new RemoteExecution(plan, {
      executor: scheduler,
      signal,
      callbacks,
      runLocal: async (node, deps) => (await compute(Graph.fromNodes(node.key, [...deps, node]), [node.key], local))[0],
    }).run();
  }

  const ops = await loadOps(plan.nodes);
  signal?.throwIfAborted();
  const poolTasks = poolCandidates(plan.nodes, 2);
  if (scheduler === "threads" && poolTasks >= 2 && options.inlineThreshold !== Infinity) {
    warmPool([...ops.urls].filter(([o]) => o.lane === "cpu").map(([o, url]) => [url, o.name] as const));
  }

  const controller = new AbortController();
  const httpConcurrency = options.httpConcurrency ?? 16;
  const io = new IoLane({
    httpConcurrency,
    retries: options.retries ?? 3,
    retryDelay: options.retryDelay ?? 100,
    timeout: options.timeout ?? 30_000,
    ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    ...(options.http2 === undefined ? {} : { http2: options.http2 }),
    signal: controller.signal,
  });
  const pool = defaultPoolLane();
  const execution = new Execution(plan, {
    scheduler,
    ops,
    io,
    controller,
    signal,
    callbacks,
    // By default a compute with at most one task that could use the pool runs it inline:
    // nothing can run beside it, and a message only adds a round trip (the one-gene query of
    // `npm run bench`).
    inlineThreshold: options.inlineThreshold === undefined && poolTasks < 2 ? Infinity : inlineThreshold,
    // over HTTP/2 the server's stream limit, not httpConcurrency, bounds the requests
    ioTasks: options.http2 === true ? Math.max(MAX_STREAMS, 2 * httpConcurrency) : Math.max(32, 2 * httpConcurrency),
    pool,
    staging: defaultStaging(pool),
  });
  return execution.run();
}

/** Import every op of the plan once, so that running a task never waits on an import. */
async function loadOps(nodes: readonly GraphNode[]): Promise<OpTable> {
  // OpRefs are shared objects (one per op), so an identity map dedupes them cheaply
  const seen = new Map<OpRef, Key>();
  // runs of nodes share an op (or, made by one layer, a list of ops): each run is looked up once
  let lastOp: unknown;
  let lastOps: readonly unknown[] | undefined;
  for (const node of nodes) {
    if (node instanceof Task) {
      if (node.op === lastOp) continue;
      lastOp = node.op;
      if (typeof node.op !== "function" && !seen.has(node.op)) seen.set(node.op, node.key);
    } else if (node instanceof Fused) {
      // `ops`, not `steps`: a lazily built node's steps are made when it runs, not here
      const ops = node.ops;
      if (ops === lastOps) continue;
      lastOps = ops;
      for (const op of ops) if (typeof op !== "function" && !seen.has(op)) seen.set(op, node.key);
    }
  }
  const table = { functions: new Map<OpRef, OpFunction>(), urls: new Map<OpRef, string>() } satisfies OpTable;
  await Promise.all(
    [...seen].map(async ([op, key]) => {
      try {
        table.urls.set(op, resolveOpModule(op.module));
        table.functions.set(op, await loadOp(op));
      } catch (e) {
        throw new TaskError(key, opName(op), e);
      }
    }),
  );
  return table;
}

/** How many nodes call a cpu op (counting stops at `limit`). */
function poolCandidates(nodes: readonly GraphNode[], limit: number): number {
  let n = 0;
  for (const node of nodes) {
    const ops = node instanceof Task ? [node.op] : node instanceof Fused ? node.ops : [];
    if (ops.some((o) => typeof o !== "function" && o.lane === "cpu") && ++n >= limit) break;
  }
  return n;
}
