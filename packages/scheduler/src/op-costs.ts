import type { OpRef } from "@zask/graph";

/**
 * An op whose recent runs all took at least this long (ms) goes to the pool, whatever the size
 * of its inputs: a decode of a small compressed chunk is small in bytes but may not be in work.
 * Below it the op stays on the main thread: a task on the pool costs the main thread its
 * message and its answer, and waits for a worker that, at a lower priority, runs after the
 * server, the main thread and V8's compiler threads on a busy machine; decoding and selecting a
 * small inner chunk is cheaper here than that (`npm run bench -- --only sharded` measures it).
 * A compute with a single cpu task still runs it inline (compute.ts).
 */
export const SLOW_OP_MS = 0.5;

const WINDOW = 8;

/** What is known of one op's cost (see {@link OpCosts.stat}). */
export interface Stat {
  /** The last durations, ms (a ring). */
  readonly recent: Float64Array;
  n: number;
  min: number;
  slow: boolean;
  /** Inline runs not timed since the last timed one. */
  skipped: number;
}

/**
 * An op whose runs all take under this (ms) is timed on one inline run in {@link SAMPLE_EVERY}:
 * for an op of a few microseconds, timing every run would cost a noticeable part of its time.
 */
const CHEAP_MS = SLOW_OP_MS / 4;
const SAMPLE_EVERY = 8;

/**
 * What cpu ops cost, shared by every compute of the process: the last few durations of each op
 * (or run of fused steps), measured inline on the main thread or by the worker around the call.
 * An op becomes slow when even the fastest of them reaches {@link SLOW_OP_MS} (pauses of GC or
 * a busy machine only lengthen a run, so the minimum is what the op itself costs), and cheap
 * again below half of it. Ops on the pool keep
 * being measured there, so a cheap op sent there by one unlucky run comes back.
 */
export class OpCosts {
  readonly #stats = new Map<string, Stat>();
  readonly #ids = new WeakMap<OpRef, string>();

  /** A stable id of an op (`module#name`), cached per op object. */
  id(op: OpRef): string {
    let id = this.#ids.get(op);
    if (id === undefined) {
      id = op.module + "#" + op.name;
      this.#ids.set(op, id);
    }
    return id;
  }

  /** The op's record, made on first use: read `slow` from it and pass it to {@link add}, one lookup per run. */
  stat(id: string): Stat {
    let s = this.#stats.get(id);
    if (s === undefined) {
      s = { recent: new Float64Array(WINDOW), n: 0, min: Infinity, slow: false, skipped: 0 };
      this.#stats.set(id, s);
    }
    return s;
  }

  /**
   * Whether to time this inline run of the op: every run until its ring is full, and while
   * it is slow or anywhere near it; one in {@link SAMPLE_EVERY} once all its runs are cheap.
   */
  shouldTime(s: Stat): boolean {
    if (s.n < WINDOW || s.slow || s.min >= CHEAP_MS || ++s.skipped >= SAMPLE_EVERY) {
      s.skipped = 0;
      return true;
    }
    return false;
  }

  record(id: string, ms: number): void {
    this.add(this.stat(id), ms);
  }

  /** {@link record} into a record {@link stat} gave. */
  add(s: Stat, ms: number): void {
    s.recent[s.n++ % WINDOW] = ms;
    let min = Infinity;
    const k = Math.min(s.n, WINDOW);
    for (let j = 0; j < k; j++) if (s.recent[j]! < min) min = s.recent[j]!;
    s.min = min;
    // hysteresis: an op near the limit must not flip between the lanes at every run
    if (!s.slow && min >= SLOW_OP_MS) s.slow = true;
    else if (s.slow && min < SLOW_OP_MS / 2) s.slow = false;
  }

  /** Whether the op has proved too costly to run on the main thread. */
  slow(id: string): boolean {
    const s = this.#stats.get(id);
    return s !== undefined && s.slow;
  }
}

/** The process's op costs. */
export const opCosts = new OpCosts();
