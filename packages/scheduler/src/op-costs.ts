import type { OpRef } from "@zask/graph";

/**
 * An op that took at least this long inline (moving average, ms) goes to the pool from then
 * on, whatever the size of its inputs: a decode of a small compressed chunk is small in bytes
 * but not in work. About twice the round trip of a message to a worker (see the README's
 * performance section for the measurement).
 */
export const SLOW_OP_MS = 0.1;

interface Stat {
  n: number;
  mean: number;
}

/**
 * What cpu ops cost when they run inline, shared by every compute of the process: an
 * exponential moving average of the duration per op (or per run of fused steps).
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

  record(id: string, ms: number): void {
    const s = this.#stats.get(id);
    if (s === undefined) this.#stats.set(id, { n: 1, mean: ms });
    else {
      s.n++;
      s.mean += (ms - s.mean) * 0.2;
    }
  }

  /** Whether the op has proved too costly to run on the main thread. */
  slow(id: string): boolean {
    const s = this.#stats.get(id);
    return s !== undefined && s.mean >= SLOW_OP_MS;
  }
}

/** The process's op costs. */
export const opCosts = new OpCosts();
