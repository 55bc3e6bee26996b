/** What the server reports about each request it answered. */
export interface RequestEvent {
  method: string;
  /** The request target as sent (path and query, not decoded). */
  url: string;
  status: number;
  /** Body bytes written to the socket. */
  bytes: number;
  /** The `Range` header, when there was one. */
  range: string | undefined;
  remoteAddress: string;
  /** When the response finished (or the client went away). */
  time: Date;
  /** Milliseconds from request to the end of the response. */
  durationMs: number;
}

/** Requests and body bytes, in total or for one path. */
export interface RequestTally {
  requests: number;
  bytes: number;
}

/**
 * Counts requests and bytes seen by a server, in total and per request path (query dropped).
 * `serve` keeps one per server; `reset()` starts a new count, e.g. between two queries.
 *
 * @example
 * ```ts
 * const server = await serve("data", { port: 0, log: false });
 * // ... run a query against server.url ...
 * console.log(server.counter.requests, server.counter.bytes, server.counter.byPath);
 * server.counter.reset();
 * ```
 */
export class RequestCounter {
  #requests = 0;
  #bytes = 0;
  #byPath = new Map<string, RequestTally>();

  /** Requests counted since creation or the last reset. */
  get requests(): number {
    return this.#requests;
  }

  /** Body bytes sent since creation or the last reset. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Tallies per request path, in the order paths were first seen. A copy. */
  get byPath(): Map<string, RequestTally> {
    return new Map([...this.#byPath].map(([path, tally]) => [path, { ...tally }]));
  }

  /** Adds one request. */
  record(event: Pick<RequestEvent, "url" | "bytes">): void {
    this.#requests += 1;
    this.#bytes += event.bytes;
    const queryAt = event.url.search(/[?#]/);
    const path = queryAt === -1 ? event.url : event.url.slice(0, queryAt);
    const tally = this.#byPath.get(path) ?? { requests: 0, bytes: 0 };
    tally.requests += 1;
    tally.bytes += event.bytes;
    this.#byPath.set(path, tally);
  }

  /** Totals as a plain object, e.g. to print or to store in results. */
  snapshot(): RequestTally & { byPath: Record<string, RequestTally> } {
    return { requests: this.#requests, bytes: this.#bytes, byPath: Object.fromEntries(this.byPath) };
  }

  /** Forgets everything counted so far. */
  reset(): void {
    this.#requests = 0;
    this.#bytes = 0;
    this.#byPath.clear();
  }
}
