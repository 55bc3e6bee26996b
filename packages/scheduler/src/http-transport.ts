import { Agent } from "undici";
import { isTransientStatus } from "./retry.js";

/** One buffered answer of the transport. */
export interface BufferedResponse {
  readonly status: number;
  /** Header values as undici gives them (lower-case names). */
  readonly headers: Record<string, string | string[] | undefined>;
  /** The whole body (exactly its bytes: the view spans its buffer), or `null` when not read. */
  readonly body: Uint8Array | null;
}

/** What one request sends. */
export interface TransportRequest {
  readonly method: string;
  readonly headers: Record<string, string> | undefined;
  readonly body: string | Uint8Array | null;
  /** Wait for the headers, and at most this long between two pieces of the body, ms. */
  readonly timeout: number;
  readonly signal: AbortSignal;
  /** Read the body of a non-2xx answer too (`fetch` does; `get` does not). */
  readonly keepErrorBody: boolean;
}

// One keep-alive agent (one connection pool per origin) per concurrency, shared by every
// compute of the process, so connections outlive a compute. Idle sockets are unref'd by
// undici: they never keep a script alive.
const agents = new Map<number, Agent>();

function agentFor(connections: number): Agent {
  let a = agents.get(connections);
  if (a === undefined) {
    a = new Agent({ connections, pipelining: 1, maxRedirections: 5 });
    agents.set(connections, a);
  }
  return a;
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * One HTTP request through undici, its body read whole into one buffer. A transient status
 * (5xx, 429) comes back without its body (dumped), as does a status without a body; errors
 * (resets, undici's headers/body timeouts, the signal's abort) are thrown as undici throws them.
 */
export async function request(url: URL, req: TransportRequest, connections: number): Promise<BufferedResponse> {
  const res = await agentFor(connections).request({
    origin: url.origin,
    path: url.pathname + url.search,
    method: req.method as "GET",
    headers: req.headers,
    body: req.body,
    signal: req.signal,
    headersTimeout: req.timeout,
    bodyTimeout: req.timeout,
  });
  const status = res.statusCode;
  const ok = status >= 200 && status < 300;
  if (NULL_BODY.has(status) || isTransientStatus(status) || (!ok && !req.keepErrorBody)) {
    await res.body.dump().catch(() => undefined);
    return { status, headers: res.headers, body: null };
  }
  return { status, headers: res.headers, body: await readAll(res.body, res.headers["content-length"]) };
}

/** The body in one buffer; with a Content-Length the buffer is allocated once and filled. */
async function readAll(body: AsyncIterable<Uint8Array>, contentLength: string | string[] | undefined): Promise<Uint8Array> {
  const n = typeof contentLength === "string" ? Number(contentLength) : NaN;
  if (Number.isSafeInteger(n) && n >= 0) {
    const out = new Uint8Array(n);
    let at = 0;
    for await (const chunk of body) {
      if (at + chunk.byteLength > n) throw new RangeError(`Expected a body of ${n} bytes (Content-Length), got more`);
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return at === n ? out : out.slice(0, at);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
