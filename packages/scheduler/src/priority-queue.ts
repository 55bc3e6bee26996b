/**
 * A binary min-heap of small integers (task indices) ordered by `priority[i]`, ties by
 * index. Typed storage keeps a million entries cheap.
 */
export class PriorityQueue {
  #heap: Int32Array;
  #size = 0;
  readonly #priority: ArrayLike<number>;
  /** Entries given in order by {@link seed}, taken from `#next` on without entering the heap. */
  #seed: Int32Array = NONE;
  #next = 0;

  constructor(priority: ArrayLike<number>, capacity = 16) {
    this.#priority = priority;
    this.#heap = new Int32Array(Math.max(capacity, 16));
  }

  get size(): number {
    return this.#size + this.#seed.length - this.#next;
  }

  /**
   * Start with `sorted`, entries already in this queue's order (a compute's initially ready
   * tasks, by rank): they are taken from the front as their turn comes, so 20,000 ready leaves
   * cost no heap operations and later pushes meet a small heap.
   */
  seed(sorted: Int32Array): void {
    this.#seed = sorted;
    this.#next = 0;
  }

  /** Whether the next seeded entry comes before the heap's top. */
  #seedFirst(): boolean {
    if (this.#next >= this.#seed.length) return false;
    if (this.#size === 0) return true;
    const a = this.#seed[this.#next]!;
    const b = this.#heap[0]!;
    const pa = this.#priority[a]!;
    const pb = this.#priority[b]!;
    return pa < pb || (pa === pb && a < b);
  }

  push(i: number): void {
    if (this.#size === this.#heap.length) {
      const h = new Int32Array(this.#heap.length * 2);
      h.set(this.#heap);
      this.#heap = h;
    }
    const heap = this.#heap;
    const pr = this.#priority;
    let pos = this.#size++;
    const p = pr[i]!;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const j = heap[parent]!;
      const q = pr[j]!;
      if (q < p || (q === p && j < i)) break;
      heap[pos] = j;
      pos = parent;
    }
    heap[pos] = i;
  }

  /** The entry with the lowest priority, left in place; -1 when empty. */
  peek(): number {
    if (this.#seedFirst()) return this.#seed[this.#next]!;
    return this.#size === 0 ? -1 : this.#heap[0]!;
  }

  /** Removes and returns the entry with the lowest priority; -1 when empty. */
  pop(): number {
    if (this.#seedFirst()) return this.#seed[this.#next++]!;
    if (this.#size === 0) return -1;
    const heap = this.#heap;
    const pr = this.#priority;
    const top = heap[0]!;
    const last = heap[--this.#size]!;
    const n = this.#size;
    if (n > 0) {
      const p = pr[last]!;
      let pos = 0;
      for (;;) {
        let child = 2 * pos + 1;
        if (child >= n) break;
        let c = heap[child]!;
        let cp = pr[c]!;
        const right = child + 1;
        if (right < n) {
          const r = heap[right]!;
          const rp = pr[r]!;
          if (rp < cp || (rp === cp && r < c)) {
            child = right;
            c = r;
            cp = rp;
          }
        }
        if (p < cp || (p === cp && last < c)) break;
        heap[pos] = c;
        pos = child;
      }
      heap[pos] = last;
    }
    return top;
  }

  clear(): void {
    this.#size = 0;
    this.#seed = NONE;
    this.#next = 0;
  }
}

const NONE = new Int32Array(0);
