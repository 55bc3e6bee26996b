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
 * Scavenges (young-generation GC) after every `limit` bytes of buffers a thread has let go of.
 * V8 frees a dead ArrayBuffer's memory only when a GC finds it, and it schedules GCs by its JS
 * heap and by external memory only after tens of MiB: on a thread whose garbage is mostly
 * buffers (chunk bodies and the socket reads that filled them, decoded chunks a reduction
 * dropped) those tens of MiB would add up to the peak RSS. Only scavenges: a full GC keeps V8's
 * helper threads busy long enough to slow a scan (benchmarks/array-memory.bench.ts shows
 * both); big buffers that a scavenge would miss (promoted) are detached instead (worker.ts).
 *
 * @example
 * ```ts
 * const budget = new GcBudget(8 * 2 ** 20);
 * budget.add(chunk.byteLength);
 * budget.collectIfDue(); // where the counted buffers are garbage
 * ```
 */
export class GcBudget {
  readonly #limit: number;
  #bytes = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Count a buffer of `bytes` that is about to become garbage. */
  add(bytes: number): void {
    this.#bytes += bytes;
  }

  /** Scavenge now if the budget is spent (call where the counted buffers are garbage). */
  collectIfDue(): void {
    if (this.#bytes < this.#limit) return;
    this.#bytes = 0;
    exposedGc()?.({ type: "minor" });
  }
}
