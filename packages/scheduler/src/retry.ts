import { setTimeout as sleep } from "node:timers/promises";

/** Statuses worth another try: the server is overloaded or failing, not refusing. */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  // the direct client's (http/direct-http.ts)
  "ZASK_HTTP_TIMEOUT",
  "ZASK_HTTP_DEADLINE",
  "ZASK_HTTP_CLOSED",
  // node:http2's (http/h2-client.ts): a stream or session reset or ended by the server
  "ERR_HTTP2_STREAM_ERROR",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_INVALID_SESSION",
  "ERR_HTTP2_STREAM_CANCEL",
]);

/**
 * Whether a failed request (what undici threw, for the request or its body) is worth another
 * try: a reset connection, a socket closed mid-body, a headers or body timeout. Wrapped errors
 * carry the system error as their `cause`, so the chain is walked.
 */
export function isTransientError(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x !== null && typeof x === "object" && depth < 4; depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
    x = (x as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The wait before retry number `attempt` (1 for the first retry): exponential in the attempt,
 * capped, with "equal jitter" (half fixed, half random) so that clients that failed together
 * do not retry together, yet every wait grows.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const d = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return d / 2 + random() * (d / 2);
}

/** Sleep `ms`, or reject with the signal's reason as soon as it aborts (clearing the timer). */
export async function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    throw e;
  }
}
