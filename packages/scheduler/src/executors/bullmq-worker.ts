import { mkdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Job } from "bullmq";
import { errorToPlain } from "../error-transfer.js";
import { TaskError } from "../errors.js";
import { workerName, type JobData, type JobFailure, type JobResult } from "./job-wire.js";
import { runTask, type RunTaskOptions } from "./run-task.js";

/** How long a closing worker waits for a Redis that went away, ms. */
const CLOSE_GRACE = 2000;

/** Options of {@link startBullmqWorker}. */
export interface BullmqWorkerOptions {
  /** Redis URL. */
  readonly connection: string;
  /** @default "zask" */
  readonly queue?: string;
  /** Jobs run at once. @default 8 */
  readonly concurrency?: number;
  /** How long a job's lock lasts without renewal: a killed worker's job runs again after it, ms. @default 30000 */
  readonly lockDuration?: number;
  /** How often stalled jobs (locks expired) are looked for, ms. @default 30000 */
  readonly stalledInterval?: number;
  /** Options of each task's local compute (I/O lane). */
  readonly compute?: RunTaskOptions;
  /** Called after each job with one line to log. */
  readonly log?: (line: string) => void;
}

/** A running worker (see {@link startBullmqWorker}). */
export interface BullmqWorkerHandle {
  /** This worker's name in logs and errors (`host:pid`). */
  readonly name: string;
  /** Stop taking jobs, finish the current ones, disconnect. */
  close(): Promise<void>;
}

/**
 * Run tasks from a BullMQ queue on this process: each job is decoded, run on this process's
 * I/O lane and worker pool, and its value returned through Redis or, when larger than the
 * job's limit, written to the job's scratch directory.
 *
 * @example
 * ```ts
 * const worker = await startBullmqWorker({ connection: "redis://127.0.0.1:6379" });
 * process.once("SIGTERM", () => void worker.close());
 * ```
 */
export async function startBullmqWorker(options: BullmqWorkerOptions): Promise<BullmqWorkerHandle> {
  const name = workerName(hostname(), process.pid);
  const log = options.log ?? (() => undefined);
  // loaded on first use: a process that never goes distributed does not pay for BullMQ
  const [{ Worker }, { Redis }] = await Promise.all([import("bullmq"), import("ioredis")]);
  const redis = new Redis(options.connection, { maxRetriesPerRequest: null });
  redis.on("error", () => undefined);
  let n = 0;
  // jobs this process is running (a closing worker waits for them, whatever Redis does)
  let running = 0;
  const worker = new Worker(
    options.queue ?? "zask",
    async (job: Job<JobData>): Promise<JobResult> => {
      const t0 = performance.now();
      const d = job.data;
      running++;
      try {
        const bytes = await runTask(Buffer.from(d.p, "base64"), options.compute);
        let out: JobResult;
        if (d.s !== undefined && bytes.byteLength > d.l) {
          await mkdir(d.s, { recursive: true });
          const file = join(d.s, `${job.id ?? `${process.pid}-${n++}`}.v8`);
          await writeFile(file, bytes);
          out = { w: name, f: file, n: bytes.byteLength };
        } else {
          out = { w: name, v: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64") };
        }
        log(
          `${new Date().toISOString()} ${name} job ${job.id} ${d.k} ${d.o} ok ${(performance.now() - t0).toFixed(1)} ms ${bytes.byteLength} B${"f" in out ? " (scratch)" : ""}`,
        );
        return out;
      } catch (e) {
        const attempts = job.attemptsMade + 1;
        // the local compute's TaskError names the op and step; its cause is what the op threw
        const inner = e instanceof TaskError ? e.cause : e;
        const failure: JobFailure = {
          w: name,
          ...(e instanceof TaskError ? { o: e.op, st: e.step } : {}),
          e: errorToPlain(inner),
          a: attempts,
          final: attempts >= (job.opts.attempts ?? 1),
        };
        log(
          `${new Date().toISOString()} ${name} job ${job.id} ${d.k} ${d.o} failed ${(performance.now() - t0).toFixed(1)} ms attempt ${attempts}: ${failure.e.name}: ${failure.e.message}`,
        );
        throw new Error(JSON.stringify(failure));
      } finally {
        running--;
      }
    },
    {
      connection: redis,
      concurrency: options.concurrency ?? 8,
      lockDuration: options.lockDuration ?? 30_000,
      stalledInterval: options.stalledInterval ?? 30_000,
      // an idle wait for jobs of at most a second, so that close() returns promptly
      drainDelay: 1,
      name,
    },
  );
  worker.on("error", () => undefined);
  await worker.waitUntilReady();
  return {
    name,
    async close() {
      // BullMQ's close waits for the running jobs, then for Redis to take its last commands: a
      // Redis that is gone would hold it forever, so once the jobs are done a lost Redis ends it
      const closing = worker.close();
      let poll: NodeJS.Timeout | undefined;
      const lost = new Promise<void>((resolve) => {
        let downSince: number | undefined;
        poll = setInterval(() => {
          if (redis.status === "ready") downSince = undefined;
          else if ((downSince ??= performance.now()) + CLOSE_GRACE < performance.now() && running === 0) resolve();
        }, 100);
      });
      const gone = await Promise.race([closing.then(() => false), lost.then(() => true)]);
      clearInterval(poll);
      // BullMQ's own connections would keep reconnecting, and the process alive
      if (gone) await Promise.race([worker.disconnect().catch(() => undefined), new Promise((r) => setTimeout(r, CLOSE_GRACE).unref())]);
      redis.disconnect();
    },
  };
}
