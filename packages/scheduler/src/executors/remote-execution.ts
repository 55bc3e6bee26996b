/**
 * The client side of a distributed compute: ready tasks in priority order, each submitted to
 * an {@link Executor} as a job once its dependencies are done, at most `maxInFlight` at once;
 * cheap glue (inline ops, plain functions, data, aliases) runs here.
 *
 * State of a {@link RemoteExecution}:
 * - `#values[i]`: task i's value once it finished (a {@link ScratchRef} when a worker left it
 *   in the scratch directory), dropped when `#dependents[i]`, its dependents still to run,
 *   reaches 0 unless it is requested.
 * - `#waiting[i]`: dependencies of task i not yet finished; i enters `#ready` at 0.
 * - `#inFlight`: jobs submitted and not settled; `#completed`; `#done` (finished or failed:
 *   later settlements are ignored).
 */
import { readFile, rm } from "node:fs/promises";
import { Alias, DataNode, Task, opName, type Fused, type GraphNode, type Key } from "@zask/graph";
import type { Callbacks } from "../callbacks.js";
import { TaskError } from "../errors.js";
import type { Plan } from "../plan.js";
import { PriorityQueue } from "../priority-queue.js";
import { sizeOf } from "../size-of.js";
import type { Executor, ExecutorSession, ScratchRef } from "./executor.js";
import { decodeResult, encodeTask, isRemoteNode } from "./task-codec.js";

/** Runs one node on this process with its dependencies' values (a local compute of one node). */
export type LocalRunner = (node: GraphNode, deps: DataNode[]) => Promise<unknown>;

/** What a {@link RemoteExecution} needs besides its plan. */
export interface RemoteExecutionOptions {
  readonly executor: Executor;
  readonly signal: AbortSignal | undefined;
  readonly callbacks: readonly Callbacks[];
  readonly runLocal: LocalRunner;
}

function isScratch(v: unknown): v is ScratchRef {
  return typeof v === "object" && v !== null && typeof (v as ScratchRef).scratch === "string" && Object.keys(v).length === 2;
}

/** One distributed run of a {@link Plan}. */
export class RemoteExecution {
  readonly #plan: Plan;
  readonly #opts: RemoteExecutionOptions;
  readonly #values: unknown[];
  readonly #dependents: Int32Array;
  readonly #waiting: Int32Array;
  readonly #ready: PriorityQueue;
  readonly #scratch = new Set<string>();
  #session: ExecutorSession | undefined;
  #inFlight = 0;
  #completed = 0;
  #done = false;
  #t0 = 0;
  #resolve: (v: unknown[]) => void = () => undefined;
  #reject: (e: unknown) => void = () => undefined;
  // bound, not an arrow made in run(): an arrow kept on the instance keeps the run and its
  // results alive through V8's young-generation collections
  readonly #onAbort = this.#failBySignal.bind(this);

  constructor(plan: Plan, opts: RemoteExecutionOptions) {
    this.#plan = plan;
    this.#opts = opts;
    const n = plan.size;
    this.#values = new Array<unknown>(n);
    this.#dependents = new Int32Array(n);
    this.#waiting = new Int32Array(n);
    this.#ready = new PriorityQueue(plan.priority, Math.min(n, 1 << 16));
  }

  #failBySignal(): void {
    this.#fail(this.#opts.signal?.reason);
  }

  async run(): Promise<unknown[]> {
    const { signal, executor } = this.#opts;
    signal?.throwIfAborted();
    this.#session = await executor.open({ signal });
    return new Promise<unknown[]>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      if (signal !== undefined) {
        signal.addEventListener("abort", this.#onAbort, { once: true });
        if (signal.aborted) return this.#onAbort();
      }
      const plan = this.#plan;
      for (let i = 0; i < plan.size; i++) {
        this.#waiting[i] = plan.depStart[i + 1]! - plan.depStart[i]!;
        this.#dependents[i] = plan.dependentStart[i + 1]! - plan.dependentStart[i]!;
        if (this.#waiting[i] === 0) this.#ready.push(i);
      }
      for (const cb of this.#opts.callbacks) cb.start?.({ keys: plan.outputIndex.map((i) => plan.keys[i]!), tasks: plan.size, scheduler: "distributed" });
      this.#t0 = performance.now();
      if (plan.size === 0) void this.#finish();
      else this.#pump();
    });
  }

  #pump(): void {
    const max = this.#opts.executor.maxInFlight;
    while (!this.#done && this.#inFlight < max) {
      const i = this.#ready.pop();
      if (i < 0) return;
      this.#start(i);
    }
  }

  #start(i: number): void {
    const node = this.#plan.nodes[i]!;
    const key = node.key;
    for (const cb of this.#opts.callbacks) cb.pretask?.(key);
    const t0 = performance.now();
    if (node instanceof DataNode) return this.#complete(i, node.value, "data", t0);
    if (node instanceof Alias) {
      const d = this.#plan.depList[this.#plan.depStart[i]!]!;
      this.#local(i, t0, async () => this.#localValue(d));
      return;
    }
    this.#inFlight++;
    if (isRemoteNode(node)) {
      this.#remote(i, node, t0).then(
        () => undefined,
        (e: unknown) => this.#fail(e),
      );
      return;
    }
    this.#local(i, t0, async () => {
      const deps: DataNode[] = [];
      for (let e = this.#plan.depStart[i]!; e < this.#plan.depStart[i + 1]!; e++) {
        const d = this.#plan.depList[e]!;
        deps.push(new DataNode(this.#plan.keys[d]!, await this.#localValue(d)));
      }
      return this.#opts.runLocal(node, deps);
    });
  }

  #local(i: number, t0: number, f: () => Promise<unknown>): void {
    const counted = !(this.#plan.nodes[i] instanceof Alias);
    f().then(
      (v) => {
        if (counted) this.#inFlight--;
        this.#complete(i, v, "inline", t0);
      },
      (e: unknown) => this.#fail(e),
    );
  }

  async #remote(i: number, node: Task | Fused, t0: number): Promise<void> {
    const plan = this.#plan;
    const deps: [Key, unknown][] = [];
    for (let e = plan.depStart[i]!; e < plan.depStart[i + 1]!; e++) {
      const d = plan.depList[e]!;
      deps.push([plan.keys[d]!, this.#values[d]]);
    }
    const op = opName(node instanceof Task ? node.op : node.ops[0]!);
    const payload = encodeTask(node, deps);
    const result = await this.#session!.submit({ key: node.key, op, payload });
    if (this.#done) return;
    this.#inFlight--;
    let value: unknown;
    if (result instanceof Uint8Array) {
      try {
        value = await decodeResult(result);
      } catch (e) {
        throw new TaskError(node.key, op, e);
      }
    } else {
      value = result;
      this.#scratch.add(result.scratch);
    }
    this.#complete(i, value, "remote", t0);
  }

  /** Task `d`'s value here: read from the scratch directory when a worker left it there. */
  async #localValue(d: number): Promise<unknown> {
    const v = this.#values[d];
    return isScratch(v) ? decodeResult(await readFile(v.scratch)) : v;
  }

  #complete(i: number, v: unknown, lane: string, t0: number): void {
    if (this.#done) return;
    const plan = this.#plan;
    this.#values[i] = v;
    for (let e = plan.depStart[i]!; e < plan.depStart[i + 1]!; e++) {
      const d = plan.depList[e]!;
      if (--this.#dependents[d]! === 0 && plan.outputs[d] === 0) this.#release(d);
    }
    for (let e = plan.dependentStart[i]!; e < plan.dependentStart[i + 1]!; e++) {
      const j = plan.dependentList[e]!;
      if (--this.#waiting[j]! === 0) this.#ready.push(j);
    }
    this.#completed++;
    if (this.#opts.callbacks.length > 0) {
      const end = performance.now();
      const bytes = isScratch(v) ? v.bytes : sizeOf(v);
      for (const cb of this.#opts.callbacks) {
        cb.posttask?.(plan.keys[i]!, v, { key: plan.keys[i]!, lane, start: t0, duration: end - t0, bytesIn: 0, bytesOut: bytes, heldBytes: 0 });
      }
    }
    if (this.#completed === plan.size) void this.#finish();
    else this.#pump();
  }

  #release(d: number): void {
    const v = this.#values[d];
    this.#values[d] = undefined;
    if (isScratch(v)) {
      this.#scratch.delete(v.scratch);
      void rm(v.scratch, { force: true }).catch(() => undefined);
    }
  }

  async #finish(): Promise<void> {
    this.#done = true;
    this.#opts.signal?.removeEventListener("abort", this.#onAbort);
    try {
      const out: unknown[] = [];
      for (const i of this.#plan.outputIndex) out.push(await this.#localValue(i));
      await this.#cleanup(false);
      this.#notifyFinish(false, undefined);
      this.#resolve(out);
    } catch (e) {
      this.#done = false;
      this.#fail(e);
    }
  }

  #fail(e: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#opts.signal?.removeEventListener("abort", this.#onAbort);
    this.#ready.clear();
    this.#values.fill(undefined);
    this.#notifyFinish(true, e);
    // the jobs still waiting go (an abort, or a failure that makes their results useless)
    this.#cleanup(true).then(
      () => this.#reject(e),
      () => this.#reject(e),
    );
  }

  async #cleanup(aborted: boolean): Promise<void> {
    const files = [...this.#scratch];
    this.#scratch.clear();
    await Promise.all(files.map((f) => rm(f, { force: true }).catch(() => undefined)));
    await this.#session?.close(aborted);
  }

  #notifyFinish(errored: boolean, error: unknown): void {
    const info = {
      errored,
      error,
      completed: this.#completed,
      tasks: this.#plan.size,
      elapsed: performance.now() - this.#t0,
      peakHeldBytes: 0,
      io: { requests: 0, retries: 0, bytes: 0, maxInFlight: 0 },
    };
    for (const cb of this.#opts.callbacks) {
      try {
        cb.finish?.(info);
      } catch {
        // the compute's own outcome wins over a failing hook
      }
    }
  }
}
