import { setImmediate as yieldToLoop } from "node:timers/promises";
import { Alias, DataNode, Fused, Task, opName, substitute, type GraphNode, type Key, type OpFunction, type OpRef } from "@zask/graph";
import type { Callbacks, FinishInfo, TaskInfo } from "./callbacks.js";
import { TaskError } from "./errors.js";
import { segmentsOf, type Segment } from "./fused-segments.js";
import { Gate } from "./gate.js";
import type { IoLane } from "./io-lane.js";
import { resolveOpModule } from "./op-registry.js";
import type { Plan } from "./plan.js";
import { PriorityQueue } from "./priority-queue.js";
import { sizeOf } from "./size-of.js";
import { Staging, type StagingOptions, type StagingTicket } from "./staging.js";
import { StepValues } from "./step-values.js";
import { forEachView, packForTransfer } from "./transfer.js";
import { opCosts, type Stat } from "./op-costs.js";
import { PoolLane, type PoolLaneOptions } from "./pool-lane.js";
import { poolThreads } from "./worker-pool.js";
import { INNER_REF, type MessageWriter, type WorkerResponse } from "./worker-protocol.js";

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

const SLICE_MS = 20;
const EMPTY = new StepValues();

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === "object" && x !== null && typeof (x as PromiseLike<unknown>).then === "function";
}

/** The value of task `node`'s op, a promise, with a rejection turned into a {@link TaskError}. */
function taskPromise(v: PromiseLike<unknown>, node: Task): Promise<unknown> {
  return Promise.resolve(v).then(undefined, (e: unknown) => {
    throw new TaskError(node.key, opName(node.op), e);
  });
}

/** The ops of a plan, loaded before it runs: functions, and module URLs for the workers. */
export interface OpTable {
  readonly functions: ReadonlyMap<OpRef, OpFunction>;
  readonly urls: ReadonlyMap<OpRef, string>;
}

/**
 * One run of a {@link Plan}: the ready tasks in priority order, dispatched to the lanes, each
 * result released after its last dependent.
 */
export class Execution {
  readonly #plan: Plan;
  readonly #opts: ExecutionOptions;
  readonly #threads: boolean;
  readonly #values: unknown[];
  readonly #sizes: Float64Array;
  readonly #waiting: Int32Array;
  readonly #pending: Int32Array;
  readonly #ready: PriorityQueue;
  /**
   * Ready tasks bound for the pool while its lane holds a full backlog: kept as numbers until it
   * has room, so that 20,000 ready blocks are not 20,000 pending jobs (closures, promises, step
   * lists) surviving young-generation GCs at once.
   */
  readonly #poolReady: PriorityQueue;
  readonly #ioGate: Gate;
  readonly #pool: PoolLane;
  readonly #staging: Staging;
  /** Live values viewing each buffer: a buffer moves to a worker only when one value views it. */
  readonly #views = new Map<ArrayBufferLike, number>();
  /**
   * Buffers that came back from a worker: only these may be moved to a worker again. A buffer
   * made on the main thread may be held elsewhere (an op's cache, a graph literal) where we
   * cannot see it, so it is copied.
   */
  readonly #owned = new WeakSet<ArrayBufferLike>();
  readonly #cancel = new Int32Array(new SharedArrayBuffer(4));
  readonly #lookup: (key: Key) => unknown;
  /** The task whose arguments are being substituted (-1: any). */
  #current = -1;
  readonly #hooks: boolean;
  /**
   * Bytes held now [0] and at most [1]: doubles in a typed array, as an object field that holds
   * a double would box a new number on every store (twice per task).
   */
  readonly #bytes = new Float64Array(2);
  #completed = 0;
  #done = false;
  #draining = false;
  #yieldScheduled = false;
  #memoOps: readonly unknown[] | undefined;
  #statSeg: Segment | undefined;
  #stat: Stat | undefined;
  /** The same for the last task's op. */
  #statOp: OpRef | undefined;
  #opStat: Stat | undefined;
  /** The step values of the fused node whose arguments are being prepared (see {@link #stepValue}). */
  #stepValues: unknown[] = [];
  readonly #stepValue = (s: number): unknown => this.#stepValues[s];
  /** Sync mode, when the priorities are a topological order: the tasks by rank (no ready queue). */
  #byRank: Int32Array | undefined;
  #memoSegs: readonly Segment[] = [];
  #t0 = 0;
  #resolve: (v: unknown[]) => void = () => undefined;
  #reject: (e: unknown) => void = () => undefined;
  #onAbort: () => void = () => undefined;

  constructor(plan: Plan, opts: ExecutionOptions) {
    this.#plan = plan;
    this.#opts = opts;
    this.#threads = opts.scheduler === "threads";
    const n = plan.size;
    this.#values = new Array<unknown>(n);
    this.#sizes = new Float64Array(n);
    this.#waiting = new Int32Array(n);
    this.#pending = new Int32Array(n);
    this.#ready = new PriorityQueue(plan.priority, Math.min(n, 1 << 16));
    this.#poolReady = new PriorityQueue(plan.priority);
    // no new fetch while the pool has a full backlog: fetched bytes would only pile up
    this.#ioGate = new Gate(opts.ioTasks, plan.priority, (i) => this.#startIo(i), () => this.#pool.waiting < this.#pool.capacity);
    this.#staging = new Staging(plan.priority, opts.staging);
    this.#pool = new PoolLane(plan.priority, opts.pool, this.#cancel, () => {
      this.#ioGate.pump();
      this.#drain();
    });
    const values = this.#values;
    const { keys, depStart, depList } = plan;
    // the dependencies of the task being prepared (#current) are few and known by number:
    // compare keys with them before hashing into the index
    this.#lookup = (key) => {
      const i = this.#current;
      if (i >= 0) {
        const s = depStart[i]!;
        const e = depStart[i + 1]!;
        if (e - s === 1) return values[depList[s]!];
        if (e - s <= 4) {
          for (let p = s; p < e; p++) if (keys[depList[p]!] === key) return values[depList[p]!];
        }
      }
      // the plan's key index is built on first use: a run that never gets here never builds it
      return values[plan.index.get(key)!];
    };
    this.#hooks = opts.callbacks.length > 0;
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
        this.#onAbort = () => this.#fail(signal.reason);
        signal.addEventListener("abort", this.#onAbort, { once: true });
      }
      const plan = this.#plan;
      const n = plan.size;
      if (!this.#threads) this.#byRank = runsByRank(plan);
      const queue = this.#byRank === undefined;
      for (let i = 0; i < n; i++) {
        this.#waiting[i] = plan.depStart[i + 1]! - plan.depStart[i]!;
        this.#pending[i] = plan.dependentStart[i + 1]! - plan.dependentStart[i]!;
      }
      if (queue) {
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
        v = this.#evalMain(i);
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

  // ---- threads mode

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
          const bytes = this.#inputBytes(i);
          const threshold = this.#opts.inlineThreshold;
          if (op !== this.#statOp) {
            this.#statOp = op;
            this.#opStat = opCosts.stat(opCosts.id(op));
          }
          const stat = this.#opStat!;
          const toPool = bytes >= threshold ? 1 : threshold !== Infinity && stat.slow ? 2 : 0;
          if (toPool !== 0 && !this.#poolHasRoom()) return this.#poolReady.push(i);
          if (toPool === 1) return this.#submitPoolTask(i, node, op, bytes, undefined);
          if (toPool === 2) return this.#submitPoolTask(i, node, op, bytes, opCosts.id(op));
          return this.#runInline(i, stat);
        }
      }
      return this.#runInline(i);
    }
    if (node instanceof Fused) {
      const segs = this.#segmentsOf(node);
      // one run of inline-worthy steps (e.g. a small load + reduce): no async machinery
      const first = segs[0]!;
      const stat = first.lane === "cpu" ? this.#statOf(first) : undefined;
      const firstToPool = stat !== undefined && this.#segmentToPool(i, node, first, EMPTY, stat);
      if (segs.length === 1 && first.lane !== "io" && !firstToPool) return this.#runInline(i, stat);
      if (firstToPool && !this.#poolHasRoom()) return this.#poolReady.push(i);
      // all of it one message to a worker: callbacks, without an async run and its step values
      if (segs.length === 1 && firstToPool) return this.#submitPoolSegment(i, node, first);
      this.#runFused(i, node, segs).catch((e: unknown) => this.#fail(e));
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
      v = this.#evalMain(i);
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
      p = this.#evalMain(i);
    } catch (e) {
      this.#ioGate.release();
      this.#fail(e);
      return;
    }
    Promise.resolve(p).then(
      (x) => {
        this.#ioGate.release();
        this.#complete(i, x, "io", t0);
        this.#drain();
      },
      (e: unknown) => {
        this.#ioGate.release();
        this.#fail(e);
      },
    );
  }

  /** Send task `i` to the pool; `slowId` when only its op's cost (not its size) sends it there. */
  #submitPoolTask(i: number, node: Task, op: OpRef, bytes: number, slowId: string | undefined): void {
    let t0 = 0;
    const costId = opCosts.id(op);
    this.#pool.submit({
      i,
      bytes,
      reconsider: slowId === undefined ? undefined : () => !opCosts.slow(slowId),
      runInline: () => this.#runInline(i, opCosts.stat(costId)),
      build: (transfer, message) => {
        t0 = this.#hooks ? this.#pre(i) : 0;
        const { index } = this.#plan;
        const args = substitute(node.args, (k) => {
          const d = index.get(k)!;
          return packForTransfer(this.#values[d], (buf) => this.#mayMove(d, buf), transfer);
        });
        message.request(1, null);
        message.step(message.opIndex(this.#urlOf(op), op.name), args);
      },
      settle: (res, error) => {
        if (res === undefined) this.#fail(new TaskError(node.key, opName(op), error));
        else if (res.ok === 1) {
          opCosts.record(costId, res.t);
          this.#own(res.v);
          this.#complete(i, res.v, "pool", t0);
        } else if (res.ok === 0) this.#fail(new TaskError(node.key, opName(op), workerError(res)));
      },
    });
  }

  /** Send fused node `i`, which is the one cpu segment `seg`, to the pool as one request. */
  #submitPoolSegment(i: number, node: Fused, seg: Segment): void {
    let t0 = 0;
    const bytes = this.#inputBytes(i);
    this.#pool.submit({
      i,
      bytes,
      reconsider: bytes >= this.#opts.inlineThreshold ? undefined : () => !opCosts.slow(seg.id),
      runInline: () => this.#runInline(i, opCosts.stat(seg.id)),
      build: (transfer, message) => {
        t0 = this.#hooks ? this.#pre(i) : 0;
        this.#segmentRequest(node, seg, EMPTY, transfer, message);
      },
      settle: (res, error) => {
        if (res === undefined) {
          this.#fail(new TaskError(node.key, opName(node.steps[seg.from]!.op), error, node.steps[seg.from]!.key));
        } else if (res.ok === 1) {
          opCosts.record(seg.id, res.t);
          const v = onlyLastExported(seg) ? res.v : (res.v as unknown[])[seg.exports.indexOf(node.steps.length - 1)];
          this.#own(v);
          this.#complete(i, v, "pool", t0);
        } else if (res.ok === 0) {
          const step = node.steps[seg.from + res.i]!;
          this.#fail(new TaskError(node.key, opName(step.op), workerError(res), step.key));
        }
      },
    });
  }

  /** `segs`: the node's segments, as {@link #dispatch} found them (before its steps were read). */
  async #runFused(i: number, node: Fused, segs: readonly Segment[]): Promise<void> {
    const t0 = this.#hooks ? this.#pre(i) : 0;
    const local = new StepValues();
    const lanes: string[] = [];
    // held from before a fetch whose bytes go to a cpu step until they are handed to a worker
    let ticket: StagingTicket | undefined;
    try {
      for (let k = 0; k < segs.length; k++) {
        const seg = segs[k]!;
        if (this.#done) return;
        if (seg.lane === "io") {
          if (segs[k + 1]?.lane === "cpu" && this.#opts.inlineThreshold !== Infinity) {
            ticket = await new Promise<StagingTicket>((r) => this.#staging.enter(i, r));
            if (this.#done) return;
          }
          await new Promise<void>((r) => this.#ioGate.submit(i, r));
          try {
            const p = this.#evalSteps(i, node, node.steps, seg.from, seg.to, local);
            if (isThenable(p)) await p;
          } finally {
            this.#ioGate.release();
          }
          if (ticket !== undefined) this.#staging.fetched(ticket, this.#exportBytes(node, seg, local));
          lanes.push("io");
          continue;
        }
        if (seg.lane === "cpu" && this.#segmentToPool(i, node, seg, local) && (await this.#segmentOnPool(i, node, seg, local, ticket))) {
          lanes.push("pool");
        } else {
          if (ticket !== undefined) this.#staging.leave(ticket);
          const start = performance.now();
          const p = this.#evalSteps(i, node, node.steps, seg.from, seg.to, local);
          if (isThenable(p)) await p;
          if (seg.lane === "cpu") opCosts.record(seg.id, performance.now() - start);
          lanes.push("inline");
        }
        if (ticket !== undefined) {
          this.#staging.leave(ticket);
          ticket = undefined;
        }
      }
    } finally {
      if (ticket !== undefined) this.#staging.leave(ticket);
    }
    if (this.#done) return;
    this.#complete(i, local.get(node.steps[node.steps.length - 1]!.key), lanes.join("+"), t0);
    this.#drain();
  }

  /** Bytes of the values a segment hands on. */
  #exportBytes(node: Fused, seg: Segment, local: StepValues): number {
    let n = 0;
    for (const s of seg.exports) n += sizeOf(local.get(node.steps[s]!.key));
    return n;
  }

  /**
   * Run a cpu segment on the pool; false when it should run inline after all (its op proved
   * cheap). `ticket`: the task's place in the staging bound, left when the message is built.
   */
  async #segmentOnPool(i: number, node: Fused, seg: Segment, local: StepValues, ticket: StagingTicket | undefined): Promise<boolean> {
    let res: WorkerResponse | undefined;
    const bytes = this.#segmentBytes(i, node, seg, local);
    const bySize = bytes >= this.#opts.inlineThreshold;
    try {
      res = await new Promise<WorkerResponse | undefined>((resolve, reject) => {
        this.#pool.submit({
          i,
          bytes,
          build: (transfer, message) => {
            if (ticket !== undefined) this.#staging.leave(ticket);
            this.#segmentRequest(node, seg, local, transfer, message);
          },
          settle: (r, e) => (r === undefined ? reject(e) : resolve(r)),
          reconsider: bySize ? undefined : () => !opCosts.slow(seg.id),
          runInline: () => resolve(undefined),
        });
      });
    } catch (e) {
      throw new TaskError(node.key, opName(node.steps[seg.from]!.op), e, node.steps[seg.from]!.key);
    }
    if (res === undefined) return false;
    if (res.ok === 0) {
      const step = node.steps[seg.from + res.i]!;
      throw new TaskError(node.key, opName(step.op), workerError(res), step.key);
    }
    if (res.ok === 1) {
      opCosts.record(seg.id, res.t);
      this.#own(res.v);
      if (onlyLastExported(seg)) local.set(node.steps[seg.to - 1]!.key, res.v);
      else {
        const vs = res.v as unknown[];
        seg.exports.forEach((s, j) => local.set(node.steps[s]!.key, vs[j]));
      }
    }
    return true;
  }

  #segmentRequest(node: Fused, seg: Segment, local: StepValues, transfer: Set<ArrayBuffer>, message: MessageWriter): void {
    const { index } = this.#plan;
    message.request(seg.to - seg.from, onlyLastExported(seg) ? null : seg.exports.map((s) => s - seg.from));
    const first = seg.from === 0 && seg.to === node.ops.length ? node.stepArgs(0) : undefined;
    if (first !== undefined) {
      // the whole node, from the arguments its source gives: no steps built, no keys compared
      let markers = 0;
      const outside = (k: Key): unknown => {
        const d = index.get(k)!;
        return packForTransfer(this.#values[d], (buf) => this.#mayMove(d, buf), transfer);
      };
      const inner = (e: number): unknown => {
        markers++;
        return innerRef(e);
      };
      for (let s = 0; s < seg.to; s++) {
        const op = node.ops[s] as OpRef;
        markers = 0;
        const args = substitute(s === 0 ? first : node.stepArgs(s)!, outside, inner);
        message.step(message.opIndex(this.#urlOf(op), op.name), args, markers);
      }
      return;
    }
    for (let s = seg.from; s < seg.to; s++) {
      const step = node.steps[s]!;
      const op = step.op as OpRef;
      let markers = 0;
      const args = substitute(step.args, (k) => {
        // an earlier step of this segment: a marker (segments are a few steps: a scan, no map)
        for (let e = s - 1; e >= seg.from; e--) {
          if (node.steps[e]!.key === k) {
            markers++;
            return innerRef(e - seg.from);
          }
        }
        const later = seg.usedLater.has(k);
        if (local.has(k)) {
          // a step's value is private to this task: moved if fresh (a worker's result or a body
          // the I/O lane fetched), unless a live value of the graph views the same buffer
          return packForTransfer(local.get(k), (buf) => !later && !this.#views.has(buf) && this.#movable(buf), transfer);
        }
        const d = index.get(k)!;
        return packForTransfer(this.#values[d], (buf) => !later && this.#mayMove(d, buf), transfer);
      });
      message.step(message.opIndex(this.#urlOf(op), op.name), args, markers);
    }
  }

  /** Run steps `[from, to)` of a fused node on the main thread; a promise if one step is async. */
  #evalSteps(i: number, node: Fused, steps: readonly Task[], from: number, to: number, local: StepValues): unknown {
    const lookup = (k: Key): unknown => (local.has(k) ? local.get(k) : this.#lookup(k));
    for (let s = from; s < to; s++) {
      const step = steps[s]!;
      let v: unknown;
      try {
        const fn = this.#fnOf(step.op);
        this.#current = i;
        const args = substitute(step.args, lookup);
        this.#current = -1;
        v = typeof step.op !== "function" && step.op.lane === "io" ? fn(this.#opts.io, ...args) : fn(...args);
      } catch (e) {
        throw new TaskError(node.key, opName(step.op), e, step.key);
      }
      if (isThenable(v)) return this.#afterStepsAwait(v, i, node, steps, s, to, local);
      local.set(step.key, v);
    }
    return undefined;
  }

  /** {@link #evalSteps} after step `s` gave a promise (apart, so the loop allocates no closure context). */
  #afterStepsAwait(v: PromiseLike<unknown>, i: number, node: Fused, steps: readonly Task[], s: number, to: number, local: StepValues): Promise<unknown> {
    const step = steps[s]!;
    return Promise.resolve(v).then(
      (x) => {
        local.set(step.key, x);
        return this.#evalSteps(i, node, steps, s + 1, to, local);
      },
      (e: unknown) => {
        throw new TaskError(node.key, opName(step.op), e, step.key);
      },
    );
  }

  /**
   * Run steps `from`.. of fused node `i` on the main thread from the arguments its source gives
   * (`first`: step `from`'s), the steps' values by number in `vals`, without building its
   * steps; the last step's value, or a promise of it if a step is async.
   */
  #evalProgram(i: number, node: Fused, first: readonly unknown[], from: number, vals: unknown[]): unknown {
    const ops = node.ops;
    const n = ops.length;
    for (let s = from; s < n; s++) {
      const op = ops[s]!;
      let v: unknown;
      try {
        const raw = s === from ? first : node.stepArgs(s)!;
        const fn = this.#fnOf(op);
        this.#current = i;
        this.#stepValues = vals;
        const args = substitute(raw, this.#lookup, this.#stepValue);
        this.#current = -1;
        v = typeof op !== "function" && op.lane === "io" ? fn(this.#opts.io, ...args) : fn(...args);
      } catch (e) {
        throw new TaskError(node.key, opName(op), e, stepKey(node, s));
      }
      if (isThenable(v)) return this.#afterProgramAwait(v, i, node, s, vals);
      vals[s] = v;
    }
    return vals[n - 1];
  }

  /** {@link #evalProgram} after step `s` gave a promise (apart, so the loop allocates no closure context). */
  #afterProgramAwait(v: PromiseLike<unknown>, i: number, node: Fused, s: number, vals: unknown[]): Promise<unknown> {
    const n = node.ops.length;
    return Promise.resolve(v).then(
      (x) => {
        vals[s] = x;
        return s + 1 < n ? this.#evalProgram(i, node, node.stepArgs(s + 1)!, s + 1, vals) : x;
      },
      (e: unknown) => {
        throw new TaskError(node.key, opName(node.ops[s]!), e, stepKey(node, s));
      },
    );
  }

  /** The value of node `i` computed on the main thread: a value, or a promise of one. Errors are TaskErrors. */
  #evalMain(i: number): unknown {
    const node: GraphNode = this.#plan.nodes[i]!;
    if (node instanceof Task) {
      const op = node.op;
      let v: unknown;
      try {
        const fn = this.#fnOf(op);
        this.#current = i;
        const args = substitute(node.args, this.#lookup);
        this.#current = -1;
        v = typeof op !== "function" && op.lane === "io" ? fn(this.#opts.io, ...args) : fn(...args);
      } catch (e) {
        throw new TaskError(node.key, opName(op), e);
      }
      return isThenable(v) ? taskPromise(v, node) : v;
    }
    if (node instanceof DataNode) return node.value;
    if (node instanceof Alias) return this.#values[this.#plan.index.get(node.target)!];
    const first = node.stepArgs(0);
    if (first !== undefined) return this.#evalProgram(i, node, first, 0, new Array<unknown>(node.ops.length));
    return this.#evalBuiltSteps(i, node);
  }

  /** {@link #evalMain} of a fused node whose steps must be built. */
  #evalBuiltSteps(i: number, node: Fused): unknown {
    const local = new StepValues();
    // run once here: a lazily built node's steps are not kept past this run
    const steps = node.stepsOnce();
    const last = steps[steps.length - 1]!.key;
    const p = this.#evalSteps(i, node, steps, 0, steps.length, local);
    return isThenable(p) ? Promise.resolve(p).then(() => local.get(last)) : local.get(last);
  }

  // ---- bookkeeping

  /**
   * {@link segmentsOf}, remembered for the last op sequence that made one segment: the nodes of
   * a fused Blockwise layer share one `ops` array, and one segment depends on the ops alone, so
   * they skip segmentation (and building their steps before they run).
   */
  #segmentsOf(node: Fused): readonly Segment[] {
    const ops = node.ops;
    if (ops === this.#memoOps || sameOps(ops, this.#memoOps)) return this.#memoSegs;
    const segs = segmentsOf(node);
    if (segs.length === 1) {
      this.#memoOps = ops;
      this.#memoSegs = segs;
    }
    return segs;
  }

  #fnOf(op: OpRef | OpFunction): OpFunction {
    if (typeof op === "function") return op;
    const fn = this.#opts.ops.functions.get(op);
    if (fn === undefined) throw new Error(`op ${opName(op)} was not loaded`);
    return fn;
  }

  #urlOf(op: OpRef): string {
    return this.#opts.ops.urls.get(op) ?? resolveOpModule(op.module);
  }

  #mayMove(d: number, buf: ArrayBufferLike): boolean {
    return this.#pending[d] === 1 && this.#plan.outputs[d] === 0 && this.#views.get(buf) === 1 && this.#movable(buf);
  }

  /** Buffers nothing outside the compute holds: results of pool ops, bodies the I/O lane fetched. */
  #movable(buf: ArrayBufferLike): boolean {
    return this.#owned.has(buf) || this.#opts.io.isFresh(buf);
  }

  #own(v: unknown): void {
    if (typeof v === "object" && v !== null) forEachView(v, (view) => this.#owned.add(view.buffer));
  }

  #inputBytes(i: number): number {
    const { depStart, depList } = this.#plan;
    let n = 0;
    for (let e = depStart[i]!; e < depStart[i + 1]!; e++) n += this.#sizes[depList[e]!]!;
    return n;
  }

  #segmentToPool(i: number, node: Fused, seg: Segment, local: StepValues, stat = opCosts.stat(seg.id)): boolean {
    const threshold = this.#opts.inlineThreshold;
    if (threshold === Infinity) return false;
    return stat.slow || this.#segmentBytes(i, node, seg, local) >= threshold;
  }

  /** The cost record of a segment's ops, remembered for the last segment asked about (nodes of a fused layer share theirs). */
  #statOf(seg: Segment): Stat {
    if (seg !== this.#statSeg) {
      this.#statSeg = seg;
      this.#stat = opCosts.stat(seg.id);
    }
    return this.#stat!;
  }

  #segmentBytes(i: number, node: Fused, seg: Segment, local: StepValues): number {
    // the first segment reads only outside keys: the node's inputs bound them
    if (seg.from === 0) return this.#inputBytes(i);
    const { index } = this.#plan;
    let n = 0;
    const seen = new Set<Key>();
    for (let s = seg.from; s < seg.to; s++) {
      for (const d of node.steps[s]!.dependencies) {
        if (seen.has(d)) continue;
        seen.add(d);
        if (local.has(d)) n += sizeOf(local.get(d));
        else {
          const j = index.get(d);
          if (j !== undefined) n += this.#sizes[j]!;
        }
      }
    }
    return n;
  }

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
    this.#values[i] = v;
    const size = sizeOf(v);
    this.#sizes[i] = size;
    const bytes = this.#bytes;
    const held = (bytes[0] += size);
    if (held > bytes[1]!) bytes[1] = held;
    if (this.#threads && typeof v === "object" && v !== null) this.#countViews(v, 1);
    const { depStart, depList, dependentStart, dependentList, outputs } = plan;
    for (let e = depStart[i]!; e < depStart[i + 1]!; e++) {
      const d = depList[e]!;
      if (--this.#pending[d]! === 0 && outputs[d] === 0) this.#release(d);
    }
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
        bytesIn: this.#inputBytes(i),
        bytesOut: size,
        heldBytes: this.#bytes[0]!,
      };
      for (const cb of this.#opts.callbacks) cb.posttask?.(info.key, v, info);
    }
    if (this.#completed === plan.size) this.#finish();
  }

  #release(d: number): void {
    this.#bytes[0] -= this.#sizes[d]!;
    const v = this.#values[d];
    if (this.#threads && typeof v === "object" && v !== null) this.#countViews(v, -1);
    this.#values[d] = undefined;
  }

  /**
   * Add `delta` to the count of live values viewing each buffer `v` views. Apart from its
   * callers: a closure there would make them allocate a context on every call, in every mode.
   */
  #countViews(v: object, delta: 1 | -1): void {
    const views = this.#views;
    forEachView(v, (view) => {
      const c = (views.get(view.buffer) ?? 0) + delta;
      if (c <= 0) views.delete(view.buffer);
      else views.set(view.buffer, c);
    });
  }

  #finishInfo(errored: boolean, error: unknown): FinishInfo {
    return {
      errored,
      error,
      completed: this.#completed,
      tasks: this.#plan.size,
      elapsed: performance.now() - this.#t0,
      peakHeldBytes: this.#bytes[1]!,
      io: { ...this.#opts.io.stats },
    };
  }

  #finish(): void {
    this.#done = true;
    this.#opts.signal?.removeEventListener("abort", this.#onAbort);
    const out = this.#plan.outputIndex.map((i) => this.#values[i]);
    this.#values.length = 0;
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
    this.#values.length = 0;
    this.#views.clear();
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

/**
 * The tasks by priority when the priorities number the tasks 0..n-1 in a topological order (as
 * the graph's `order` does), else undefined. Then the lowest unfinished rank is always ready, so
 * running by rank is exactly what popping the ready queue one task at a time would do.
 */
/**
 * The tasks with nothing to wait for, in order of priority, when the priorities are ranks (each
 * of 0..n-1 once): bucketed by rank, no sort.
 */
function readyByRank(plan: Plan, waiting: Int32Array): Int32Array | undefined {
  const { size: n, priority } = plan;
  const at = new Int32Array(n).fill(-1);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (waiting[i] !== 0) continue;
    const p = priority[i]!;
    if (!Number.isInteger(p) || p < 0 || p >= n || at[p] !== -1) return undefined;
    at[p] = i;
    count++;
  }
  const sorted = new Int32Array(count);
  let k = 0;
  for (let p = 0; p < n && k < count; p++) if (at[p]! >= 0) sorted[k++] = at[p]!;
  return sorted;
}

function runsByRank(plan: Plan): Int32Array | undefined {
  const { size: n, priority, depStart, depList } = plan;
  const byRank = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const p = priority[i]!;
    if (!Number.isInteger(p) || p < 0 || p >= n || byRank[p] !== -1) return undefined;
    byRank[p] = i;
    for (let e = depStart[i]!; e < depStart[i + 1]!; e++) if (priority[depList[e]!]! >= p) return undefined;
  }
  return byRank;
}

/**
 * Default limits of the pool lane: one message running and one queued per worker; a message
 * carries up to 32 tasks (together under 1 MiB of inputs) when many are ready. Each message
 * costs both threads a postMessage, a wake-up and a structured clone: on 368 chunks of 50 KB,
 * 64 KiB batches (one chunk a message) took 220 ms where 1 MiB batches (~5) took 175.
 */
export function defaultPoolLane(): PoolLaneOptions {
  return { messages: 2 * poolThreads(), workers: poolThreads(), maxBatch: 32, batchBytes: 2 ** 20, aheadBytes: 4 * 1024 * 1024 };
}

/**
 * Default staging bound: one task per worker always (ready when the worker frees), up to the
 * pool lane's capacity, and in between 32 MiB of fetched bytes: small chunks keep many
 * requests in flight (51 KB chunks: up to the capacity), 16 MiB chunks wait for the workers.
 */
export function defaultStaging(pool: PoolLaneOptions): StagingOptions {
  return { minTasks: poolThreads(), maxTasks: pool.messages * pool.maxBatch, maxBytes: 32 * 2 ** 20 };
}

/** Whether two op lists hold the same ops (fused chains made one by one each have their own list). */
function sameOps(a: readonly unknown[], b: readonly unknown[] | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

const innerRefs: Readonly<Record<string, number>>[] = [];

/** The marker of a worker request's argument that is the value of its step `e` (shared, frozen). */
function innerRef(e: number): Readonly<Record<string, number>> {
  return (innerRefs[e] ??= Object.freeze({ [INNER_REF]: e }));
}

/** The key of step `s` of a fused node, for an error (builds the steps if they were not). */
function stepKey(node: Fused, s: number): Key | undefined {
  try {
    return node.stepsOnce()[s]?.key;
  } catch {
    return undefined;
  }
}

/** Whether a segment hands on only its last step's value (then a worker answers that value, not a list). */
function onlyLastExported(seg: Segment): boolean {
  return seg.exports.length === 1 && seg.exports[0] === seg.to - 1;
}

function workerError(res: { e: unknown; name: string; message: string }): unknown {
  const e = res.e;
  if (e instanceof Error) {
    if (e.name !== res.name) {
      try {
        e.name = res.name;
      } catch {
        // a frozen error keeps its name
      }
    }
    return e;
  }
  return e;
}
