/** The messages between the scheduler and its pool's workers (internal). */

/** One op call in a worker. `a` holds values, except {@link INNER_REF} markers to earlier steps. */
export interface WorkerStep {
  /** The op: an index into the message's op table. */
  readonly f: number;
  /** Arguments. */
  readonly a: readonly unknown[];
}

/** One task (or run of fused steps). */
export interface WorkerRequest {
  readonly s: readonly WorkerStep[];
  /** Step indices whose values come back (the last step's always does, last in the list). */
  readonly x: readonly number[] | null;
  /** Whether arguments hold markers to resolve. */
  readonly r: boolean;
}

/**
 * What one message carries: the ops its requests call (module URL and export name, in pairs;
 * each op once however many tasks call it), the requests, and the compute's cancellation cell
 * (non-zero: drop the requests not started yet). The answer is one response per request.
 */
export interface WorkerMessage {
  readonly o: readonly string[];
  readonly q: readonly WorkerRequest[];
  readonly c: Int32Array;
}

export type WorkerResponse =
  /** `t`: time spent in the ops, ms (for the scheduler's cost model). */
  | { readonly ok: 1; readonly v: unknown; readonly t: number }
  | { readonly ok: 0; readonly i: number; readonly e: unknown; readonly name: string; readonly message: string }
  | { readonly ok: 2 };

/** Marker key of an argument that refers to an earlier step of the same request (by index). */
export const INNER_REF = "\u0000zask.ref";

/** Builds a message's op table: the index of an op, added on first use. */
export class OpTableBuilder {
  readonly table: string[] = [];
  // by URL, then name: the same URL string object comes back for every step of an op, so its
  // hash is computed once, where a joined `url#name` key was a new string to hash per step
  readonly #index = new Map<string, Map<string, number>>();

  indexOf(url: string, name: string): number {
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
}
