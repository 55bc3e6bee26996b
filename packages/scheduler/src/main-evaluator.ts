import {
  Alias,
  DataNode,
  Fused,
  StepRef,
  Task,
  findDependencies,
  opName,
  substitute,
  type GraphNode,
  type Key,
  type OpFunction,
  type OpRef,
} from "@zask/graph";
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

/** Whether `op` runs on the I/O lane. */
export function isIo(op: OpRef | OpFunction): boolean {
  return typeof op !== "function" && op.lane === "io";
}

/**
 * The io steps of a fused node started before their turn (see {@link MainEvaluator}): per step,
 * what its op gave (`ok`) or threw, or nothing for a step that runs in turn.
 */
type Early = ({ readonly ok: true; readonly v: unknown } | { readonly ok: false; readonly e: unknown } | undefined)[];

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
 * naming the node and the step. A fused node's io steps that read nothing of the node's
 * other steps (the two fetches of a chunk pair) all start with its first step, so its
 * requests are in flight together rather than one round trip after another.
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
  evalSteps(i: number, node: Fused, steps: readonly Task[], from: number, to: number, local: StepValues, early?: Early): unknown {
    const store = this.#store;
    const lookup = (k: Key): unknown => (local.has(k) ? local.get(k) : store.lookup(k));
    early ??= this.#startIoSteps(i, steps, from, to, lookup);
    for (let s = from; s < to; s++) {
      const step = steps[s]!;
      let v: unknown;
      try {
        const started = early?.[s];
        if (started !== undefined) {
          if (!started.ok) throw started.e;
          v = started.v;
        } else {
          const fn = this.fnOf(step.op);
          store.current = i;
          const args = substitute(step.args, lookup);
          store.current = -1;
          v = isIo(step.op) ? fn(this.#io, ...args) : fn(...args);
        }
      } catch (e) {
        throw new TaskError(node.key, opName(step.op), e, step.key);
      }
      if (isThenable(v)) return this.#afterStepsAwait(v, i, node, steps, s, to, local, early);
      local.set(step.key, v);
    }
    return undefined;
  }

  /**
   * Start steps [from, to)'s io steps that read no value of another of them, when there are
   * two or more: their ops' results (promises marked handled, so one that fails while an
   * earlier step fails the node is not an unhandled rejection), by step.
   */
  #startIoSteps(i: number, steps: readonly Task[], from: number, to: number, lookup: (k: Key) => unknown): Early | undefined {
    let io = 0;
    for (let s = from; s < to; s++) if (isIo(steps[s]!.op)) io++;
    if (io < 2) return undefined;
    const inside = new Set<Key>();
    for (let s = from; s < to; s++) inside.add(steps[s]!.key);
    const early: Early = [];
    for (let s = from; s < to; s++) {
      const step = steps[s]!;
      if (!isIo(step.op) || findDependencies(step.args).some((k) => inside.has(k))) continue;
      early[s] = this.#start(i, step.op, () => substitute(step.args, lookup));
    }
    return early;
  }

  /** Call io op `op` on the arguments `args()` makes; what it gave or threw. */
  #start(i: number, op: OpRef | OpFunction, args: () => unknown[]): NonNullable<Early[number]> {
    try {
      const fn = this.fnOf(op);
      this.#store.current = i;
      const a = args();
      this.#store.current = -1;
      const v = fn(this.#io, ...a);
      if (isThenable(v)) Promise.resolve(v).catch(() => undefined);
      return { ok: true, v };
    } catch (e) {
      this.#store.current = -1;
      return { ok: false, e };
    }
  }

  /** The function of an op (loaded before the run). */
  fnOf(op: OpRef | OpFunction): OpFunction {
    if (typeof op === "function") return op;
    const fn = this.#ops.functions.get(op);
    if (fn === undefined) throw new Error(`op ${opName(op)} was not loaded`);
    return fn;
  }

  /** {@link evalSteps} after step `s` gave a promise (apart, so the loop allocates no closure context). */
  #afterStepsAwait(
    v: PromiseLike<unknown>,
    i: number,
    node: Fused,
    steps: readonly Task[],
    s: number,
    to: number,
    local: StepValues,
    early: Early | undefined,
  ): Promise<unknown> {
    const step = steps[s]!;
    return Promise.resolve(v).then(
      (x) => {
        local.set(step.key, x);
        return this.evalSteps(i, node, steps, s + 1, to, local, early ?? []);
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
  #evalProgram(i: number, node: Fused, first: readonly unknown[], from: number, vals: unknown[], early?: Early): unknown {
    const ops = node.ops;
    const n = ops.length;
    const store = this.#store;
    early ??= this.#startIoProgram(i, node, first, from);
    for (let s = from; s < n; s++) {
      const op = ops[s]!;
      let v: unknown;
      try {
        const started = early?.[s];
        if (started !== undefined) {
          if (!started.ok) throw started.e;
          v = started.v;
        } else {
          const raw = s === from ? first : node.stepArgs(s)!;
          const fn = this.fnOf(op);
          store.current = i;
          this.#stepValues = vals;
          const args = substitute(raw, store.lookup, this.#stepValue);
          store.current = -1;
          v = isIo(op) ? fn(this.#io, ...args) : fn(...args);
        }
      } catch (e) {
        throw new TaskError(node.key, opName(op), e, stepKey(node, s));
      }
      if (isThenable(v)) return this.#afterProgramAwait(v, i, node, s, vals, early);
      vals[s] = v;
    }
    return vals[n - 1];
  }

  /** {@link #startIoSteps} for a fused node run from its source's arguments (`first`: step `from`'s). */
  #startIoProgram(i: number, node: Fused, first: readonly unknown[], from: number): Early | undefined {
    const ops = node.ops;
    let io = 0;
    for (let s = from; s < ops.length; s++) if (isIo(ops[s]!)) io++;
    if (io < 2) return undefined;
    const early: Early = [];
    const lookup = this.#store.lookup;
    for (let s = from; s < ops.length; s++) {
      if (!isIo(ops[s]!)) continue;
      const raw = s === from ? first : node.stepArgs(s);
      // a step's reads of earlier steps are StepRefs among its arguments
      if (raw === undefined || raw.some((a) => a instanceof StepRef)) continue;
      early[s] = this.#start(i, ops[s]!, () => substitute(raw, lookup));
    }
    return early;
  }

  /** {@link #evalProgram} after step `s` gave a promise (apart, so the loop allocates no closure context). */
  #afterProgramAwait(v: PromiseLike<unknown>, i: number, node: Fused, s: number, vals: unknown[], early: Early | undefined): Promise<unknown> {
    const n = node.ops.length;
    return Promise.resolve(v).then(
      (x) => {
        vals[s] = x;
        return s + 1 < n ? this.#evalProgram(i, node, node.stepArgs(s + 1)!, s + 1, vals, early ?? []) : x;
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
