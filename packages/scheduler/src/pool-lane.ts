import { PriorityQueue } from "./priority-queue.js";
import { poolThreads, sharedPool } from "./worker-pool.js";
import { MessageWriter, responseOf, type WorkerMessage, type WorkerReply, type WorkerResponse } from "./worker-protocol.js";
import { bodyPool } from "./http/body-pool.js";

/** One task (or fused segment) waiting for the pool. */
export interface PoolJob {
  /** The task's index: its priority, and its identity in the queue. */
  readonly i: number;
  /** Bytes of its inputs, to keep batches small. */
  readonly bytes: number;
  /**
   * Write the job's request into the message (one `request` and its `step`s), when the job is
   * sent (so inputs are read then). May throw; then what it wrote is rolled back.
   */
  build(transfer: Set<ArrayBuffer>, message: MessageWriter): void;
  /** The worker's answer, or the error that prevented one. */
  settle(res: WorkerResponse | undefined, error?: unknown): void;
  /**
   * For a job sent here only because its op looked slow: whether, by the time it would be sent,
   * it should run inline after all (then `runInline` is called instead).
   */
  reconsider?(): boolean;
  runInline?(): void;
}

/** Limits of a {@link PoolLane}. */
export interface PoolLaneOptions {
  /** Messages in flight (running + queued at the workers). */
  readonly messages: number;
  /**
   * Worker threads: beyond one message per worker, a message is sent ahead only when its inputs
   * are under `aheadBytes`; bigger inputs wait here until a worker is free, where they count
   * against the staging bound, rather than sit in a queue at the pool.
   */
  readonly workers: number;
  /**
   * Inputs up to this size may queue at a busy worker, so it starts its next message without
   * waiting a round trip for the main thread, which would otherwise leave the workers idle
   * between messages (benchmarks/scheduler-pool.bench.ts).
   */
  readonly aheadBytes: number;
  /** Tasks in one message at most. */
  readonly maxBatch: number;
  /** A batch stops growing once its inputs hold this many bytes. */
  readonly batchBytes: number;
}

/**
 * The worker-pool lane of one compute: ready jobs wait here in priority order (not in piscina's
 * queue), at most `messages` messages are in flight, and when many small jobs are ready they
 * go to a worker together, one message for up to `maxBatch` of them, so the cost of a message
 * is shared.
 */
export class PoolLane {
  readonly #queue: PriorityQueue;
  readonly #jobs = new Map<number, PoolJob>();
  readonly #opts: PoolLaneOptions;
  readonly #after: () => void;
  #active = 0;
  #closed = false;

  readonly #cancel: Int32Array;

  /** `cancel`: the compute's cancellation cell, sent with every message. */
  constructor(priority: ArrayLike<number>, options: PoolLaneOptions, cancel: Int32Array, afterMessage: () => void) {
    this.#cancel = cancel;
    this.#queue = new PriorityQueue(priority);
    this.#opts = options;
    this.#after = afterMessage;
  }

  /** Jobs waiting to be sent. */
  get waiting(): number {
    return this.#queue.size;
  }

  /** The most jobs worth keeping ready for this lane (more would only hold memory). */
  get capacity(): number {
    return this.#opts.messages * this.#opts.maxBatch;
  }

  submit(job: PoolJob): void {
    this.#jobs.set(job.i, job);
    this.#queue.push(job.i);
    this.#pump();
  }

  /** Drop waiting jobs; answers still to come are ignored. */
  clear(): void {
    this.#closed = true;
    this.#queue.clear();
    this.#jobs.clear();
  }

  #pump(): void {
    const { messages, maxBatch, batchBytes, workers, aheadBytes } = this.#opts;
    while (!this.#closed && this.#active < messages && this.#queue.size > 0) {
      if (this.#active >= workers && this.#jobs.get(this.#queue.peek())!.bytes > aheadBytes) return;
      // spread what is ready over all the message slots, so that no worker idles at the tail
      const size = Math.min(maxBatch, Math.ceil(this.#queue.size / messages));
      const batch: PoolJob[] = [];
      let bytes = 0;
      while (this.#queue.size > 0 && batch.length < size && (batch.length === 0 || bytes < batchBytes)) {
        const next = this.#jobs.get(this.#queue.peek())!;
        if (next.reconsider?.() === true) {
          // the op proved cheap meanwhile (e.g. its first, cold run was slow)
          this.#queue.pop();
          this.#jobs.delete(next.i);
          next.runInline!();
          if (this.#closed) return;
          continue;
        }
        if (batch.length > 0 && bytes + next.bytes > batchBytes) break;
        this.#queue.pop();
        this.#jobs.delete(next.i);
        batch.push(next);
        bytes += next.bytes;
      }
      if (batch.length > 0) this.#send(batch);
    }
  }

  #send(batch: PoolJob[]): void {
    const transfer = new Set<ArrayBuffer>();
    const writer = new MessageWriter();
    const jobs: PoolJob[] = [];
    for (const job of batch) {
      const mark = writer.mark();
      try {
        job.build(transfer, writer);
        jobs.push(job);
      } catch (e) {
        writer.rollBack(mark);
        job.settle(undefined, e);
      }
    }
    if (jobs.length === 0) return;
    this.#active++;
    const message: WorkerMessage = { o: writer.table, h: Int32Array.from(writer.header), a: writer.args, c: this.#cancel };
    sharedPool()
      .run(message, { transferList: [...transfer] })
      .then(
        (reply: WorkerReply) => {
          this.#active--;
          // bodies the workers are done with: reused for the next ones, or detached so that the
          // next scavenge frees them (a buffer that came from a worker is old-generation garbage)
          if (reply.b !== undefined) for (const b of reply.b) if (!bodyPool.adopt(b)) structuredClone(b, { transfer: [b] });
          for (let k = 0; k < jobs.length; k++) jobs[k]!.settle(responseOf(reply, k));
        },
        (e: unknown) => {
          this.#active--;
          for (const job of jobs) job.settle(undefined, e);
        },
      )
      .finally(() => {
        this.#pump();
        this.#after();
      });
  }
}

/**
 * Default limits of the pool lane: one message running and one queued per worker; a message
 * carries up to 32 tasks (together under 1 MiB of inputs) when many are ready, because each
 * message costs both threads a postMessage, a wake-up and a structured clone
 * (benchmarks/scheduler-pool.bench.ts measures the batch sizes).
 */
export function defaultPoolLane(): PoolLaneOptions {
  return { messages: 2 * poolThreads(), workers: poolThreads(), maxBatch: 32, batchBytes: 2 ** 20, aheadBytes: 4 * 1024 * 1024 };
}
