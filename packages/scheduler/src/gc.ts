import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type GcFunction = (options?: { type?: "major" | "minor" }) => void;

let gcFunction: GcFunction | null | undefined;

/**
 * V8's `gc()`, obtained without starting node with `--expose-gc`: the flag is set at run time
 * and a new context carries the function. `undefined` where the runtime refuses.
 */
function exposedGc(): GcFunction | undefined {
  if (gcFunction === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      const gc = runInNewContext("gc") as unknown;
      gcFunction = typeof gc === "function" ? (gc as GcFunction) : null;
    } catch {
      gcFunction = null;
    }
  }
  return gcFunction ?? undefined;
}

/** Limits of a {@link GcBudget}, in bytes of garbage-to-be. */
export interface GcLimits {
  /** A scavenge after this many bytes of buffers of any size. */
  readonly minor: number;
  /**
   * A full mark-compact after this many bytes of big buffers (1 MiB or more), or never.
   * A big buffer usually lives through the scavenges that its own size triggers (external
   * memory pressure), is promoted, and is then freed by nothing short of a full GC.
   */
  readonly major?: number;
}

/** Buffers at least this big count against the major limit. */
const BIG = 2 ** 20;

/**
 * Collects garbage after so many bytes of buffers a thread has let go of. V8 frees a dead
 * ArrayBuffer's memory only when a GC finds it, and it schedules GCs by its JS heap and by
 * external memory only after tens of MiB: on a thread whose garbage is mostly buffers (chunk
 * bodies and the socket reads that filled them, decoded chunks a reduction dropped) those
 * tens of MiB would add up to the peak RSS. Scavenges are cheap; a full GC is not (on a
 * worker it keeps V8's 4 helper threads busy: 74 chunks of 264 KB took 200 ms with one every
 * 8 MiB, 105 ms with scavenges), so full ones are kept for big buffers.
 *
 * @example
 * ```ts
 * const budget = new GcBudget({ minor: 8 * 2 ** 20, major: 32 * 2 ** 20 });
 * budget.add(chunk.byteLength);
 * budget.collectIfDue(); // where the counted buffers are garbage
 * ```
 */
export class GcBudget {
  readonly #limits: GcLimits;
  #all = 0;
  #big = 0;

  constructor(limits: GcLimits) {
    this.#limits = limits;
  }

  /** Count a buffer of `bytes` that is about to become garbage. */
  add(bytes: number): void {
    this.#all += bytes;
    if (bytes >= BIG) this.#big += bytes;
  }

  /** Collect now if a limit is reached (call where the counted buffers are garbage). */
  collectIfDue(): void {
    const { minor, major } = this.#limits;
    if (major !== undefined && this.#big >= major) {
      this.#all = 0;
      this.#big = 0;
      // a bare gc() is a full mark-compact; Node 20's gc({ type: "major" }) from another
      // context runs only a scavenge (checked with --trace-gc; gc-budget.test.ts)
      exposedGc()?.();
    } else if (this.#all >= minor) {
      this.#all = 0;
      exposedGc()?.({ type: "minor" });
    }
  }
}
