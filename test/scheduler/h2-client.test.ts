import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createH2Server, createSecureServer, type Http2Server, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { Graph, Task, op } from "@zask/graph";
import { HttpError, HttpTransportError, IoLane, close, compute } from "@zask/scheduler";
import { startServer } from "./fixtures/server.ts";

const getBytes = op(new URL("./fixtures/ops.js", import.meta.url).href, "getBytes", { lane: "io" });
const fast = { retryDelay: 1, progress: false, http2: true } as const;

after(() => close());

interface H2Server {
  readonly url: string;
  sessions: number;
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

/** An h2c server (prior knowledge) calling `answer` for each stream, counting sessions and streams in flight. */
async function startH2(answer: (stream: ServerHttp2Stream, path: string) => void, maxConcurrentStreams = 100): Promise<H2Server> {
  const server: Http2Server = createH2Server({ settings: { maxConcurrentStreams } });
  const state = { sessions: 0, inFlight: 0, maxInFlight: 0 };
  const open = new Set<import("node:http2").ServerHttp2Session>();
  server.on("session", (session) => {
    state.sessions++;
    open.add(session);
    session.on("close", () => open.delete(session));
  });
  server.on("stream", (stream, headers) => {
    state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight);
    stream.on("close", () => state.inFlight--);
    stream.on("error", () => {});
    answer(stream, String(headers[":path"]));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const session of open) session.destroy();
      }),
  }) as H2Server;
}

function reply(stream: ServerHttp2Stream, headers: Record<string, string | number>, body: string | Buffer): void {
  stream.respond(headers);
  stream.end(body);
}

function graphOf(urls: string[]): { graph: Graph; keys: string[] } {
  const keys = urls.map((_, i) => `get-${i}`);
  return {
    graph: Graph.fromNodes(
      "get",
      urls.map((u, i) => new Task(keys[i]!, getBytes, [u])),
    ),
    keys,
  };
}

describe("HTTP/2 (h2c with prior knowledge)", () => {
  test("multiplexes requests on one connection up to the server's SETTINGS_MAX_CONCURRENT_STREAMS, past httpConcurrency", async () => {
    const server = await startH2((stream, path) => setTimeout(() => reply(stream, { ":status": 200 }, `${path}\n`), 30), 12);
    try {
      const urls = Array.from({ length: 60 }, (_, i) => `${server.url}/c/${i}`);
      const { graph, keys } = graphOf(urls);
      const values = (await compute(graph, keys, { ...fast, httpConcurrency: 4 })) as Uint8Array[];
      assert.deepEqual(
        values.map((b) => new TextDecoder().decode(b)),
        urls.map((u) => `${new URL(u).pathname}\n`),
      );
      assert.equal(server.sessions, 1, "one connection");
      assert.equal(server.maxInFlight, 12, "streams in flight at once");
    } finally {
      await server.close();
    }
  });

  test("decodes a gzip body and retries a 503", async () => {
    let n = 0;
    const server = await startH2((stream) => {
      if (++n === 1) stream.respond({ ":status": 503 }, { endStream: true });
      else reply(stream, { ":status": 200, "content-encoding": "gzip" }, gzipSync(Buffer.from("hello\n")));
    });
    const lane = new IoLane({ http2: true, retryDelay: 1 });
    try {
      const res = await lane.get(`${server.url}/x`);
      assert.equal(res.status, 200);
      assert.equal(new TextDecoder().decode(res.body!), "hello\n");
      assert.equal(lane.stats.retries, 1);
    } finally {
      await server.close();
    }
  });

  test("a body past maxBytes fails with a typed error naming the URL, announced or not", async () => {
    const server = await startH2((stream, path) => {
      if (path === "/announced") reply(stream, { ":status": 200, "content-length": "5000" }, Buffer.alloc(5000));
      else reply(stream, { ":status": 200 }, Buffer.alloc(5000));
    });
    const lane = new IoLane({ http2: true, retries: 0 });
    try {
      for (const path of ["/announced", "/streamed"]) {
        const e = await lane.get(`${server.url}${path}`, { maxBytes: 1000 }).then(
          () => undefined,
          (x: unknown) => x,
        );
        assert.ok(e instanceof HttpError, String(e));
        assert.equal(e.url, `${server.url}${path}`);
        assert.ok(e.cause instanceof HttpTransportError);
        assert.equal(e.cause.code, "ZASK_HTTP_TOO_LARGE");
        assert.equal(e.cause.limit, 1000);
      }
    } finally {
      await server.close();
    }
  });

  test("a stream that trickles its body fails at its deadline, and the session serves the next request", async () => {
    const timers = new Set<NodeJS.Timeout>();
    const server = await startH2((stream, path) => {
      if (path !== "/slow") return reply(stream, { ":status": 200 }, "ok");
      stream.respond({ ":status": 200 });
      const t = setInterval(() => (stream.destroyed ? clearInterval(t) : stream.write("x")), 20);
      timers.add(t);
    });
    const lane = new IoLane({ http2: true, retries: 0, deadline: 250, timeout: 1000 });
    try {
      const t0 = performance.now();
      const e = await lane.get(`${server.url}/slow`).then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(e instanceof HttpError && e.cause instanceof HttpTransportError, String(e));
      assert.equal((e.cause as HttpTransportError).code, "ZASK_HTTP_DEADLINE");
      assert.ok(performance.now() - t0 < 1000);
      assert.equal(new TextDecoder().decode((await lane.get(`${server.url}/fast`)).body!), "ok");
      assert.equal(server.sessions, 1);
    } finally {
      for (const t of timers) clearInterval(t);
      await server.close();
    }
  });

  test("a stream silent past the gap timeout fails with a timeout, one whose pieces keep coming does not", async () => {
    const timers = new Set<NodeJS.Timeout>();
    const server = await startH2((stream, path) => {
      stream.respond({ ":status": 200 });
      if (path === "/silent") return;
      // a piece every 40 ms, under the 150 ms gap timeout, for 400 ms in all
      let n = 0;
      const t = setInterval(() => {
        if (stream.destroyed) return clearInterval(t);
        if (++n === 10) {
          clearInterval(t);
          stream.end("x");
        } else stream.write("x");
      }, 40);
      timers.add(t);
    });
    const lane = new IoLane({ http2: true, retries: 0, timeout: 150, deadline: 5000 });
    try {
      const t0 = performance.now();
      const e = await lane.get(`${server.url}/silent`).then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(e instanceof HttpError && e.cause instanceof HttpTransportError, String(e));
      assert.equal((e.cause as HttpTransportError).code, "ZASK_HTTP_TIMEOUT");
      const waited = performance.now() - t0;
      assert.ok(waited >= 140 && waited < 1000, `failed after ${waited.toFixed(0)} ms`);
      assert.equal(new TextDecoder().decode((await lane.get(`${server.url}/trickle`)).body!), "xxxxxxxxxx");
    } finally {
      for (const t of timers) clearInterval(t);
      await server.close();
    }
  });

  test("an origin that answers in HTTP/1.1 only is sent HTTP/1.1", async () => {
    const server = await startServer((_req, res) => res.end("h1\n"));
    const lane = new IoLane({ http2: true, retries: 0 });
    try {
      const res = await lane.get(`${server.url}/x`);
      assert.equal(new TextDecoder().decode(res.body!), "h1\n");
      assert.equal(new TextDecoder().decode((await lane.get(`${server.url}/y`)).body!), "h1\n");
    } finally {
      await server.close();
    }
  });

  test("an aborted compute cancels its streams", async () => {
    const server = await startH2(() => {});
    const controller = new AbortController();
    try {
      const { graph, keys } = graphOf(Array.from({ length: 5 }, (_, i) => `${server.url}/hang/${i}`));
      const run = compute(graph, keys, { ...fast, signal: controller.signal });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(server.inFlight, 5);
      controller.abort(new Error("stop"));
      await assert.rejects(run, /stop/);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(server.inFlight, 0, "the streams were reset");
    } finally {
      await server.close();
    }
  });
});

describe("HTTP/2 over https (ALPN)", () => {
  // a self-signed certificate for 127.0.0.1, made by openssl at test time; the client runs in a
  // child process that trusts it (NODE_EXTRA_CA_CERTS is read when a process starts)
  const openssl = spawnSync("openssl", ["version"]).status === 0;
  let dir: string;
  let key: Buffer;
  let cert: Buffer;
  before(async () => {
    if (!openssl) return;
    dir = await mkdtemp(join(tmpdir(), "zask-tls-"));
    const made = spawnSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"].concat([
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ]),
      { stdio: "ignore" },
    );
    assert.equal(made.status, 0, "openssl made a certificate");
    key = await readFile(join(dir, "key.pem"));
    cert = await readFile(join(dir, "cert.pem"));
  });
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** GET each of `paths` through an IoLane with `http2` in a child process trusting the certificate; the bodies, in order. */
  async function getInChild(url: string, paths: string[]): Promise<string[]> {
    const script = `import { IoLane } from "@zask/scheduler";
      const lane = new IoLane({ http2: true, retries: 0 });
      const out = await Promise.all(${JSON.stringify(paths)}.map(async (p) => Buffer.from((await lane.get(process.argv[1] + p)).body).toString()));
      console.log(JSON.stringify(out));`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script, url], {
      cwd: new URL("../..", import.meta.url).pathname,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, "cert.pem") },
      timeout: 20_000,
    });
    return JSON.parse(stdout) as string[];
  }

  test("a server that picks h2 by ALPN gets every request as a stream of one connection", { skip: !openssl && "no openssl" }, async () => {
    const server = createSecureServer({ key, cert, allowHTTP1: true });
    const open = new Set<import("node:http2").ServerHttp2Session>();
    let sessions = 0;
    const versions: string[] = [];
    server.on("session", (session) => {
      sessions++;
      open.add(session);
    });
    server.on("request", (req, res) => {
      versions.push(req.httpVersion);
      res.end(`h${req.httpVersion} ${req.url}`);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      assert.deepEqual(await getInChild(url, ["/a", "/b", "/c"]), ["h2.0 /a", "h2.0 /b", "h2.0 /c"]);
      assert.deepEqual(versions, ["2.0", "2.0", "2.0"]);
      assert.equal(sessions, 1);
    } finally {
      for (const session of open) session.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  test("a server that picks http/1.1 by ALPN is sent HTTP/1.1", { skip: !openssl && "no openssl" }, async () => {
    const server = createHttpsServer({ key, cert }, (req, res) => res.end(`h${req.httpVersion} ${req.url}`));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      assert.deepEqual(await getInChild(url, ["/a", "/b"]), ["h1.1 /a", "h1.1 /b"]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
