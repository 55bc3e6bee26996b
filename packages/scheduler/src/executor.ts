/**
 * The run of one compute: which tasks are ready, where each goes, and when the run ends.
 *
 * State of an {@link Execution} (dask's `local.py` keeps the same in its `state` dict):
 * - `#store` ({@link ValueStore}): each finished task's value and size, the count of its
 *   dependents still to run (its value is released when that reaches 0 unless it is requested),
 *   bytes held and their peak, and which buffers may move to a worker.
 * - `#waiting[i]`: dependencies of task i not yet finished; i becomes ready at 0.
 * - `#ready`: ready tasks by priority (threads mode, and sync mode when the priorities are not
 *   a topological ranking); `#byRank`: otherwise, in sync mode, every task in rank order,
 *   which then is the order the ready queue would pop them.
 * - `#poolReady`: ready tasks bound for the pool while its lane holds a full backlog, kept as
 *   numbers until it has room, so that 20,000 ready blocks are not 20,000 pending jobs
 *   (closures, promises, step lists) alive at once.
 * - the lanes: `#ioGate` (io tasks running at once), `#staging` (fused tasks fetched but not
 *   yet handed to a worker), `#pool` (messages to the worker pool), and `#cancel`, the shared
 *   cell that tells workers the run failed.
 * - `#completed`, `#done` (finished or failed: every later completion is ignored), and
 *   `#draining`/`#yieldScheduled`, which keep the threads-mode loop from re-entering and let
 *   I/O completions, aborts and the progress bar in between slices.
 *
 * The parts around it: {@link DispatchPolicy} (inline or pool, by named {@link Route}),
 * {@link MainEvaluator} (running a node on the main thread), {@link PoolRequests} (writing a
 * worker request), {@link FusedRunner} (a fused node whose segments span lanes).
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { Alias, DataNode, Fused, Task, opName, type Op, type OpRef } from "@zask/graph";
import type { Callbacks, FinishInfo, TaskInfo } from "./callbacks.js";
import { DispatchPolicy, Route } from "./dispatch-policy.js";
import { TaskError } from "./errors.js";
import type { Segment } from "./fused-segments.js";
import { FusedRunner } from "./fused-runner.js";
import { Gate } from "./gate.js";
import type { IoLane } from "./io-lane.js";
import { MainEvaluator, isIo, isThenable, type OpTable } from "./main-evaluator.js";
import { opCosts, type Stat } from "./op-costs.js";
import type { Plan } from "./plan.js";
import { PoolLane, type PoolLaneOptions } from "./pool-lane.js";
import { PoolRequests, onlyLastExported, workerError } from "./pool-requests.js";
import { PriorityQueue } from "./priority-queue.js";
import { readyByRank, runsByRank } from "./run-order.js";
import { Staging, type StagingOptions } from "./staging.js";
import { StepValues } from "./step-values.js";
import { ValueStore } from "./value-store.js";

export type { OpTable } from "./main-evaluator.js";

/** How an {@link Execution} runs (resolved compute options). */
export interface ExecutionOptions {
  readonly scheduler: "threads" | "sync";
  readonly ops: OpTable;
  readonly io: IoLane;
  /** Aborts the I/O lane; the execution aborts it on failure. */
  readonly controller: AbortController;
  readonly signal: AbortSignal | undefined;
  readonly callbacks: readonly Callbacks[];
  /** cpu ops whose inputs hold fewer bytes run inline. */
  readonly inlineThreshold: number;
  /** io tasks running at once (their fetches are bounded per origin by the I/O lane). */
  readonly ioTasks: number;
  /** Limits of the pool lane (messages in flight, batching). */
  readonly pool: PoolLaneOptions;
  /** Bound on fused tasks fetched (or fetching) but not yet handed to a worker. */
  readonly staging: StagingOptions;
}

/**
 * Whether a fused node's ops are io ops followed by inline ones (plain functions count as
 * inline), with no cpu op: it runs whole on the main thread, inside the I/O gate.
 */
function fetchesThenInline(ops: readonly Op[]): boolean {
  let s = 0;
  while (s < ops.length && isIo(ops[s]!)) s++;
  if (s === 0 || s === ops.length) return false;
  for (; s < ops.length; s++) {
    const op = ops[s]!;
    if (typeof op !== "function" && op.lane !== "inline") return false;
  }
  return true;
}

/** A loop yields to the event loop after running this long. */
const SLICE_MS = 20;
const EMPTY = new StepValues();

/**
 * One run of a {@link Plan}: the ready tasks in priority order, dispatched to the lanes, each
 * result released after its last dependent.
 */
export class Execution {
  readonly #plan: Plan;
  readonly #opts: ExecutionOptions;
  readonly #threads: boolean;
  readonly #hooks: boolean;
  readonly #store: ValueStore;
  readonly #policy: DispatchPolicy;
  readonly #evaluator: MainEvaluator;
  readonly #requests: PoolRequests;
  readonly #fused: FusedRunner;
  readonly #waiting: Int32Array;
  readonly #ready: PriorityQueue;
  readonly #poolReady: PriorityQueue;
  readonly #ioGate: Gate;
  readonly #pool: PoolLane;
  readonly #staging: Staging;
  readonly #cancel = new Int32Array(new SharedArrayBuffer(4));
  #byRank: Int32Array | undefined;
  #completed = 0;
  #done = false;
  #draining = false;
  #yieldScheduled = false;
  #t0 = 0;
  #resolve: (v: unknown[]) => void = () => undefined;
  #reject: (e: unknown) => void = () => undefined;
  // bound, not an arrow made in run(): an arrow kept on the instance keeps the run and its
  // results alive through V8's young-generation collections
  readonly #onAbort = this.#failBySignal.bind(this);

  constructor(plan: Plan, opts: ExecutionOptions) {
    this.#plan = plan;
    this.#opts = opts;
    this.#threads = opts.scheduler === "threads";
    this.#hooks = opts.callbacks.length > 0;
    const n = plan.size;
    this.#store = new ValueStore(plan, opts.io, this.#threads);
    this.#policy = new DispatchPolicy(plan, this.#store, opts.inlineThreshold);
    this.#evaluator = new MainEvaluator(plan, this.#store, opts.ops, opts.io);
    this.#requests = new PoolRequests(plan, this.#store, opts.ops);
    this.#waiting = new Int32Array(n);
    this.#ready = new PriorityQueue(plan.priority, Math.min(n, 1 << 16));
    this.#poolReady = new PriorityQueue(plan.priority);
    // no new fetch while the pool has a full backlog: fetched bytes would only pile up
    this.#ioGate = new Gate(
      opts.ioTasks,
      plan.priority,
      (i) => this.#startIo(i),
      () => this.#poolHasRoom(),
    );
    // sized from the bounds chunk requests declare until fetched sizes are known
    this.#staging = new Staging(plan.priority, opts.staging, () => opts.io.declaredBytes);
    opts.io.onDeclared(() => this.#staging.pump());
    this.#pool = new PoolLane(plan.priority, opts.pool, this.#cancel, () => {
      this.#ioGate.pump();
      this.#drain();
    });
    this.#fused = new FusedRunner({
      store: this.#store,
      policy: this.#policy,
      evaluator: this.#evaluator,
      requests: this.#requests,
      ioGate: this.#ioGate,
      pool: this.#pool,
      staging: this.#staging,
      done: () => this.#done,
    });
  }

  #failBySignal(): void {
    this.#fail(this.#opts.signal?.reason);
  }

  run(): Promise<unknown[]> {
    return new Promise<unknown[]>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      const { signal } = this.#opts;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      if (signal !== undefined) {
        signal.addEventListener("abort", this.#onAbort, { once: true });
      }
      const plan = this.#plan;
      const n = plan.size;
      if (!this.#threads) this.#byRank = runsByRank(plan);
      for (let i = 0; i < n; i++) this.#waiting[i] = plan.depStart[i + 1]! - plan.depStart[i]!;
      this.#store.countDependents();
      if (this.#byRank === undefined) {
        const sorted = readyByRank(plan, this.#waiting);
        if (sorted !== undefined) this.#ready.seed(sorted);
        else for (let i = 0; i < n; i++) if (this.#waiting[i] === 0) this.#ready.push(i);
      }
      for (const cb of this.#opts.callbacks) cb.start?.({ keys: plan.outputIndex.map((i) => plan.keys[i]!), tasks: n, scheduler: this.#opts.scheduler });
      this.#t0 = performance.now();
      if (n === 0) this.#finish();
      else if (this.#threads) this.#drain();
      else this.#runSync().catch((e: unknown) => this.#fail(e));
    });
  }

  // ---- sync mode: one task at a time, in priority order, all on the main thread

  async #runSync(): Promise<void> {
    let sliceStart = performance.now();
    let count = 0;
    const byRank = this.#byRank;
    const n = this.#plan.size;
    let next = 0;
    while (!this.#done) {
      const i = byRank === undefined ? this.#ready.pop() : next < n ? byRank[next++]! : -1;
      if (i < 0) return;
      const t0 = this.#hooks ? this.#pre(i) : 0;
      let v: unknown;
      try {
        v = this.#evaluator.evaluate(i);
        if (isThenable(v)) v = await v;
      } catch (e) {
        this.#fail(e);
        return;
      }
      this.#complete(i, v, this.#hooks ? this.#laneName(i) : "", t0);
      if ((++count & 1023) === 0 && performance.now() - sliceStart > SLICE_MS) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
    }
  }

  // ---- threads mode: dispatch every ready task to its lane; lanes call back into #drain

  #drain(): void {
    if (this.#draining || this.#done) return;
    this.#draining = true;
    const sliceStart = performance.now();
    let count = 0;
    try {
      while (!this.#done) {
        // the pool's held-back tasks first, while its lane has room (they are older)
        const i = this.#poolReady.size > 0 && this.#poolHasRoom() ? this.#poolReady.pop() : this.#ready.pop();
        if (i < 0) break;
        this.#dispatch(i);
        if ((++count & 1023) === 0 && performance.now() - sliceStart > SLICE_MS) {
          // let I/O completions, aborts and the progress bar in
          if (!this.#yieldScheduled) {
            this.#yieldScheduled = true;
            setImmediate(() => {
              this.#yieldScheduled = false;
              this.#drain();
            });
          }
          break;
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  #dispatch(i: number): void {
    const node = this.#plan.nodes[i]!;
    if (node instanceof Task) {
      const op = node.op;
      if (typeof op !== "function") {
        if (op.lane === "io") return this.#ioGate.submit(i);
        if (op.lane === "cpu") {
          const bytes = this.#store.inputBytes(i);
          const stat = this.#policy.opStat(op);
          const route = this.#policy.route(bytes, stat);
          if (route === Route.inline) return this.#runInline(i, stat);
          if (!this.#poolHasRoom()) return this.#poolReady.push(i);
          return this.#submitPoolTask(i, node, op, bytes, route === Route.poolBySlowOp);
        }
      }
      return this.#runInline(i);
    }
    if (node instanceof Fused) {
      // fetches followed only by main-thread steps (a small read's pick): one io task, its
      // fetches started together, with no steps built to split it by lane
      if (fetchesThenInline(node.ops)) return this.#ioGate.submit(i);
      const segs = this.#policy.segments(node);
      // one run of inline-worthy steps (e.g. a small load + reduce): no async machinery
      const first = segs[0]!;
      const stat = first.lane === "cpu" ? this.#policy.segmentStat(first) : undefined;
      const firstToPool = stat !== undefined && this.#policy.segmentToPool(i, node, first, EMPTY, stat);
      if (segs.length === 1 && first.lane !== "io" && !firstToPool) return this.#runInline(i, stat);
      if (firstToPool && !this.#poolHasRoom()) return this.#poolReady.push(i);
      // all of it one message to a worker: callbacks, without an async run and its step values
      if (segs.length === 1 && firstToPool) return this.#submitPoolSegment(i, node, first);
      this.#runFused(i, node, segs);
      return;
    }
    return this.#runInline(i);
  }

  #poolHasRoom(): boolean {
    return this.#pool.waiting < this.#pool.capacity;
  }

  /** Run task `i` on the main thread; `cost`: the record of a cpu op, which may want this run's duration. */
  #runInline(i: number, cost?: Stat): void {
    const t0 = this.#hooks ? this.#pre(i) : 0;
    if (cost !== undefined && !opCosts.shouldTime(cost)) cost = undefined;
    const start = cost === undefined ? 0 : performance.now();
    let v: unknown;
    try {
      v = this.#evaluator.evaluate(i);
    } catch (e) {
      this.#fail(e);
      return;
    }
    if (isThenable(v)) {
      v.then(
        (x) => {
          if (cost !== undefined) opCosts.add(cost, performance.now() - start);
          this.#complete(i, x, "inline", t0);
          this.#drain();
        },
        (e: unknown) => this.#fail(e),
      );
    } else {
      if (cost !== undefined) opCosts.add(cost, performance.now() - start);
      this.#complete(i, v, this.#hooks ? this.#laneName(i) : "", t0);
    }
  }

  #startIo(i: number): void {
    const t0 = this.#hooks ? this.#pre(i) : 0;
    let p: unknown;
    try {
      p = this.#evaluator.evaluate(i);
    } catch (e) {
      this.#ioGate.release();
      this.#fail(e);
      return;
    }
    Promise.resolve(p).then(
      (x) => {
        this.#ioGate.release();
        // a fused node here fetched and then ran its main-thread steps (see fetchesThenInline)
        this.#complete(i, x, this.#hooks && this.#plan.nodes[i] instanceof Fused ? "io+inline" : "io", t0);
        this.#drain();
      },
      (e: unknown) => {
        this.#ioGate.release();
        this.#fail(e);
      },
    );
  }

  /** Send task `i` to the pool; `bySlowOp` when only its op's cost (not its size) sends it there. */
  #submitPoolTask(i: number, node: Task, op: OpRef, bytes: number, bySlowOp: boolean): void {
    let t0 = 0;
    const costId = opCosts.id(op);
    this.#pool.submit({
      i,
      bytes,
      reconsider: bySlowOp ? () => !opCosts.slow(costId) : undefined,
      runInline: () => this.#runInline(i, opCosts.stat(costId)),
      build: (transfer, message) => {
        t0 = this.#hooks ? this.#pre(i) : 0;
        this.#requests.task(node, op, transfer, message);
      },
      settle: (res, error) => {
        if (res === undefined) this.#fail(new TaskError(node.key, opName(op), error));
        else if (res.ok === 1) {
          opCosts.record(costId, res.t);
          this.#store.own(res.v);
          this.#complete(i, res.v, "pool", t0);
        } else if (res.ok === 0) this.#fail(new TaskError(node.key, opName(op), workerError(res)));
      },
    });
  }

  /** Send fused node `i`, which is the one cpu segment `seg`, to the pool as one request. */
  #submitPoolSegment(i: number, node: Fused, seg: Segment): void {
    let t0 = 0;
    const bytes = this.#store.inputBytes(i);
    this.#pool.submit({
      i,
      bytes,
      reconsider: bytes >= this.#policy.threshold ? undefined : () => !opCosts.slow(seg.id),
      runInline: () => this.#runInline(i, opCosts.stat(seg.id)),
      build: (transfer, message) => {
        t0 = this.#hooks ? this.#pre(i) : 0;
        this.#requests.segment(node, seg, EMPTY, transfer, message);
      },
      settle: (res, error) => {
        if (res === undefined) {
          this.#fail(new TaskError(node.key, opName(node.steps[seg.from]!.op), error, node.steps[seg.from]!.key));
        } else if (res.ok === 1) {
          opCosts.record(seg.id, res.t);
          const v = onlyLastExported(seg) ? res.v : (res.v as unknown[])[seg.exports.indexOf(node.steps.length - 1)];
          this.#store.own(v);
          this.#complete(i, v, "pool", t0);
        } else if (res.ok === 0) {
          const step = node.steps[seg.from + res.i]!;
          this.#fail(new TaskError(node.key, opName(step.op), workerError(res), step.key));
        }
      },
    });
  }

  /** A fused node whose segments span lanes (`segs`: as {@link #dispatch} found them). */
  #runFused(i: number, node: Fused, segs: readonly Segment[]): void {
    const t0 = this.#hooks ? this.#pre(i) : 0;
    this.#fused.run(i, node, segs).then(
      (r) => {
        if (r === undefined) return;
        this.#complete(i, r.value, r.lanes, t0);
        this.#drain();
      },
      (e: unknown) => this.#fail(e),
    );
  }

  // ---- bookkeeping

  #laneName(i: number): string {
    const node = this.#plan.nodes[i]!;
    if (node instanceof DataNode || node instanceof Alias) return "data";
    if (node instanceof Task && typeof node.op !== "function" && node.op.lane === "io") return "io";
    return "inline";
  }

  #pre(i: number): number {
    const key = this.#plan.keys[i]!;
    for (const cb of this.#opts.callbacks) cb.pretask?.(key);
    return performance.now();
  }

  #complete(i: number, v: unknown, lane: string, t0: number): void {
    if (this.#done) return;
    const plan = this.#plan;
    const size = this.#store.complete(i, v);
    const { dependentStart, dependentList } = plan;
    for (let e = dependentStart[i]!; e < dependentStart[i + 1]!; e++) {
      const j = dependentList[e]!;
      if (--this.#waiting[j]! === 0 && this.#byRank === undefined) this.#ready.push(j);
    }
    this.#completed++;
    if (this.#hooks) {
      const end = performance.now();
      const info: TaskInfo = {
        key: plan.keys[i]!,
        lane,
        start: t0,
        duration: end - t0,
        bytesIn: this.#store.inputBytes(i),
        bytesOut: size,
        heldBytes: this.#store.held,
      };
      for (const cb of this.#opts.callbacks) cb.posttask?.(info.key, v, info);
    }
    if (this.#completed === plan.size) this.#finish();
  }

  #finishInfo(errored: boolean, error: unknown): FinishInfo {
    return {
      errored,
      error,
      completed: this.#completed,
      tasks: this.#plan.size,
      elapsed: performance.now() - this.#t0,
      peakHeldBytes: this.#store.peak,
      io: { ...this.#opts.io.stats },
    };
  }

  #finish(): void {
    this.#done = true;
    this.#opts.signal?.removeEventListener("abort", this.#onAbort);
    const out = this.#store.takeOutputs();
    const info = this.#finishInfo(false, undefined);
    for (const cb of this.#opts.callbacks) cb.finish?.(info);
    this.#resolve(out);
  }

  #fail(e: unknown): void {
    if (this.#done) return;
    this.#done = true;
    Atomics.store(this.#cancel, 0, 1);
    this.#opts.signal?.removeEventListener("abort", this.#onAbort);
    this.#ready.clear();
    this.#ioGate.clear();
    this.#staging.clear();
    this.#pool.clear();
    this.#store.clear();
    this.#opts.controller.abort(e);
    const info = this.#finishInfo(true, e);
    for (const cb of this.#opts.callbacks) {
      try {
        cb.finish?.(info);
      } catch {
        // the compute's own error wins over a failing hook
      }
    }
    this.#reject(e);
  }
}
