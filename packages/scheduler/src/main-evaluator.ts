import { Alias, DataNode, Fused, Task, opName, substitute, type GraphNode, type Key, type OpFunction, type OpRef } from "@zask/graph";
import { TaskError } from "./errors.js";
import type { IoLane } from "./io-lane.js";
import type { Plan } from "./plan.js";
import { StepValues } from "./step-values.js";
import type { ValueStore } from "./value-store.js";

/** The ops of a plan, loaded before it runs: functions, and module URLs for the workers. */
export interface OpTable {
  readonly functions: ReadonlyMap<OpRef, OpFunction>;
  readonly urls: ReadonlyMap<OpRef, string>;
}

/** Whether `x` is a promise (or any thenable). */
export function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === "object" && x !== null && typeof (x as PromiseLike<unknown>).then === "function";
}

/** The value of task `node`'s op, a promise, with a rejection turned into a {@link TaskError}. */
function taskPromise(v: PromiseLike<unknown>, node: Task): Promise<unknown> {
  return Promise.resolve(v).then(undefined, (e: unknown) => {
    throw new TaskError(node.key, opName(node.op), e);
  });
}

/**
 * Runs nodes of a plan on the main thread: a task's op on its arguments (io ops get the I/O
 * lane first), and a fused node's steps one after another — from the arguments its source gives
 * when it has them (no steps built, step values by number), else from its built steps. A value
 * comes back as it is, or as a promise when an op is async; every error is a {@link TaskError}
 * naming the node and the step.
 */
export class MainEvaluator {
  readonly #plan: Plan;
  readonly #store: ValueStore;
  readonly #ops: OpTable;
  readonly #io: IoLane;
  /** The step values of the fused node whose arguments are being prepared (see {@link #stepValue}). */
  #stepValues: unknown[] = [];
  readonly #stepValue = (s: number): unknown => this.#stepValues[s];

  constructor(plan: Plan, store: ValueStore, ops: OpTable, io: IoLane) {
    this.#plan = plan;
    this.#store = store;
    this.#ops = ops;
    this.#io = io;
  }

  /** The value of node `i`: a value, or a promise of one. */
  evaluate(i: number): unknown {
    const node: GraphNode = this.#plan.nodes[i]!;
    if (node instanceof Task) {
      const op = node.op;
      let v: unknown;
      try {
        const fn = this.fnOf(op);
        this.#store.current = i;
        const args = substitute(node.args, this.#store.lookup);
        this.#store.current = -1;
        v = typeof op !== "function" && op.lane === "io" ? fn(this.#io, ...args) : fn(...args);
      } catch (e) {
        throw new TaskError(node.key, opName(op), e);
      }
      return isThenable(v) ? taskPromise(v, node) : v;
    }
    if (node instanceof DataNode) return node.value;
    if (node instanceof Alias) return this.#store.byKey(node.target);
    const first = node.stepArgs(0);
    if (first !== undefined) return this.#evalProgram(i, node, first, 0, new Array<unknown>(node.ops.length));
    return this.#evalBuiltSteps(i, node);
  }

  /** Run steps `[from, to)` of fused node `i`, their values into `local`; a promise if one step is async. */
  evalSteps(i: number, node: Fused, steps: readonly Task[], from: number, to: number, local: StepValues): unknown {
    const store = this.#store;
    const lookup = (k: Key): unknown => (local.has(k) ? local.get(k) : store.lookup(k));
    for (let s = from; s < to; s++) {
      const step = steps[s]!;
      let v: unknown;
      try {
        const fn = this.fnOf(step.op);
        store.current = i;
        const args = substitute(step.args, lookup);
        store.current = -1;
        v = typeof step.op !== "function" && step.op.lane === "io" ? fn(this.#io, ...args) : fn(...args);
      } catch (e) {
        throw new TaskError(node.key, opName(step.op), e, step.key);
      }
      if (isThenable(v)) return this.#afterStepsAwait(v, i, node, steps, s, to, local);
      local.set(step.key, v);
    }
    return undefined;
  }

  /** The function of an op (loaded before the run). */
  fnOf(op: OpRef | OpFunction): OpFunction {
    if (typeof op === "function") return op;
    const fn = this.#ops.functions.get(op);
    if (fn === undefined) throw new Error(`op ${opName(op)} was not loaded`);
    return fn;
  }

  /** {@link evalSteps} after step `s` gave a promise (apart, so the loop allocates no closure context). */
  #afterStepsAwait(v: PromiseLike<unknown>, i: number, node: Fused, steps: readonly Task[], s: number, to: number, local: StepValues): Promise<unknown> {
    const step = steps[s]!;
    return Promise.resolve(v).then(
      (x) => {
        local.set(step.key, x);
        return this.evalSteps(i, node, steps, s + 1, to, local);
      },
      (e: unknown) => {
        throw new TaskError(node.key, opName(step.op), e, step.key);
      },
    );
  }

  /**
   * Run steps `from`.. of fused node `i` from the arguments its source gives (`first`: step
   * `from`'s), the steps' values by number in `vals`, without building its steps; the last
   * step's value, or a promise of it if a step is async.
   */
  #evalProgram(i: number, node: Fused, first: readonly unknown[], from: number, vals: unknown[]): unknown {
    const ops = node.ops;
    const n = ops.length;
    const store = this.#store;
    for (let s = from; s < n; s++) {
      const op = ops[s]!;
      let v: unknown;
      try {
        const raw = s === from ? first : node.stepArgs(s)!;
        const fn = this.fnOf(op);
        store.current = i;
        this.#stepValues = vals;
        const args = substitute(raw, store.lookup, this.#stepValue);
        store.current = -1;
        v = typeof op !== "function" && op.lane === "io" ? fn(this.#io, ...args) : fn(...args);
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

  /** {@link evaluate} of a fused node whose steps must be built. */
  #evalBuiltSteps(i: number, node: Fused): unknown {
    const local = new StepValues();
    // run once here: a lazily built node's steps are not kept past this run
    const steps = node.stepsOnce();
    const last = steps[steps.length - 1]!.key;
    const p = this.evalSteps(i, node, steps, 0, steps.length, local);
    return isThenable(p) ? Promise.resolve(p).then(() => local.get(last)) : local.get(last);
  }
}

/** The key of step `s` of a fused node, for an error (builds the steps if they were not). */
function stepKey(node: Fused, s: number): Key | undefined {
  try {
    return node.stepsOnce()[s]?.key;
  } catch {
    return undefined;
  }
}
