// A real static file server for tests that honors Range (`bytes=a-b`, `bytes=a-`, `bytes=-n`)
// on node:http over a folder, counting requests, body bytes sent and requests in flight.
import { rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { after, before } from "node:test";

/** One request the server answered. */
export interface RangeLogEntry {
  readonly path: string;
  /** The Range header, if any. */
  readonly range: string | undefined;
  readonly status: number;
  /** Body bytes sent. */
  readonly bytes: number;
}

export interface RangeServer {
  readonly url: string;
  readonly log: RangeLogEntry[];
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Requests and body bytes so far (`log` summed). */
  totals(): { requests: number; bytes: number };
  reset(): void;
  close(): Promise<void>;
}

export interface RangeServerOptions {
  /** Milliseconds to wait before answering each request. @default 0 */
  readonly delay?: number;
  /** Ignore Range headers (answer 200 with the whole file), as some servers do. @default false */
  readonly ignoreRange?: boolean;
}

export async function serveRanges(root: string, options: RangeServerOptions = {}): Promise<RangeServer> {
  const log: RangeLogEntry[] = [];
  const state = { inFlight: 0, maxInFlight: 0 };
  const server: Server = createServer(async (req, res) => {
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    const p = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const range = req.headers.range;
    const answer = (status: number, headers: Record<string, string | number>, body?: Uint8Array): void => {
      log.push({ path: p, range, status, bytes: body?.byteLength ?? 0 });
      state.inFlight--;
      res.writeHead(status, headers).end(body);
    };
    if (options.delay) await new Promise((r) => setTimeout(r, options.delay));
    const file = path.join(root, path.normalize(p));
    if (!file.startsWith(root)) return answer(403, {});
    let data: Uint8Array;
    try {
      data = await readFile(file);
    } catch {
      return answer(404, { "content-length": 0 });
    }
    if (range === undefined || options.ignoreRange) return answer(200, { "content-length": data.byteLength }, data);
    const m = /^bytes=(\d*)-(\d*)$/.exec(range);
    if (m === null || (m[1] === "" && m[2] === "")) return answer(416, { "content-range": `bytes */${data.byteLength}` });
    let start: number;
    let end: number;
    if (m[1] === "") {
      start = Math.max(0, data.byteLength - Number(m[2]));
      end = data.byteLength - 1;
    } else {
      start = Number(m[1]);
      end = m[2] === "" ? data.byteLength - 1 : Math.min(Number(m[2]), data.byteLength - 1);
    }
    if (start >= data.byteLength || end < start) return answer(416, { "content-range": `bytes */${data.byteLength}` });
    const body = data.subarray(start, end + 1);
    answer(206, { "content-length": body.byteLength, "content-range": `bytes ${start}-${end}/${data.byteLength}` }, body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    get inFlight() {
      return state.inFlight;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    totals: () => ({ requests: log.length, bytes: log.reduce((a, e) => a + e.bytes, 0) }),
    reset: () => {
      log.length = 0;
      state.maxInFlight = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Serve `root` for the tests of the calling file: the server starts before them, and after them
 * it closes and `root` is removed. The returned server forwards to the one started.
 */
export function serveRangesDuringTests(root: string, options: RangeServerOptions = {}): RangeServer {
  let server: RangeServer | undefined;
  before(async () => {
    server = await serveRanges(root, options);
  });
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });
  const started = (): RangeServer => {
    if (server === undefined) throw new Error("Expected the range server to be started: use it inside a test");
    return server;
  };
  return {
    get url() {
      return started().url;
    },
    get log() {
      return started().log;
    },
    get inFlight() {
      return started().inFlight;
    },
    get maxInFlight() {
      return started().maxInFlight;
    },
    totals: () => started().totals(),
    reset: () => started().reset(),
    close: () => started().close(),
  };
}
