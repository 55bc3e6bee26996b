/**
 * Free buffers kept for reuse, by size, holding at most `maxBytes` in all: the free list of
 * the body pool (body-pool.ts) and of the shared body pool (shared-body-pool.ts), whose
 * buffers differ in kind and in how they come back, not in how they wait.
 */
export class FreeBuffers<B extends ArrayBufferLike> {
  readonly #bySize = new Map<number, B[]>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** A free buffer of exactly `size` bytes, or `undefined` when none waits. */
  take(size: number): B | undefined {
    const buf = this.#bySize.get(size)?.pop();
    if (buf !== undefined) this.#bytes -= size;
    return buf;
  }

  /** Keep `buffer` for a later {@link take}; false when that would pass `maxBytes` (it is not kept). */
  put(buffer: B): boolean {
    const n = buffer.byteLength;
    if (this.#bytes + n > this.#maxBytes) return false;
    let list = this.#bySize.get(n);
    if (list === undefined) this.#bySize.set(n, (list = []));
    list.push(buffer);
    this.#bytes += n;
    return true;
  }

  /** Whether `buffer` is the one a {@link take} of its size would give next. */
  isNext(buffer: B): boolean {
    return this.#bySize.get(buffer.byteLength)?.at(-1) === buffer;
  }

  /** Drop every free buffer. */
  clear(): void {
    this.#bySize.clear();
    this.#bytes = 0;
  }

  /** Bytes of the free buffers. */
  get bytes(): number {
    return this.#bytes;
  }
}
