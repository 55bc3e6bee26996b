import { close, startBullmqWorker } from "@zask/scheduler";

/** Options of {@link worker}. */
export interface WorkerOptions {
  readonly connection: string;
  readonly queue: string;
  readonly concurrency: number;
  readonly lockDuration: number;
  readonly stalledInterval: number;
  readonly httpConcurrency: number;
  /** Where each job's line goes (none when quiet). */
  readonly log: ((line: string) => void) | undefined;
  /** Where the worker's ready and stop lines go. */
  readonly say: (line: string) => void;
}

/**
 * `zask worker`: take jobs from the queue until SIGTERM or SIGINT, then finish the current
 * jobs, close the worker pool and return; the process exits a second later whatever timers
 * are left (a lost Redis leaves BullMQ's reconnecting).
 *
 * @example
 * ```ts
 * await worker({ connection: "redis://127.0.0.1:6379", queue: "zask", concurrency: 8, lockDuration: 30000, stalledInterval: 30000, httpConcurrency: 16, log: console.error, say: console.error });
 * ```
 */
export async function worker(options: WorkerOptions): Promise<void> {
  const handle = await startBullmqWorker({
    connection: options.connection,
    queue: options.queue,
    concurrency: options.concurrency,
    lockDuration: options.lockDuration,
    stalledInterval: options.stalledInterval,
    compute: { httpConcurrency: options.httpConcurrency },
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  options.say(`${new Date().toISOString()} ${handle.name} ready on queue ${options.queue} (concurrency ${options.concurrency})`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      options.say(`${new Date().toISOString()} ${handle.name} stopping: finishing current jobs`);
      void handle.close().then(resolve, resolve);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  await close();
  options.say(`${new Date().toISOString()} ${handle.name} stopped`);
  // BullMQ's timers outlive a Redis that went away: the command is over, so is the process
  setTimeout(() => process.exit(), 1000).unref();
}
