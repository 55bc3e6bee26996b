import { PriorityQueue } from "./priority-queue.js";

/**
 * A lane's bound: at most `limit` tasks run at once; the others wait, and the one with the
 * lowest priority starts when a slot frees. A waiting entry is a task index: either a task to
 * start (`start(i)`) or a fused task paused between steps (resumed through its callback).
 */
export class Gate {
  readonly limit: number;
  active = 0;
  readonly #queue: PriorityQueue;
  readonly #start: (i: number) => void;
  readonly #admit: () => boolean;
  readonly #resume = new Map<number, () => void>();

  constructor(limit: number, priority: ArrayLike<number>, start: (i: number) => void, admit: () => boolean = () => true) {
    this.limit = limit;
    this.#queue = new PriorityQueue(priority);
    this.#start = start;
    this.#admit = admit;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#queue.size;
  }

  /** Start task `i` now if a slot is free, else queue it. `resume` marks a paused fused task. */
  submit(i: number, resume?: () => void): void {
    if (resume !== undefined) this.#resume.set(i, resume);
    if (this.active < this.limit && this.#queue.size === 0 && this.#admit()) {
      this.active++;
      this.#run(i);
    } else {
      this.#queue.push(i);
    }
  }

  /** A slot was given back: start waiting tasks while slots are free. */
  release(): void {
    this.active--;
    this.pump();
  }

  pump(): void {
    while (this.active < this.limit && this.#queue.size > 0 && this.#admit()) {
      this.active++;
      this.#run(this.#queue.pop());
    }
  }

  /** Drop every waiting task (the compute ended). */
  clear(): void {
    this.#queue.clear();
    this.#resume.clear();
  }

  #run(i: number): void {
    const resume = this.#resume.get(i);
    if (resume !== undefined) {
      this.#resume.delete(i);
      resume();
    } else {
      this.#start(i);
    }
  }
}
