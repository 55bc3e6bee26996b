/**
 * The request slots of one origin, shared by every I/O lane (every compute) of the process, so
 * that `httpConcurrency` bounds the requests — and thus the busy connections — in flight to an
 * origin across the process, not per compute.
 *
 * State of an {@link OriginSlots}:
 * - `inFlight`: requests holding a slot now (across all lanes); `maxInFlight` its peak.
 * - `#owners`: the lanes with requests waiting, in turn order, each with its FIFO of waiters.
 *   A lane served moves to the back when it still waits, so lanes take turns (round robin):
 *   one compute with 10,000 chunks does not hold back another's single chunk.
 */

/**
 * How many requests in flight to the origin a request allows: a number, or a function for a
 * bound that changes while it waits (an HTTP/2 session's stream limit, known once it connects).
 */
export type SlotBound = number | (() => number);

/** One request waiting for a slot: admitted once fewer than its bound are in flight. */
interface Waiter {
  readonly bound: SlotBound;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
}

/** Slots of one origin (see the module's comment). */
export class OriginSlots {
  inFlight = 0;
  maxInFlight = 0;
  readonly #owners = new Map<object, Waiter[]>();
  /** The largest bound ever asked for: at or past it in flight, nobody waiting can start. */
  #largestBound = 0;

  /** Requests waiting for a slot, across lanes. */
  get waiting(): number {
    let n = 0;
    for (const q of this.#owners.values()) n += q.length;
    return n;
  }

  /** Take a slot for a request that allows `bound` in flight, if one is free and no lane waits. */
  tryAcquire(bound: number): boolean {
    if (this.inFlight >= bound || this.#owners.size > 0) return false;
    this.#take();
    return true;
  }

  /**
   * Wait for a slot for a request of `owner` (a lane) that allows `bound` requests in flight to
   * this origin, in its lane's turn: `resolve` is called once the request holds the slot.
   * Returns `withdraw`, which takes the request out of the queue (its own signal aborted) and
   * says whether it was still waiting (else it holds a slot, or was rejected, already).
   */
  enqueue(owner: object, bound: SlotBound, resolve: () => void, reject: (reason: unknown) => void): () => boolean {
    const n = boundOf(bound);
    if (n > this.#largestBound) this.#largestBound = n;
    let q = this.#owners.get(owner);
    if (q === undefined) this.#owners.set(owner, (q = []));
    const waiter: Waiter = { bound, resolve, reject };
    q.push(waiter);
    this.pump();
    return () => this.#withdraw(owner, waiter);
  }

  #withdraw(owner: object, waiter: Waiter): boolean {
    const q = this.#owners.get(owner);
    const at = q === undefined ? -1 : q.indexOf(waiter);
    if (at < 0) return false;
    q!.splice(at, 1);
    if (q!.length === 0) this.#owners.delete(owner);
    // the waiter at the head may have been the one the others of its lane queued behind
    this.pump();
    return true;
  }

  /** Give a slot back; waiting requests take it in their lanes' turn. */
  release(): void {
    this.inFlight--;
    this.pump();
  }

  /** Reject every request of `owner` still waiting (its compute ended) with `reason`. */
  cancel(owner: object, reason: unknown): void {
    const q = this.#owners.get(owner);
    if (q === undefined) return;
    this.#owners.delete(owner);
    for (const w of q) w.reject(reason);
    this.pump();
  }

  /** A waiting request's bound may have grown to `bound`: admit what it now allows. */
  raise(bound: number): void {
    if (bound > this.#largestBound) this.#largestBound = bound;
    this.pump();
  }

  /** Admit waiters while their bounds allow, one per lane in turn. */
  pump(): void {
    while (this.inFlight < this.#largestBound) {
      let served = false;
      for (const [owner, q] of this.#owners) {
        const w = q[0]!;
        if (this.inFlight >= boundOf(w.bound)) continue;
        q.shift();
        // to the back of the turn order when it still waits
        this.#owners.delete(owner);
        if (q.length > 0) this.#owners.set(owner, q);
        this.#take();
        w.resolve();
        served = true;
        break;
      }
      if (!served) return;
    }
  }

  #take(): void {
    if (++this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
  }
}

function boundOf(b: SlotBound): number {
  return typeof b === "number" ? b : b();
}

const slots = new Map<string, OriginSlots>();

/** The slots of `origin` (`URL.origin`), shared by the whole process. */
export function originSlots(origin: string): OriginSlots {
  let s = slots.get(origin);
  if (s === undefined) slots.set(origin, (s = new OriginSlots()));
  return s;
}
