// A real static file server for tests: node:http on 127.0.0.1 over a fixtures folder,
// recording each request's path and answer; chosen paths can be made to fail with a 500.
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import path from "node:path";

/** A static file server over `root` on 127.0.0.1, counting requests; `fail` paths answer 500. */
export interface FixtureServer {
  readonly url: string;
  readonly requests: string[];
  /** Each answered request's path and status, in the order answered. */
  readonly answers: { path: string; status: number }[];
  readonly fail: Set<string>;
  close(): Promise<void>;
}

/** Options of {@link serveFixtures}. */
export interface ServeFixturesOptions {
  /** Map a request path to the file path under `root` to serve. @default the path itself */
  readonly resolve?: (requestPath: string) => string;
  /** Answer 500 for these request paths (besides the `fail` set). */
  readonly failWhen?: (requestPath: string) => boolean;
}

export async function serveFixtures(root: string, options: ServeFixturesOptions = {}): Promise<FixtureServer> {
  const requests: string[] = [];
  const answers: { path: string; status: number }[] = [];
  const fail = new Set<string>();
  const server: Server = createServer(async (req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    requests.push(p);
    res.on("finish", () => answers.push({ path: p, status: res.statusCode }));
    if (fail.has(p) || options.failWhen?.(p) === true) {
      res.writeHead(500).end("boom");
      return;
    }
    const file = path.join(root, path.normalize(options.resolve?.(p) ?? p));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-length": body.length }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answers,
    fail,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
