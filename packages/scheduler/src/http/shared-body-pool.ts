/**
 * Reused `SharedArrayBuffer`s for the bodies of merged ranged reads (a `ReadPlanner` with
 * `sharedBodies`, read-planner.ts), whose parts go to workers as views of shared memory. A shard's merged read
 * is megabytes; a fresh buffer for each costs a page fault per 4 KiB as the socket fills it, on
 * the main thread, which is the one a scan waits on.
 *
 * Unlike the body pool's buffers, a shared body is read by several tasks on several threads,
 * so no single reader can tell when it is free: its planner gives its finished bodies back at
 * once, when the compute that read through it has succeeded (every reader has decoded its
 * part into new memory by then). A body not given back is left to the GC. Buffers come in the
 * body pool's sizes; the free ones hold at most {@link MAX_FREE_SHARED_BYTES}.
 */
import { pooledSize } from "./body-pool.js";
import { FreeBuffers } from "./free-buffers.js";

/** The most bytes the free shared buffers hold (a few shards' merged reads). */
export const MAX_FREE_SHARED_BYTES = 64 * 2 ** 20;

class SharedBodyPool {
  readonly #free = new FreeBuffers<SharedArrayBuffer>(MAX_FREE_SHARED_BYTES);
  /** Buffers this pool made, so that only those come back. */
  readonly #made = new WeakSet<SharedArrayBuffer>();
  /** Buffers handed out and not given back since. */
  readonly #out = new WeakSet<SharedArrayBuffer>();
  /** Bodies taken from a buffer given back earlier (rather than a fresh one). */
  reused = 0;

  /** A view of `length` bytes of a shared buffer, fresh or given back earlier; not zero-filled. */
  take(length: number): Uint8Array {
    const size = pooledSize(length);
    let buf = this.#free.take(size);
    if (buf === undefined) {
      buf = new SharedArrayBuffer(size);
      this.#made.add(buf);
    } else {
      this.reused++;
    }
    this.#out.add(buf);
    return new Uint8Array(buf, 0, length);
  }

  /** Take `buffer` back for a later {@link take}: nothing may read or write it any more. */
  give(buffer: SharedArrayBuffer): void {
    if (!this.#made.has(buffer) || !this.#out.delete(buffer)) return;
    this.#free.put(buffer);
  }

  /** Drop the free buffers (`close()`). */
  clear(): void {
    this.#free.clear();
  }

  /** Bytes of the free buffers. */
  get freeBytes(): number {
    return this.#free.bytes;
  }
}

// One per thread, even where a module loader gives this module two instances (tsx may): the
// transport's take and the planner's give must meet.
const POOL = Symbol.for("@zask/scheduler/shared-body-pool");

/** This thread's shared body pool (the main thread's: it makes the requests). */
export const sharedBodyPool: SharedBodyPool = ((globalThis as { [POOL]?: SharedBodyPool })[POOL] ??= new SharedBodyPool());

/** A body of `length` bytes in shared memory, from {@link sharedBodyPool}. */
export function takeSharedBody(length: number): Uint8Array {
  return sharedBodyPool.take(length);
}
