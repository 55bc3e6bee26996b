import type { RequestEvent } from "./request-counter.js";
import type { FileServer } from "./serve.js";

/** What `measureRequests` saw while its function ran. */
export interface MeasuredRequests<T> {
  value: T;
  /** Requests the server answered for this run. */
  requests: number;
  /** Body bytes the server sent for this run. */
  bytes: number;
  /** Wall-clock milliseconds of the function. */
  ms: number;
  /** Each request, in the order the server finished them. */
  events: RequestEvent[];
}

/**
 * Runs `fn` and reports the requests `server` answered meanwhile: how the demo shows what a
 * query costs, counted at the server rather than by the client. Waits after `fn` until every
 * request the server had started has been reported, so none is counted in the next run.
 * Assumes nothing else talks to the server at the same time.
 *
 * @example
 * ```ts
 * const server = await serve("data", { port: 0, log: false });
 * const run = await measureRequests(server, () => fetch(`${server.url}a.zarr/.zmetadata`).then((r) => r.json()));
 * console.log(run.requests, run.bytes, run.ms.toFixed(1)); // 1 1234 3.2
 * ```
 */
export async function measureRequests<T>(server: FileServer, fn: () => T | Promise<T>, options: { signal?: AbortSignal } = {}): Promise<MeasuredRequests<T>> {
  const { signal } = options;
  signal?.throwIfAborted();
  const events: RequestEvent[] = [];
  let started = 0;
  const onStart = (): void => {
    started += 1;
  };
  server.server.on("request", onStart);
  const off = server.onRequest((event) => events.push(event));
  try {
    const t0 = performance.now();
    const value = await fn();
    const ms = performance.now() - t0;
    // The client can see a response end before the server's "close" for it has run.
    while (events.length < started) {
      signal?.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return { value, requests: events.length, bytes: events.reduce((n, e) => n + e.bytes, 0), ms, events };
  } finally {
    server.server.off("request", onStart);
    off();
  }
}
