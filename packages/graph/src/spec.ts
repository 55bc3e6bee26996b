import type { Key } from "./key.js";

/**
 * Where an op runs. `io`: an async function on the main thread, bounded by the I/O lane
 * (fetches); `cpu`: on the worker-thread pool when the work is worth a message; `inline`:
 * always on the main thread (cheap glue such as assembling results).
 */
export type Lane = "io" | "cpu" | "inline";

/**
 * A reference to a function that a worker thread can import: a module specifier (a bare
 * package specifier such as `@zask/array/ops`, or a `file:` URL) and an export name.
 * Plain data, so it survives `structuredClone` and `postMessage`.
 */
export interface OpRef {
  readonly module: string;
  readonly name: string;
  readonly lane: Lane;
}

/** A function a task calls. A plain function always runs inline on the main thread. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OpFunction = (...args: any[]) => unknown;

/** What a task calls: an {@link OpRef} or a plain function. */
export type Op = OpRef | OpFunction;

/**
 * Make an {@link OpRef}.
 *
 * @param module - a bare specifier or a URL (`new URL("./ops.js", import.meta.url)`).
 * @param name - the export name in that module.
 * @param options.lane - where it runs. @default "cpu"
 * @example
 * ```ts
 * const normalize = op(new URL("./my-ops.js", import.meta.url), "normalize");
 * ```
 */
export function op(module: string | URL, name: string, options: { lane?: Lane } = {}): OpRef {
  const lane = options.lane ?? "cpu";
  if (lane !== "io" && lane !== "cpu" && lane !== "inline") {
    throw new RangeError(`Expected \`lane\` to be "io", "cpu" or "inline", got \`${String(lane)}\``);
  }
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`Expected \`name\` to be a non-empty string, got \`${String(name)}\` (${typeof name})`);
  }
  return Object.freeze({ module: module instanceof URL ? module.href : module, name, lane });
}

/**
 * Whether `x` is an {@link OpRef}.
 *
 * @example
 * ```ts
 * isOpRef(op("@zask/array/ops", "sum")); // true
 * isOpRef(Math.max); // false
 * ```
 */
export function isOpRef(x: unknown): x is OpRef {
  return typeof x === "object" && x !== null && typeof (x as OpRef).module === "string" && typeof (x as OpRef).name === "string";
}

/**
 * A short printable name of an op: `module#name`, or the function's name.
 *
 * @example
 * ```ts
 * opName(op("@zask/array/ops", "sum")); // "@zask/array/ops#sum"
 * ```
 */
export function opName(o: Op): string {
  return typeof o === "function" ? o.name || "<anonymous>" : `${o.module}#${o.name}`;
}

/**
 * A reference, inside task arguments, to the value of another key.
 *
 * @example
 * ```ts
 * new Task("b", inc, [new Ref("a")]).dependencies; // ["a"]
 * ```
 */
export class Ref {
  readonly key: Key;
  constructor(key: Key) {
    this.key = key;
  }
}

/**
 * Shorthand for `new Ref(key)`.
 *
 * @example
 * ```ts
 * new Task("total", sum, [[ref('["x",0]'), ref('["x",1]')]]);
 * ```
 */
export function ref(key: Key): Ref {
  return new Ref(key);
}

/**
 * A reference, inside the arguments a {@link FusedSteps} source gives for one step of a fused
 * node, to the value of an earlier step of the same node (by its position).
 *
 * @example
 * ```ts
 * stepRef(0); // the first step's value
 * ```
 */
export class StepRef {
  readonly step: number;
  constructor(step: number) {
    if (!Number.isInteger(step) || step < 0) throw new RangeError(`Expected \`step\` to be a non-negative integer, got \`${String(step)}\``);
    this.step = step;
  }
}

const stepRefs: StepRef[] = [];

/** The shared {@link StepRef} to step `step`. */
export function stepRef(step: number): StepRef {
  return (stepRefs[step] ??= new StepRef(step));
}

/**
 * Every node gets a serial number when it is made, under this symbol (not part of the public
 * API): nodes made together have nearby numbers, so passes can index them with a typed array
 * instead of a map from key strings.
 */
export const nodeId: unique symbol = Symbol("zask.nodeId");
let nextNodeId = 0;

/**
 * One call: `op(...args)` where every {@link Ref} inside `args` (at any depth of arrays and
 * plain objects) is replaced by the value of its key. Dependencies are found once, here.
 *
 * @example
 * ```ts
 * const t = new Task("total", op("@zask/array/ops", "sum"), [[ref('["x",0]'), ref('["x",1]')]]);
 * t.dependencies; // ['["x",0]', '["x",1]']
 * ```
 */
export class Task {
  readonly key: Key;
  /** @internal */
  readonly [nodeId]: number = nextNodeId++;
  readonly op: Op;
  readonly args: readonly unknown[];
  readonly dependencies: readonly Key[];
  constructor(key: Key, fn: Op, args: readonly unknown[], dependencies?: readonly Key[]) {
    this.key = key;
    this.op = fn;
    this.args = args;
    this.dependencies = dependencies ?? findDependencies(args);
  }
}

/**
 * A literal value stored in the graph under a key.
 *
 * @example
 * ```ts
 * Graph.fromNodes("config", [new DataNode("config", { url: "http://host/x.zarr" })]);
 * ```
 */
export class DataNode {
  readonly key: Key;
  /** @internal */
  readonly [nodeId]: number = nextNodeId++;
  readonly value: unknown;
  readonly dependencies: readonly Key[] = [];
  constructor(key: Key, value: unknown) {
    this.key = key;
    this.value = value;
  }
}

/**
 * A second name for another key's value.
 *
 * @example
 * ```ts
 * new Alias("result", '["sum-ab",0]'); // "result" has the value of the block
 * ```
 */
export class Alias {
  readonly key: Key;
  /** @internal */
  readonly [nodeId]: number = nextNodeId++;
  readonly target: Key;
  readonly dependencies: readonly Key[];
  constructor(key: Key, target: Key) {
    this.key = key;
    this.target = target;
    this.dependencies = [target];
  }
}

/**
 * Where a {@link Fused} node built lazily gets its steps: `steps(index)` makes the steps of
 * the node numbered `index` (a fused Blockwise layer numbers its blocks).
 *
 * @example
 * ```ts
 * new Fused(key, fusedLayer, dependencies, linearIndex); // steps built on first read
 * ```
 */
export interface FusedSteps {
  steps(index: number): readonly Task[];
  /** The ops of the steps, in order, the same for every node (so `ops` needs no steps). */
  readonly stepOps: readonly Op[];
  /**
   * The arguments of step `s` of node `index`, where the steps' tasks need not be built: refs
   * to earlier steps are {@link StepRef}s, refs to outside keys {@link Ref}s; the same array for
   * every node when it does not depend on the block (treat it as read-only). `undefined` when
   * this source cannot give them (then read the steps).
   */
  stepArgs?(index: number, s: number): readonly unknown[] | undefined;
}

/**
 * Several tasks run as one: `steps` in a topological order, each step's refs pointing at
 * earlier steps or at outside keys; the last step's value is this node's value. Made by
 * `fuse`; a scheduler may split the steps by lane (fetch on the main thread, decode on a worker).
 *
 * `steps` may be given as a {@link FusedSteps} source and a number instead of an array, with
 * `dependencies`: then the steps are built on first read of `steps` (and kept), so a
 * million-block fused layer costs one small object per block until its tasks run.
 *
 * @example
 * ```ts
 * const f = new Fused('["dec",0]', [
 *   new Task('["load",0]', fetchChunk, ["https://host/x/0"]),
 *   new Task('["dec",0]', decodeChunk, [ref('["load",0]')]),
 * ]);
 * f.dependencies; // []
 * ```
 */
export class Fused {
  readonly key: Key;
  /** @internal */
  readonly [nodeId]: number = nextNodeId++;
  readonly dependencies: readonly Key[];
  #steps: readonly Task[] | undefined;
  #source: FusedSteps | undefined;
  #index: number;
  #ops: readonly Op[] | undefined;
  constructor(key: Key, steps: readonly Task[], dependencies?: readonly Key[]);
  constructor(key: Key, steps: FusedSteps, dependencies: readonly Key[], index: number);
  constructor(key: Key, steps: readonly Task[] | FusedSteps, dependencies?: readonly Key[], index = 0) {
    this.key = key;
    this.#index = index;
    if (!Array.isArray(steps)) {
      this.#source = steps as FusedSteps;
      this.dependencies = dependencies!;
      return;
    }
    if (steps.length === 0) throw new RangeError(`Expected at least one step in fused task ${key}`);
    this.#steps = steps;
    if (dependencies) {
      this.dependencies = dependencies;
    } else {
      const inner = new Set(steps.map((s) => s.key));
      const outer = new Set<Key>();
      for (const s of steps) for (const d of s.dependencies) if (!inner.has(d)) outer.add(d);
      this.dependencies = [...outer];
    }
  }

  /**
   * The ops of the steps, in order, without building lazily made steps: what a scheduler
   * needs to import before running.
   */
  get ops(): readonly Op[] {
    if (this.#source !== undefined) return this.#source.stepOps;
    return (this.#ops ??= this.#steps!.map((t) => t.op));
  }

  /**
   * The steps for one run: the kept steps if there are any, else (a node built lazily) steps
   * made for this call and not kept, so that a scheduler running the node once lets them die
   * young instead of holding every node's steps until the compute ends.
   *
   * @example
   * ```ts
   * const steps = fused.stepsOnce(); // same tasks as `fused.steps`, maybe not the same objects
   * ```
   */
  stepsOnce(): readonly Task[] {
    return this.#steps ?? this.#source!.steps(this.#index);
  }

  /**
   * The arguments of step `s` as its source gives them without building the steps (see
   * {@link FusedSteps.stepArgs}), or `undefined`: then read {@link steps}.
   *
   * @example
   * ```ts
   * fused.stepArgs(1); // [stepRef(0)] for a decode that reads the fetch before it
   * ```
   */
  stepArgs(s: number): readonly unknown[] | undefined {
    const source = this.#source;
    return source === undefined || source.stepArgs === undefined ? undefined : source.stepArgs(this.#index, s);
  }

  /** The tasks, producers first; the last one's key is this node's key. */
  get steps(): readonly Task[] {
    if (this.#steps === undefined) {
      this.#steps = this.#source!.steps(this.#index);
      this.#source = undefined;
    }
    return this.#steps;
  }
}

/** A node of a materialized task graph. */
export type GraphNode = Task | DataNode | Alias | Fused;

/**
 * All keys referenced by {@link Ref}s in `args`, in first-seen order, without repeats.
 *
 * @example
 * ```ts
 * findDependencies([ref("a"), { b: ref("b") }, [ref("a")]]); // ["a", "b"]
 * ```
 */
export function findDependencies(args: readonly unknown[]): Key[] {
  const out: Key[] = [];
  walk(args, out);
  return out.length > 1 ? [...new Set(out)] : out;
}

function walk(x: unknown, out: Key[]): void {
  if (x instanceof Ref) {
    out.push(x.key);
  } else if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) walk(x[i], out);
  } else if (typeof x === "object" && x !== null && Object.getPrototypeOf(x) === Object.prototype) {
    for (const k in x) walk((x as Record<string, unknown>)[k], out);
  }
}

/**
 * Replace every {@link Ref} inside `args` by `lookup(key)` (and, given `step`, every
 * {@link StepRef} by `step(s)`). Arrays and plain objects are copied only where they hold a
 * ref, so large literal arguments are not copied.
 *
 * @example
 * ```ts
 * substitute([ref("a"), 2], (k) => values.get(k)); // [valueOfA, 2]
 * ```
 */
export function substitute(args: readonly unknown[], lookup: (key: Key) => unknown, step?: (s: number) => unknown): unknown[] {
  return subst(args, lookup, step) as unknown[];
}

function subst(x: unknown, lookup: (key: Key) => unknown, step: ((s: number) => unknown) | undefined): unknown {
  if (x instanceof Ref) return lookup(x.key);
  if (x instanceof StepRef && step !== undefined) return step(x.step);
  if (Array.isArray(x)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < x.length; i++) {
      const v = subst(x[i], lookup, step);
      if (out !== undefined) out[i] = v;
      else if (v !== x[i]) {
        // sized once: a slice grown by push reserves room for 17 (one array per task)
        out = new Array<unknown>(x.length);
        for (let j = 0; j < i; j++) out[j] = x[j];
        out[i] = v;
      }
    }
    return out ?? x;
  }
  if (typeof x === "object" && x !== null && Object.getPrototypeOf(x) === Object.prototype) {
    let out: Record<string, unknown> | undefined;
    const o = x as Record<string, unknown>;
    for (const k in o) {
      const v = subst(o[k], lookup, step);
      if (v !== o[k]) (out ??= { ...o })[k] = v;
    }
    return out ?? x;
  }
  return x;
}
