/**
 * The BullMQ executor: tasks become jobs of one Redis queue, results come back through the
 * queue's event stream.
 *
 * State of a {@link BullmqExecutor}: `#link` (the Redis connection, queue and event listener,
 * made at the first compute and kept until `close()` or until Redis is lost) and, per link,
 * `pending`: each submitted job's task ({@link Pending}: its settlement, its copies) by job id,
 * until the job's completed or final failed event; a straggler's backup copy (see
 * {@link Speculation}) maps to the same task, and the first result settles it. Jobs waiting to
 * be added in this tick wait in `batch`, added with one `addBulk`.
 */
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import type { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { errorFromPlain } from "../error-transfer.js";
import { ExecutorUnavailableError, TaskError, WorkerTaskError } from "../errors.js";
import type { Executor, ExecutorSession, ScratchRef, TaskJob } from "./executor.js";
import type { JobData, JobFailure, JobResult } from "./job-wire.js";
import { Speculation, type SpeculationOptions } from "./speculation.js";

/** Options of {@link bullmq}. */
export interface BullmqOptions {
  /** Redis URL (`redis://host:port`, `redis://:password@host:port/db`). */
  readonly connection: string;
  /** The queue's name; its workers run `zask worker --queue NAME`. @default "zask" */
  readonly queue?: string;
  /** Jobs submitted and not finished, at most, per compute. @default 256 */
  readonly maxInFlight?: number;
  /** Attempts of a task before the compute fails with its `TaskError`. @default 3 */
  readonly attempts?: number;
  /** Results larger than this go to `scratch` (when set) instead of through Redis, bytes. @default 1048576 */
  readonly resultLimit?: number;
  /** A directory every worker and this process can read and write: large intermediate values go there. */
  readonly scratch?: string;
  /** How long Redis may stay unreachable before the compute fails, ms. @default 5000 */
  readonly timeout?: number;
  /**
   * Backup copies of straggling jobs: once none of a compute's jobs waits for a worker, a job
   * running longer than `multiplier` × the median run of the compute's jobs (and `minimum` ms)
   * gets one copy, and the first result wins (tasks are idempotent). A killed worker's jobs then
   * run again without waiting for their locks to expire. `false` turns it off.
   * @default { multiplier: 3, minimum: 500 }
   */
  readonly speculation?: SpeculationOptions | false;
}

/** How often a compute looks for stragglers, ms. */
const SPECULATION_TICK = 50;

/** One task of a compute, shared by its job and, when it straggled, its backup copy. */
interface Pending {
  readonly key: string;
  readonly op: string;
  readonly data: JobData;
  /** Copies submitted and not ended. */
  copies: number;
  /** Whether its one backup copy was submitted. */
  backedUp: boolean;
  /** Resolved or rejected: later results are dropped. */
  settled: boolean;
  readonly spec: Speculation | undefined;
  /** When an event of its compute's jobs last came (`performance.now()`). */
  readonly heard: { at: number };
  /** When its latest job was submitted. */
  submittedAt: number;
  resolve(v: Uint8Array | ScratchRef): void;
  reject(e: unknown): void;
}

interface Link {
  readonly redis: Redis;
  readonly queue: Queue;
  readonly events: QueueEvents;
  readonly eventsRedis: Redis;
  readonly pending: Map<string, Pending>;
  batch: { name: string; data: JobData; opts: { jobId: string } }[];
  /** `performance.now()` since when Redis is unreachable, or undefined. */
  downSince: number | undefined;
  lost: ExecutorUnavailableError | undefined;
  readonly watchdog: NodeJS.Timeout;
}

/** A URL with its password hidden, for messages. */
function safeUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, "//$1:***@");
}

/**
 * A distributed executor on BullMQ and Redis: pass it as `compute`'s `scheduler`. Each io or
 * cpu task becomes a job that a `zask worker` process runs (fetching its chunks from the store
 * itself); its value comes back through Redis, or through `scratch` when large. A worker lost
 * mid-job has its job taken by another (BullMQ's stalled-job check); a task failing `attempts`
 * times fails the compute with a `TaskError` naming the worker; Redis unreachable for
 * `timeout` ms fails it with an `ExecutorUnavailableError`. Call `close()` when done.
 *
 * @example
 * ```ts
 * const cluster = bullmq({ connection: "redis://127.0.0.1:6379", queue: "zask" });
 * const mean = await adata.X.mean({ axis: 0 }).compute({ scheduler: cluster });
 * await cluster.close();
 * ```
 */
export function bullmq(options: BullmqOptions): BullmqExecutor {
  return new BullmqExecutor(options);
}

/** The executor {@link bullmq} makes. */
export class BullmqExecutor implements Executor {
  readonly kind = "executor" as const;
  readonly maxInFlight: number;
  readonly #url: string;
  readonly #queue: string;
  readonly #attempts: number;
  readonly #resultLimit: number;
  readonly #scratch: string | undefined;
  readonly #timeout: number;
  readonly #speculation: SpeculationOptions | undefined;
  #link: Promise<Link> | undefined;

  constructor(options: BullmqOptions) {
    if (typeof options?.connection !== "string" || !/^rediss?:\/\//.test(options.connection)) {
      throw new TypeError(`Expected \`connection\` to be a redis:// URL, got \`${String(options?.connection)}\``);
    }
    this.#url = options.connection;
    this.#queue = options.queue ?? "zask";
    this.maxInFlight = positiveInt("maxInFlight", options.maxInFlight ?? 256);
    this.#attempts = positiveInt("attempts", options.attempts ?? 3);
    this.#resultLimit = options.resultLimit ?? 2 ** 20;
    if (!(this.#resultLimit >= 0)) throw new RangeError(`Expected \`resultLimit\` to be a non-negative number, got \`${String(options.resultLimit)}\``);
    this.#scratch = options.scratch;
    this.#timeout = options.timeout ?? 5000;
    if (!(this.#timeout > 0)) throw new RangeError(`Expected \`timeout\` to be a positive number, got \`${String(options.timeout)}\``);
    this.#speculation = options.speculation === false ? undefined : (options.speculation ?? {});
    // checked here, not at the first compute
    if (this.#speculation !== undefined) new Speculation(this.#speculation);
  }

  async open(_options: { signal?: AbortSignal | undefined }): Promise<ExecutorSession> {
    const link = await (this.#link ??= this.#connect());
    if (link.lost !== undefined) {
      this.#link = undefined;
      throw link.lost;
    }
    // every copy of this compute's jobs, until it settles (or, for a losing copy, until it ends)
    const mine = new Set<string>();
    const session = randomUUID();
    const spec = this.#speculation === undefined ? undefined : new Speculation(this.#speculation);
    let n = 0;
    const enqueue = (jobId: string, data: JobData): void => {
      mine.add(jobId);
      spec?.submitted(jobId);
      if (link.batch.length === 0) queueMicrotask(() => this.#flush(link));
      link.batch.push({ name: "task", data, opts: { jobId } });
    };
    const backups =
      spec === undefined
        ? undefined
        : setInterval(() => {
            for (const id of spec.stragglers(performance.now())) {
              const p = link.pending.get(id);
              if (p === undefined || p.settled || p.backedUp || link.lost !== undefined) continue;
              p.backedUp = true;
              p.copies++;
              const copy = `${id}-b`;
              link.pending.set(copy, p);
              enqueue(copy, p.data);
            }
          }, SPECULATION_TICK);
    backups?.unref();
    // A job whose completed or failed event never came (the queue's event stream is trimmed, and
    // a reader far enough behind loses entries) would hold the compute forever: after `timeout` ms
    // without an event of this compute, a task none of whose jobs is still in the queue (they are
    // removed as they end) runs again as a new job (tasks are idempotent).
    const heard = { at: performance.now() };
    let resubmitted = 0;
    let checking = false;
    const lostCheck = setInterval(
      () => {
        const now = performance.now();
        if (checking || link.lost !== undefined || now - heard.at < this.#timeout) return;
        const tasks = new Map<Pending, string[]>();
        for (const id of mine) {
          const p = link.pending.get(id);
          if (p === undefined || p.settled || now - p.submittedAt < this.#timeout) continue;
          tasks.set(p, [...(tasks.get(p) ?? []), id]);
        }
        if (tasks.size === 0) return;
        checking = true;
        heard.at = now;
        void Promise.all(
          [...tasks].map(async ([p, ids]) => {
            const states = await Promise.all(ids.map((id) => link.queue.getJobState(id).catch(() => "error")));
            if (p.settled || !states.every((st) => st === "unknown")) return;
            for (const id of ids) {
              link.pending.delete(id);
              p.spec?.forget(id);
            }
            const again = `${session}-r${resubmitted++}`;
            p.copies = 1;
            p.submittedAt = performance.now();
            link.pending.set(again, p);
            enqueue(again, p.data);
          }),
        ).finally(() => (checking = false));
      },
      Math.max(50, Math.min(1000, this.#timeout / 2)),
    );
    lostCheck.unref();
    return {
      submit: (job: TaskJob) =>
        new Promise<Uint8Array | ScratchRef>((resolve, reject) => {
          if (link.lost !== undefined) return reject(link.lost);
          const jobId = `${session}-${n++}`;
          const data: JobData = {
            k: job.key,
            o: job.op,
            p: Buffer.from(job.payload.buffer, job.payload.byteOffset, job.payload.byteLength).toString("base64"),
            l: this.#resultLimit,
            ...(this.#scratch === undefined ? {} : { s: this.#scratch }),
          };
          link.pending.set(jobId, {
            key: job.key,
            op: job.op,
            data,
            copies: 1,
            backedUp: false,
            settled: false,
            spec,
            heard,
            submittedAt: performance.now(),
            resolve,
            reject,
          });
          enqueue(jobId, data);
        }),
      close: async (aborted: boolean) => {
        clearInterval(backups);
        clearInterval(lostCheck);
        const ids = [...mine];
        mine.clear();
        if (aborted || link.lost !== undefined) {
          for (const id of ids) link.pending.delete(id);
          if (!aborted || link.lost !== undefined) return;
          // waiting jobs are removed; an active one is locked by its worker and just finishes
          await Promise.all(ids.map((id) => link.queue.remove(id).catch(() => 0)));
          return;
        }
        // copies that lost the race: those still waiting go; a running one stays known until it
        // ends, so that a value it leaves in the scratch directory is deleted; the compute's
        // result does not wait for this cleanup
        const left = ids.filter((id) => link.pending.has(id));
        void Promise.all(
          left.map(async (id) => {
            if ((await link.queue.remove(id).catch(() => 0)) === 1) link.pending.delete(id);
          }),
        );
      },
    };
  }

  #flush(link: Link): void {
    const batch = link.batch;
    link.batch = [];
    link.queue
      .addBulk(batch.map((b) => ({ name: b.name, data: b.data, opts: { ...b.opts, attempts: this.#attempts, removeOnComplete: true, removeOnFail: true } })))
      .catch((e: unknown) => {
        for (const b of batch) {
          const p = link.pending.get(b.opts.jobId);
          if (p === undefined || p.settled) continue;
          p.settled = true;
          p.reject(new ExecutorUnavailableError(safeUrl(this.#url), 0, { cause: e }));
        }
      });
  }

  async #connect(): Promise<Link> {
    const started = performance.now();
    // loaded on first use: a process that never goes distributed does not pay for BullMQ
    const [{ Queue, QueueEvents }, { Redis }] = await Promise.all([import("bullmq"), import("ioredis")]);
    // Redis must answer before BullMQ's objects exist: those never give up on a Redis that never came
    const redis = new Redis(this.#url, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(50 * times, 500) });
    redis.on("error", () => undefined);
    try {
      await Promise.race([
        new Promise<void>((resolve) => redis.once("ready", () => resolve())),
        new Promise((_, reject) => setTimeout(() => reject(new Error("no answer")), this.#timeout).unref()),
      ]);
    } catch (cause) {
      redis.disconnect();
      this.#link = undefined;
      throw new ExecutorUnavailableError(safeUrl(this.#url), performance.now() - started, { cause });
    }
    const eventsRedis = new Redis(this.#url, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(50 * times, 500) });
    eventsRedis.on("error", () => undefined);
    const queue = new Queue(this.#queue, { connection: redis });
    // The event reader starts from the stream's last event as it is now, not from whatever is
    // last when its first read goes out: the jobs submitted meanwhile would lose their events
    // (a job whose `active` never came stays "waiting", and no straggler gets a backup copy).
    const last = (await redis.xrevrange(queue.keys.events!, "+", "-", "COUNT", 1).catch(() => []))[0]?.[0] ?? "0-0";
    const link: Link = {
      redis,
      queue,
      eventsRedis,
      // a short block: a lost Redis leaves no long read (and its timer) behind
      events: new QueueEvents(this.#queue, { connection: eventsRedis, blockingTimeout: 1000, lastEventId: last }),
      pending: new Map(),
      batch: [],
      downSince: started,
      lost: undefined,
      watchdog: setInterval(() => this.#check(link), Math.max(10, Math.min(250, this.#timeout / 4))),
    };
    link.watchdog.unref();
    redis.on("ready", () => (link.downSince = undefined));
    redis.on("close", () => (link.downSince ??= performance.now()));
    link.queue.on("error", () => undefined);
    link.events.on("error", () => undefined);
    link.events.on("active", ({ jobId }) => {
      const p = link.pending.get(jobId);
      if (p === undefined) return;
      p.heard.at = performance.now();
      p.spec?.started(jobId, p.heard.at);
    });
    link.events.on("stalled", ({ jobId }) => link.pending.get(jobId)?.spec?.requeued(jobId));
    link.events.on("completed", ({ jobId, returnvalue }) => {
      const p = link.pending.get(jobId);
      if (p === undefined) return;
      link.pending.delete(jobId);
      p.copies--;
      p.heard.at = performance.now();
      p.spec?.ended(jobId, p.heard.at);
      const r = (typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue) as JobResult;
      if (p.settled) {
        // a losing copy: its value is not wanted
        if ("f" in r) void rm(r.f, { force: true }).catch(() => undefined);
        return;
      }
      p.settled = true;
      if ("v" in r) p.resolve(Buffer.from(r.v, "base64"));
      else p.resolve({ scratch: r.f, bytes: r.n });
    });
    link.events.on("failed", ({ jobId, failedReason }) => {
      const p = link.pending.get(jobId);
      if (p === undefined) return;
      let f: JobFailure | undefined;
      try {
        f = JSON.parse(failedReason) as JobFailure;
      } catch {
        // BullMQ's own reasons (a job stalled too often) are plain text, and final
      }
      p.heard.at = performance.now();
      if (f !== undefined && !f.final) {
        // retried: it waits for a worker again
        p.spec?.requeued(jobId);
        return;
      }
      link.pending.delete(jobId);
      p.copies--;
      p.spec?.ended(jobId, performance.now());
      // another copy may still succeed
      if (p.settled || p.copies > 0) return;
      p.settled = true;
      const cause =
        f === undefined
          ? new WorkerTaskError("(unknown)", this.#attempts, "Error", failedReason)
          : new WorkerTaskError(f.w, f.a, f.e.name, f.e.message, { cause: errorFromPlain(f.e) });
      p.reject(new TaskError(p.key, f?.o ?? p.op, cause, f?.st ?? p.key));
    });
    try {
      await Promise.race([
        Promise.all([link.queue.waitUntilReady(), link.events.waitUntilReady()]),
        new Promise((_, reject) => setTimeout(() => reject(new Error("no answer")), this.#timeout).unref()),
      ]);
    } catch (cause) {
      link.lost = new ExecutorUnavailableError(safeUrl(this.#url), performance.now() - started, { cause });
      this.#teardown(link);
      this.#link = undefined;
      throw link.lost;
    }
    link.downSince = undefined;
    return link;
  }

  #check(link: Link): void {
    if (link.downSince === undefined || link.lost !== undefined) return;
    const waited = performance.now() - link.downSince;
    if (waited < this.#timeout) return;
    link.lost = new ExecutorUnavailableError(safeUrl(this.#url), waited);
    for (const p of link.pending.values()) {
      if (p.settled) continue;
      p.settled = true;
      p.reject(link.lost);
    }
    link.pending.clear();
    this.#teardown(link);
  }

  #teardown(link: Link): void {
    clearInterval(link.watchdog);
    link.redis.disconnect();
    link.eventsRedis.disconnect();
    void link.events.close().catch(() => undefined);
    void link.queue.close().catch(() => undefined);
  }

  /** Disconnect from Redis (the queue and its jobs stay for the workers). */
  async close(): Promise<void> {
    const p = this.#link;
    this.#link = undefined;
    if (p === undefined) return;
    const link = await p.catch(() => undefined);
    if (link === undefined || link.lost !== undefined) return;
    clearInterval(link.watchdog);
    await Promise.all([link.events.close(), link.queue.close()]).catch(() => undefined);
    link.redis.disconnect();
    link.eventsRedis.disconnect();
  }
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`Expected \`${name}\` to be a positive integer, got \`${String(v)}\``);
  return v;
}
