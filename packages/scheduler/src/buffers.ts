/**
 * Buffers for op results, recycled on the pool's workers. A worker knows which values of a
 * request die with it: the steps' results that are neither exported nor part of the reply (a
 * decoded chunk that the fused reduction after it reduced). Their buffers would be freed by a
 * later GC and their pages returned to the system by the allocator, and the next decode of
 * the same size would fault every page back in, kernel time that a scan of many chunks pays
 * per compute (benchmarks/scheduler-pool.bench.ts). The worker hands those buffers
 * here instead, and an op that allocates its result with {@link takeBuffer} gets one back.
 *
 * Only buffers that `takeBuffer` gave out are taken back (never an input, a buffer an op keeps
 * in a module, or a WebAssembly memory), of 64 KiB up to 4 MiB (smaller ones are cheap to
 * allocate; bigger ones the worker detaches at once to keep the peak memory down), at most 4 of
 * a size and 8 MiB in all per thread. On the main thread, a fused node run inline gives back
 * the buffers of its inner values in the same way (fused-runner.ts).
 */

/** The smallest buffer worth keeping, bytes. */
export const RECYCLE_MIN = 64 * 1024;
/** Buffers this big or bigger are not kept. */
export const RECYCLE_MAX = 4 * 2 ** 20;
const PER_SIZE = 4;
const HELD_MAX = 8 * 2 ** 20;

interface Pool {
  /** Kept buffers by size. */
  readonly free: Map<number, ArrayBuffer[]>;
  /** Buffers given out by takeBuffer (and not yet back). */
  readonly issued: WeakSet<ArrayBuffer>;
  held: number;
}

// One pool per thread, even where a module loader gives this module two instances in one
// thread (tsx does, in a worker: one for the worker's own imports, one for the op modules it
// imports): the ops' takeBuffer and the worker's recycleBuffer must meet.
const POOL = Symbol.for("@zask/scheduler/buffers");
const pool: Pool = ((globalThis as { [POOL]?: Pool })[POOL] ??= { free: new Map(), issued: new WeakSet(), held: 0 });

/**
 * An `ArrayBuffer` of exactly `byteLength` bytes for an op's result, whose contents are
 * arbitrary (a recycled buffer, or a new one not zero-filled): the op must write every byte.
 *
 * @example
 * ```ts
 * const out = new Float32Array(takeBuffer(n * 4)); // then fill all n elements
 * ```
 */
export function takeBuffer(byteLength: number): ArrayBuffer {
  const list = pool.free.get(byteLength);
  let b: ArrayBuffer;
  if (list !== undefined && list.length > 0) {
    pool.held -= byteLength;
    b = list.pop()!;
  } else {
    b = Buffer.allocUnsafeSlow(byteLength).buffer as ArrayBuffer;
  }
  if (byteLength >= RECYCLE_MIN && byteLength < RECYCLE_MAX) pool.issued.add(b);
  return b;
}

/**
 * Keep `buffer` for {@link takeBuffer} (the worker calls this for the buffers of a request's
 * values that nothing references any more, once each). False when it is not kept: not one
 * `takeBuffer` gave out, or the pool is full.
 */
export function recycleBuffer(buffer: ArrayBuffer): boolean {
  if (!pool.issued.has(buffer)) return false;
  const n = buffer.byteLength;
  if (pool.held + n > HELD_MAX) return false;
  let list = pool.free.get(n);
  if (list === undefined) pool.free.set(n, (list = []));
  else if (list.length >= PER_SIZE) return false;
  pool.issued.delete(buffer);
  list.push(buffer);
  pool.held += n;
  return true;
}

/** Bytes held for reuse on this thread. */
export function recycledBytes(): number {
  return pool.held;
}
