import type { Key } from "@zask/graph";
import type { IoLane } from "./io-lane.js";
import type { Plan } from "./plan.js";
import { sizeOf } from "./size-of.js";
import { forEachView } from "./transfer.js";

/**
 * The values of one run of a {@link Plan}, by task number, and what memory they hold: a value is
 * stored when its task completes and released when its last dependent has run (unless it is a
 * requested output), so a run holds about concurrency × block size whatever the graph's size.
 *
 * In threads mode it also counts the live values viewing each buffer and remembers which
 * buffers the run alone holds, which decide whether an input may be moved to a worker rather
 * than copied.
 */
export class ValueStore {
  readonly #plan: Plan;
  readonly #io: IoLane;
  /** Count views (threads mode only: the sync mode never moves a buffer). */
  readonly #threads: boolean;
  readonly #values: unknown[];
  /** Bytes of each stored value ({@link sizeOf}), kept after release for the callbacks' `bytesIn`. */
  readonly #sizes: Float64Array;
  /** Dependents of each task that have not run yet; its value is released when this reaches 0. */
  readonly #pending: Int32Array;
  /**
   * Bytes held now [0] and at most [1]: doubles in a typed array, as an object field that holds
   * a double would box a new number on every store (twice per task).
   */
  readonly #bytes = new Float64Array(2);
  /** Live values viewing each buffer: a buffer moves to a worker only when one value views it. */
  readonly #views = new Map<ArrayBufferLike, number>();
  /**
   * Buffers that came back from a worker: only these may be moved to a worker again. A buffer
   * made on the main thread may be held elsewhere (an op's cache, a graph literal) where we
   * cannot see it, so it is copied.
   */
  readonly #owned = new WeakSet<ArrayBufferLike>();
  /** The task whose arguments are being substituted (-1: any): {@link lookup} looks among its dependencies first. */
  current = -1;
  /** The value of a key of the plan, for `substitute`. */
  readonly lookup: (key: Key) => unknown;

  constructor(plan: Plan, io: IoLane, threads: boolean) {
    this.#plan = plan;
    this.#io = io;
    this.#threads = threads;
    const n = plan.size;
    this.#values = new Array<unknown>(n);
    this.#sizes = new Float64Array(n);
    this.#pending = new Int32Array(n);
    // bound, not an arrow made here: an arrow kept on the instance keeps the run and its
    // results alive through V8's young-generation collections
    this.lookup = this.#lookup.bind(this);
  }

  // the dependencies of the task being prepared are few and known by number: compare keys with
  // them before hashing into the index
  #lookup(key: Key): unknown {
    const values = this.#values;
    const i = this.current;
    if (i >= 0) {
      const { keys, depStart, depList } = this.#plan;
      const s = depStart[i]!;
      const e = depStart[i + 1]!;
      if (e - s === 1) return values[depList[s]!];
      if (e - s <= 4) {
        for (let p = s; p < e; p++) if (keys[depList[p]!] === key) return values[depList[p]!];
      }
    }
    // the plan's key index is built on first use: a run that never gets here never builds it
    return values[this.#plan.index.get(key)!];
  }

  /** Set every task's count of dependents still to run (before the run starts). */
  countDependents(): void {
    const { size: n, dependentStart } = this.#plan;
    for (let i = 0; i < n; i++) this.#pending[i] = dependentStart[i + 1]! - dependentStart[i]!;
  }

  /** The value of task `i` (undefined once released). */
  get(i: number): unknown {
    return this.#values[i];
  }

  /** The value of the plan's key `key`. */
  byKey(key: Key): unknown {
    return this.#values[this.#plan.index.get(key)!];
  }

  /** Bytes of task `i`'s value. */
  size(i: number): number {
    return this.#sizes[i]!;
  }

  /** Bytes held now. */
  get held(): number {
    return this.#bytes[0]!;
  }

  /** Most bytes held at once so far. */
  get peak(): number {
    return this.#bytes[1]!;
  }

  /**
   * Store task `i`'s value and release each dependency whose last dependent this was; returns
   * the value's size.
   */
  complete(i: number, v: unknown): number {
    this.#values[i] = v;
    const size = sizeOf(v);
    this.#sizes[i] = size;
    const bytes = this.#bytes;
    const held = (bytes[0]! += size);
    if (held > bytes[1]!) bytes[1] = held;
    if (this.#threads && typeof v === "object" && v !== null) this.#countViews(v, 1);
    const { depStart, depList, outputs } = this.#plan;
    for (let e = depStart[i]!; e < depStart[i + 1]!; e++) {
      const d = depList[e]!;
      if (--this.#pending[d]! === 0 && outputs[d] === 0) this.#release(d);
    }
    return size;
  }

  /** Bytes of the values task `i` reads. */
  inputBytes(i: number): number {
    const { depStart, depList } = this.#plan;
    let n = 0;
    for (let e = depStart[i]!; e < depStart[i + 1]!; e++) n += this.#sizes[depList[e]!]!;
    return n;
  }

  /** Whether `buf`, viewed by task `d`'s value, may move to a worker: `d`'s last reader, nothing else views it. */
  mayMove(d: number, buf: ArrayBufferLike): boolean {
    return this.#pending[d] === 1 && this.#plan.outputs[d] === 0 && this.#views.get(buf) === 1 && this.movable(buf);
  }

  /** Buffers nothing outside the compute holds: results of pool ops, bodies the I/O lane fetched. */
  movable(buf: ArrayBufferLike): boolean {
    return this.#owned.has(buf) || this.#io.isFresh(buf);
  }

  /** Whether a live value of the graph views `buf`. */
  viewed(buf: ArrayBufferLike): boolean {
    return this.#views.has(buf);
  }

  /** Remember the buffers of a worker's result as the run's own. */
  own(v: unknown): void {
    if (typeof v === "object" && v !== null) forEachView(v, (view) => this.#owned.add(view.buffer));
  }

  /** The values of the requested keys, in request order; the store is emptied. */
  takeOutputs(): unknown[] {
    const out = this.#plan.outputIndex.map((i) => this.#values[i]);
    this.#values.length = 0;
    return out;
  }

  /** Drop every value (the run failed). */
  clear(): void {
    this.#values.length = 0;
    this.#views.clear();
  }

  #release(d: number): void {
    this.#bytes[0]! -= this.#sizes[d]!;
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
}
