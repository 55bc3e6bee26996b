/**
 * Reused buffers for response bodies that one op reads and drops (a chunk's compressed bytes,
 * decoded on this thread). A fresh buffer per body costs a page fault per 4 KiB on first touch,
 * and V8 frees buffers only when it collects them, so the allocator keeps handing out new pages:
 * on a virtual machine, where a fault costs microseconds, faults can outweigh a small read.
 *
 * Bodies are views of pooled buffers of a few sizes (four per power of two, so at most a
 * quarter of a buffer is unused). A buffer is lent for one body; {@link recycleBody} gives it
 * back once nothing reads the body any more, {@link forgetBody} gives it up for good (its
 * buffer moves to a worker, or a result views it). Each thread has its own pool.
 */

import { FreeBuffers } from "./free-buffers.js";

/** Bodies shorter than this are allocated as usual: their faults cost less than the bookkeeping. */
export const MIN_POOLED_BODY = 16 * 1024;
/**
 * Bodies longer than this are allocated as usual: a compute reads few of them, and pooling them
 * measured slower on the big-store scans (benchmarks/results/big-store.md).
 */
export const MAX_POOLED_BODY = 2 ** 20;
/** The most bytes the free buffers of one thread's pool hold. */
const MAX_FREE_BYTES = 16 * 2 ** 20;

/** The pooled size for a body of `length` bytes: 2^k × 1, 1.25, 1.5 or 1.75, at least `length`. */
export function pooledSize(length: number): number {
  let base = MIN_POOLED_BODY;
  while (base * 2 <= length) base *= 2;
  for (const f of [1, 1.25, 1.5, 1.75, 2]) if (base * f >= length) return base * f;
  return base * 2;
}

class BodyPool {
  readonly #free = new FreeBuffers<ArrayBuffer>(MAX_FREE_BYTES);
  /** Buffers lent for a body and not yet given back or given up. */
  readonly #lent = new WeakSet<ArrayBuffer>();

  /** A view of `length` bytes of a pooled buffer, lent until {@link give} or {@link forget}. */
  take(length: number): Uint8Array {
    const size = pooledSize(length);
    // not zero-filled: the response writes every byte of the body before anyone reads it
    const buf = this.#free.take(size) ?? (Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer);
    this.#lent.add(buf);
    return new Uint8Array(buf, 0, length);
  }

  /** Whether `buffer` is lent for a body by this pool. */
  lent(buffer: ArrayBufferLike): boolean {
    return this.#lent.has(buffer as ArrayBuffer);
  }

  /** `buffer` back, reusable by the next body (ignored unless lent by this pool). */
  give(buffer: ArrayBufferLike): void {
    const buf = buffer as ArrayBuffer;
    if (!this.#lent.delete(buf) || buf.byteLength === 0) return;
    this.#free.put(buf);
  }

  /**
   * Take in a buffer that was a pooled body before it moved to a worker and back (any buffer of
   * a pooled size will do): true when kept for the next body.
   */
  adopt(buffer: ArrayBuffer): boolean {
    const n = buffer.byteLength;
    if (n < MIN_POOLED_BODY || n > pooledSize(MAX_POOLED_BODY) || pooledSize(n) !== n || this.#lent.has(buffer)) return false;
    this.#lent.add(buffer);
    this.give(buffer);
    return this.#free.isNext(buffer);
  }

  /** `buffer` is no longer the pool's: it is never lent again. */
  forget(buffer: ArrayBufferLike): void {
    this.#lent.delete(buffer as ArrayBuffer);
  }

  /** Drop every free buffer (lent ones stay lent). */
  clear(): void {
    this.#free.clear();
  }

  /** Bytes held by free buffers. */
  get freeBytes(): number {
    return this.#free.bytes;
  }
}

// One pool per thread, even where a module loader gives this module two instances in one
// thread (tsx may): the transport's takeBody and an op's recycleBody must meet.
const POOL = Symbol.for("@zask/scheduler/body-pool");

/** Whether a worker should send `buffer` back to the main thread's pool once it is done with it. */
export function isPooledSize(buffer: ArrayBufferLike): boolean {
  const n = buffer.byteLength;
  return !(buffer instanceof SharedArrayBuffer) && n >= MIN_POOLED_BODY && n <= pooledSize(MAX_POOLED_BODY) && pooledSize(n) === n;
}

/** This thread's pool. */
export const bodyPool: BodyPool = ((globalThis as { [POOL]?: BodyPool })[POOL] ??= new BodyPool());

/** A body of `length` bytes for a response: pooled when its size is worth it, else its own buffer. */
export function takeBody(length: number): Uint8Array {
  if (length < MIN_POOLED_BODY || length > MAX_POOLED_BODY) return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
  return bodyPool.take(length);
}

/**
 * Give back the buffer of `body` (from a `get` with `pooled`) once nothing reads it: the next
 * body may overwrite it. A body that is not pooled, or not this thread's, is left alone.
 *
 * @example
 * ```ts
 * const { body } = await ctx.get(url, { pooled: true });
 * const values = decode(body); // a new buffer, no view of body
 * recycleBody(body);
 * ```
 */
export function recycleBody(body: ArrayBufferView): void {
  bodyPool.give(body.buffer);
}

/** The pool gives up the buffer of `body` (it moves to another thread, or stays viewed). */
export function forgetBody(body: ArrayBufferView): void {
  bodyPool.forget(body.buffer);
}
