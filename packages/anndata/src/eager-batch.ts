// Eager reads started together are computed together. The columns an open reads (obs, var, their
// categoricals) reach readArrayEager within one turn of the event loop; one compute for all of
// them builds one plan and sends every request in its first wave, where a compute each would
// build its own plan and lane before its request went out. A failed batch is computed again one
// array at a time, so that each read gets its own value or error, named after its own element.
import { computeArrays, type Array as LazyArray, type ComputeOptions, type ComputedArray } from "@zask/array";

interface Pending {
  readonly array: LazyArray;
  readonly resolve: (value: ComputedArray) => void;
  readonly reject: (reason: unknown) => void;
}

interface Batch {
  readonly options: ComputeOptions;
  readonly pending: Pending[];
}

// per signal (or none), per the rest of the options: only reads with the same options share a compute
let batches = new Map<AbortSignal | undefined, Map<string | symbol, Batch>>();
let scheduled = false;

/**
 * `x.compute(options)`, together with every other eager read started in this turn of the event
 * loop with the same options.
 *
 * @example
 * ```ts
 * const [a, b] = await Promise.all([computeEager(x, opts), computeEager(y, opts)]); // one compute
 * ```
 */
export function computeEager(x: LazyArray, options: ComputeOptions): Promise<ComputedArray> {
  const { signal, ...rest } = options;
  let bySignal = batches.get(signal);
  if (bySignal === undefined) batches.set(signal, (bySignal = new Map()));
  // options of plain values batch by value; one holding an object (callbacks, an executor) is
  // a batch of its own, since its JSON would not tell two of them apart
  const plain = Object.values(rest).every((v) => v === null || (typeof v !== "object" && typeof v !== "function"));
  const key = plain ? JSON.stringify(rest) : Symbol("options");
  let batch = bySignal.get(key);
  if (batch === undefined) bySignal.set(key, (batch = { options, pending: [] }));
  const p = new Promise<ComputedArray>((resolve, reject) => batch.pending.push({ array: x, resolve, reject }));
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
  return p;
}

function flush(): void {
  const all = batches;
  batches = new Map();
  scheduled = false;
  for (const bySignal of all.values()) for (const batch of bySignal.values()) void run(batch);
}

async function run({ options, pending }: Batch): Promise<void> {
  if (pending.length > 1) {
    try {
      const values = await computeArrays(
        pending.map((p) => p.array),
        options,
      );
      pending.forEach((p, i) => p.resolve(values[i]!));
      return;
    } catch {
      // one read failed, or several: each is computed alone below, for its own error
    }
  }
  await Promise.all(pending.map((p) => p.array.compute(options).then(p.resolve, p.reject)));
}
