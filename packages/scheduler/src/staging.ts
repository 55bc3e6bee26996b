import type { PoolLaneOptions } from "./pool-lane.js";
import { PriorityQueue } from "./priority-queue.js";
import { poolThreads } from "./worker-pool.js";

/** Limits of a {@link Staging}. */
export interface StagingOptions {
  /** Tasks always admitted (enough to keep every worker fed, whatever the chunks' size). */
  readonly minTasks: number;
  /** Tasks never exceeded, however small their bytes. */
  readonly maxTasks: number;
  /** Bytes of staged tasks (fetched, or expected from the average so far) beyond `minTasks`. */
  readonly maxBytes: number;
}

/** A staged task's place: its bytes once fetched. `leave` it exactly once (later calls are no-ops). */
export interface StagingTicket {
  bytes: number | undefined;
  left: boolean;
}

/**
 * The bound on fused tasks whose fetched bytes wait for the worker pool: a task enters before
 * its fetch starts and leaves when its bytes are handed to a worker (or decoded inline), so
 * fetches run only as far ahead of the workers as the pool needs. The bound is a number of
 * tasks (`minTasks` always; `maxTasks` never exceeded) and, between the two, bytes: the staged
 * tasks' fetched bytes plus, for those still fetching, the average fetched so far — or, before
 * any fetch is done, the bodies' bound their requests declared (`expected`: a chunk's largest
 * encoded size, from its metadata), so that the first wave fills every request slot without
 * waiting a round trip for measured sizes. Small chunks thus keep many requests in flight;
 * 16 MiB chunks only a few.
 */
export class Staging {
  readonly #opts: StagingOptions;
  readonly #queue: PriorityQueue;
  readonly #resume = new Map<number, (t: StagingTicket) => void>();
  #count = 0;
  /** Staged tasks still fetching (size unknown). */
  #fetching = 0;
  /** Bytes of staged tasks that have fetched. */
  #bytes = 0;
  #seen = 0;
  #seenBytes = 0;
  readonly #expected: () => number | undefined;

  /** `expected`: the bytes a fetch is expected to bring before any is done (`undefined`: unknown). */
  constructor(priority: ArrayLike<number>, options: StagingOptions, expected: () => number | undefined = () => undefined) {
    this.#queue = new PriorityQueue(priority);
    this.#opts = options;
    this.#expected = expected;
  }

  /** Tasks staged now. */
  get count(): number {
    return this.#count;
  }

  /** Admit task `i` now if the bound allows (and nobody waits before it), else when it does. */
  enter(i: number, admitted: (t: StagingTicket) => void): void {
    if (this.#queue.size === 0 && this.#admits()) admitted(this.#admit());
    else {
      this.#resume.set(i, admitted);
      this.#queue.push(i);
    }
  }

  /** The task's fetch is done: `bytes` now wait for the pool. */
  fetched(t: StagingTicket, bytes: number): void {
    if (t.left || t.bytes !== undefined) return;
    t.bytes = bytes;
    this.#fetching--;
    this.#bytes += bytes;
    this.#seen++;
    this.#seenBytes += bytes;
    this.#pump();
  }

  /** The task's bytes went to a worker (or the task ran inline, or failed). */
  leave(t: StagingTicket): void {
    if (t.left) return;
    t.left = true;
    this.#count--;
    if (t.bytes === undefined) this.#fetching--;
    else this.#bytes -= t.bytes;
    this.#pump();
  }

  /** Drop the waiting tasks (the compute ended). */
  clear(): void {
    this.#queue.clear();
    this.#resume.clear();
  }

  #admit(): StagingTicket {
    this.#count++;
    this.#fetching++;
    return { bytes: undefined, left: false };
  }

  #admits(): boolean {
    const { minTasks, maxTasks, maxBytes } = this.#opts;
    if (this.#count < minTasks) return true;
    if (this.#count >= maxTasks) return false;
    const average = this.#seen > 0 ? this.#seenBytes / this.#seen : this.#expected();
    if (average === undefined) return false;
    return this.#bytes + (this.#fetching + 1) * average <= maxBytes;
  }

  /** Admit waiting tasks while the bound allows (also when what `expected` says has changed). */
  pump(): void {
    this.#pump();
  }

  #pump(): void {
    while (this.#queue.size > 0 && this.#admits()) {
      const i = this.#queue.pop();
      const resume = this.#resume.get(i)!;
      this.#resume.delete(i);
      resume(this.#admit());
    }
  }
}

/**
 * Default staging bound: one task per worker always (ready when the worker frees), up to the
 * pool lane's capacity, and in between 32 MiB of fetched bytes: small chunks keep many
 * requests in flight, big chunks wait for the workers.
 */
export function defaultStaging(pool: PoolLaneOptions): StagingOptions {
  return { minTasks: poolThreads(), maxTasks: pool.messages * pool.maxBatch, maxBytes: 32 * 2 ** 20 };
}
