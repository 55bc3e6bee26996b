/**
 * The messages between the scheduler and its pool's workers (internal).
 *
 * A message is columnar: a few flat arrays for a whole batch of requests rather than an object
 * per request and per step. `postMessage` clones every object it meets (tag, property names,
 * a new object on the other side), and with objects per step a batch of small tasks costs more
 * to clone than to run (benchmarks/scheduler.bench.ts, all on the pool).
 */

/**
 * One message: the ops its requests call (module URL and export name, in pairs; each op once
 * however many tasks call it), the requests, and the compute's cancellation cell (non-zero:
 * drop the requests not started yet). The requests are laid out in `h` and `a` by
 * {@link MessageWriter}; the answer is a {@link WorkerReply}.
 */
export interface WorkerMessage {
  readonly o: readonly string[];
  /** Requests: see {@link MessageWriter} for the layout. */
  readonly h: Int32Array;
  /** Every step's arguments, in order. */
  readonly a: unknown[];
  readonly c: Int32Array;
}

/** Status of a request in a {@link WorkerReply}. */
export const OK = 1;
export const FAILED = 0;
export const CANCELLED = 2;

/**
 * The answer to a message, one entry per request: `k` its status; `v` its value (`OK`: the
 * last step's value, or the list of exported steps' values when the request named them;
 * `FAILED`: a {@link WorkerFailure}); `t` the time spent in its ops, ms (for the cost model).
 */
export interface WorkerReply {
  readonly k: Uint8Array;
  readonly v: unknown[];
  readonly t: Float64Array;
  /** Input buffers of pooled sizes that the requests are done with, back for the main thread's body pool. */
  b?: ArrayBuffer[];
}

/** What a failed request answers: the step that threw (its index in the request) and the error. */
export interface WorkerFailure {
  readonly i: number;
  /** The error as plain data (`errorToPlain`): a clone would lose its class and fields. */
  readonly e: unknown;
  readonly name: string;
  readonly message: string;
}

/** One request's answer, as the scheduler reads it from a {@link WorkerReply}. */
export type WorkerResponse = { readonly ok: 1; readonly v: unknown; readonly t: number } | ({ readonly ok: 0 } & WorkerFailure) | { readonly ok: 2 };

/** Request `r` of `reply`. */
export function responseOf(reply: WorkerReply, r: number): WorkerResponse {
  const k = reply.k[r];
  if (k === OK) return { ok: 1, v: reply.v[r], t: reply.t[r]! };
  if (k === FAILED) return { ok: 0, ...(reply.v[r] as WorkerFailure) };
  return { ok: 2 };
}

/**
 * Marker of an argument that refers to an earlier step of the same request (by index), where
 * it is not a top-level argument (those travel in the header).
 */
export const INNER_REF = "\u0000zask.ref";

/**
 * Lays out a message's requests. The header `h` holds, per request:
 * `steps, exports, ...exportedStepIndices, nested`, where `exports` is -1 when only the last
 * step's value comes back and `nested` is 1 when arguments hold {@link INNER_REF} markers to
 * resolve; then per step `op, argc, refs, ...(argPosition, stepIndex) × refs`: the op's index in
 * the table, how many of `a`'s entries are its arguments, and which of them are the values of
 * earlier steps (their entries in `a` are placeholders).
 *
 * @example
 * ```ts
 * const w = new MessageWriter();
 * w.request(2, null);
 * w.step(w.opIndex(url, "ones"), [10]);
 * w.step(w.opIndex(url, "sum"), [{ [INNER_REF]: 0 }]);
 * ```
 */
export class MessageWriter {
  readonly table: string[] = [];
  readonly header: number[] = [];
  readonly args: unknown[] = [];
  readonly #index = new Map<string, Map<string, number>>();
  #nestedAt = -1;

  /** The index of an op in the table, added on first use. */
  opIndex(url: string, name: string): number {
    let byName = this.#index.get(url);
    if (byName === undefined) this.#index.set(url, (byName = new Map()));
    let i = byName.get(name);
    if (i === undefined) {
      i = this.table.length / 2;
      this.table.push(url, name);
      byName.set(name, i);
    }
    return i;
  }

  /** Start a request of `steps` steps; `exports`: the steps whose values come back (null: the last). */
  request(steps: number, exports: readonly number[] | null): void {
    const h = this.header;
    h.push(steps);
    if (exports === null) h.push(-1);
    else {
      h.push(exports.length);
      for (let e = 0; e < exports.length; e++) h.push(exports[e]!);
    }
    this.#nestedAt = h.length;
    h.push(0);
  }

  /**
   * Add a step of the current request: its op's index and its arguments, where `markers`
   * {@link INNER_REF} markers were put (top-level ones go to the header, others are resolved
   * by the worker).
   */
  step(op: number, args: readonly unknown[], markers = 0): void {
    const h = this.header;
    const a = this.args;
    h.push(op, args.length, 0);
    const refsAt = h.length - 1;
    for (let p = 0; p < args.length; p++) {
      const v = args[p];
      if (markers > 0 && typeof v === "object" && v !== null) {
        const ref = (v as Record<string, unknown>)[INNER_REF];
        if (typeof ref === "number") {
          h.push(p, ref);
          h[refsAt]!++;
          markers--;
          a.push(undefined);
          continue;
        }
      }
      a.push(v);
    }
    if (markers > 0) h[this.#nestedAt] = 1;
  }

  /** The current lengths, to {@link rollBack} a request whose building failed. */
  mark(): [number, number] {
    return [this.header.length, this.args.length];
  }

  rollBack([h, a]: [number, number]): void {
    this.header.length = h;
    this.args.length = a;
  }
}

/**
 * Where each request of a message laid out by {@link MessageWriter} starts: its offsets in the
 * header and in the arguments, in pairs, followed by the pair of ends (`h.length, argCount`).
 */
export function requestStarts(h: Int32Array, argCount: number): number[] {
  const starts: number[] = [];
  for (let hp = 0, ap = 0; hp < h.length; ) {
    starts.push(hp, ap);
    const steps = h[hp++]!;
    const exports = h[hp++]!;
    hp += Math.max(exports, 0) + 1;
    for (let s = 0; s < steps; s++) {
      ap += h[hp + 1]!;
      hp += 3 + 2 * h[hp + 2]!;
    }
  }
  starts.push(h.length, argCount);
  return starts;
}
