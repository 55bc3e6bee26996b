import { ZaskError } from "@zask/graph";

/**
 * A task of a compute failed. Carries the task's key and the op that failed; the original
 * error is the `cause` (an {@link HttpError} for a failed request).
 *
 * @example
 * ```ts
 * try {
 *   await compute(graph, [key]);
 * } catch (e) {
 *   if (e instanceof TaskError) console.error(e.key, e.op, e.cause);
 * }
 * ```
 */
export class TaskError extends ZaskError {
  override name = "TaskError" as const;
  /** The key of the task (for a fused task, the fused node's key). */
  readonly key: string;
  /** The printable name of the op that threw (`module#name` or the function's name). */
  readonly op: string;
  /** The key of the fused step that threw, when the task is fused; otherwise `key`. */
  readonly step: string;

  constructor(key: string, op: string, cause: unknown, step: string = key) {
    super(`Task ${key} failed in op ${op}: ${describe(cause)}`, { cause });
    this.key = key;
    this.op = op;
    this.step = step;
  }
}

/**
 * An HTTP request of the I/O lane failed: a status that is not retried, retries exhausted
 * on a transient status (5xx, 429), or a network failure (`status` undefined).
 *
 * @example
 * ```ts
 * const res = await ctx.fetch(url);
 * if (!res.ok && res.status !== 404) throw new HttpError(url, res.status);
 * ```
 */
export class HttpError extends ZaskError {
  override name = "HttpError" as const;
  /** The URL requested. */
  readonly url: string;
  /** The last HTTP status received, or `undefined` when no response came. */
  readonly status: number | undefined;
  /** How many requests were made. */
  readonly attempts: number;

  constructor(url: string, status: number | undefined, options: { cause?: unknown; attempts?: number } = {}) {
    const what = status === undefined ? `failed: ${describe(options.cause)}` : `returned HTTP ${status}`;
    const tries = options.attempts !== undefined && options.attempts > 1 ? ` after ${options.attempts} attempts` : "";
    super(`GET ${url} ${what}${tries}`, { cause: options.cause });
    this.url = url;
    this.status = status;
    this.attempts = options.attempts ?? 1;
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
