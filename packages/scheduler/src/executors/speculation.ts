/**
 * Backup copies of straggling jobs (speculative execution, as MapReduce and Spark do it): when
 * none of a compute's jobs is waiting for a worker, a job that has run much longer than this
 * compute's jobs usually take gets a second copy; tasks are idempotent, so the first result
 * wins. A worker killed mid-job holds its jobs until its lock expires; their copies run now.
 *
 * State of a {@link Speculation}: `#startedAt` (job id → when a worker took it, for the copies
 * not finished), `#waiting` (copies submitted and not taken), `#runs` (how long this
 * compute's finished jobs ran, ms, the last {@link WINDOW}).
 */

/** Options of speculative copies (`bullmq({ speculation })`). */
export interface SpeculationOptions {
  /** A job is a straggler once it has run this many times the median run of the compute's jobs. @default 3 */
  readonly multiplier?: number;
  /** ...and at least this long, ms. @default 500 */
  readonly minimum?: number;
}

const WINDOW = 64;
/** Runs measured before any job is called a straggler. */
const MIN_RUNS = 3;

/** Which of one compute's jobs deserve a backup copy. */
export class Speculation {
  readonly #multiplier: number;
  readonly #minimum: number;
  readonly #startedAt = new Map<string, number>();
  readonly #waiting = new Set<string>();
  readonly #runs: number[] = [];
  #n = 0;

  constructor(options: SpeculationOptions = {}) {
    this.#multiplier = options.multiplier ?? 3;
    this.#minimum = options.minimum ?? 500;
    if (!(this.#multiplier >= 1)) throw new RangeError(`Expected \`speculation.multiplier\` to be a number >= 1, got \`${String(options.multiplier)}\``);
    if (!(this.#minimum >= 0)) throw new RangeError(`Expected \`speculation.minimum\` to be a non-negative number, got \`${String(options.minimum)}\``);
  }

  /** Job `id` was submitted. */
  submitted(id: string): void {
    this.#waiting.add(id);
  }

  /** A worker took job `id` (again, after a stall: its clock restarts). */
  started(id: string, now: number): void {
    if (!this.#waiting.delete(id) && !this.#startedAt.has(id)) return;
    this.#startedAt.set(id, now);
  }

  /** Job `id` went back to waiting (its worker stalled). */
  requeued(id: string): void {
    if (this.#startedAt.delete(id)) this.#waiting.add(id);
  }

  /** Job `id` ended (or is no longer wanted). */
  ended(id: string, now: number): void {
    this.#waiting.delete(id);
    const t = this.#startedAt.get(id);
    if (t === undefined) return;
    this.#startedAt.delete(id);
    this.#runs[this.#n++ % WINDOW] = now - t;
  }

  /** Job `id` is no longer followed (replaced by a new job), without a run time. */
  forget(id: string): void {
    this.#waiting.delete(id);
    this.#startedAt.delete(id);
  }

  /** The running jobs that should get a copy now (none while some job still waits for a worker). */
  stragglers(now: number): string[] {
    if (this.#waiting.size > 0 || this.#runs.length < MIN_RUNS || this.#startedAt.size === 0) return [];
    const sorted = [...this.#runs].sort((a, b) => a - b);
    const limit = Math.max(this.#minimum, this.#multiplier * sorted[sorted.length >> 1]!);
    const out: string[] = [];
    for (const [id, t] of this.#startedAt) if (now - t > limit) out.push(id);
    return out;
  }
}
