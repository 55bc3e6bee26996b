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

/**
 * Collects garbage after every `bytes` of buffers a thread has let go of. V8 frees a dead
 * ArrayBuffer's memory only when a GC finds it, and it schedules GCs by its JS heap and by
 * external memory only after tens of MiB: on a thread whose garbage is mostly big buffers
 * (chunk bodies and the socket reads that filled them, decoded chunks a reduction dropped)
 * those tens of MiB would add up to the peak RSS.
 *
 * @example
 * ```ts
 * const budget = new GcBudget(16 * 2 ** 20, "minor");
 * budget.add(body.byteLength); // collects once 16 MiB have been added since the last time
 * ```
 */
export class GcBudget {
  readonly #limit: number;
  readonly #type: "major" | "minor";
  #bytes = 0;

  constructor(limit: number, type: "major" | "minor") {
    this.#limit = limit;
    this.#type = type;
  }

  /** Count `bytes` more of garbage-to-be. */
  add(bytes: number): void {
    this.#bytes += bytes;
  }

  /** Collect now if the budget is spent (call where the counted buffers are garbage). */
  collectIfDue(): void {
    if (this.#bytes < this.#limit) return;
    this.#bytes = 0;
    const gc = exposedGc();
    // a bare gc() is a full mark-compact; Node 20's gc({ type: "major" }) from another context
    // runs only a scavenge (checked with --trace-gc)
    if (this.#type === "major") gc?.();
    else gc?.({ type: "minor" });
  }
}
