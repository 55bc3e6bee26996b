import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { getEventListeners } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, describe, test } from "node:test";
import { Graph, Task, op } from "@zask/graph";
import { HttpError, IoLane, TaskError, close, compute } from "@zask/scheduler";
import { startServer } from "./fixtures/server.ts";

const ops = new URL("./fixtures/ops.js", import.meta.url).href;
const fetchBytes = op(ops, "fetchBytes", { lane: "io" });
const getBytes = op(ops, "getBytes", { lane: "io" });
const fast = { retryDelay: 1, progress: false } as const;

after(() => close());

function fetchGraph(urls: string[]): { graph: Graph; keys: string[] } {
  const keys = urls.map((_, i) => `get-${i}`);
  return {
    graph: Graph.fromNodes(
      "get",
      urls.map((u, i) => new Task(keys[i]!, fetchBytes, [u])),
    ),
    keys,
  };
}

describe("the I/O lane", () => {
  test("never has more than httpConcurrency requests in flight to one origin, as counted by the server", async () => {
    const server = await startServer((_req, res) => setTimeout(() => res.end("1\n"), 15));
    try {
      const { graph, keys } = fetchGraph(Array.from({ length: 40 }, (_, i) => `${server.url}/c/${i}`));
      const values = await compute(graph, keys, { httpConcurrency: 3, ...fast });
      assert.equal(values.length, 40);
      assert.equal(server.maxInFlight, 3);
      assert.equal(
        [...server.hits.values()].reduce((a, b) => a + b, 0),
        40,
      );
    } finally {
      await server.close();
    }
  });

  test("sends an origin whose answers close their connections at most 4 requests at once, and its full bound again once it keeps them", async () => {
    let keep = false;
    const server = await startServer((_req, res) => {
      if (!keep) res.setHeader("Connection", "close");
      setTimeout(() => res.end("1\n"), 10);
    });
    try {
      // the first answer tells that the origin closes its connections
      await compute(fetchGraph([`${server.url}/first`]).graph, ["get-0"], { httpConcurrency: 16, ...fast });
      server.maxInFlight = 0;
      const closing = fetchGraph(Array.from({ length: 40 }, (_, i) => `${server.url}/close/${i}`));
      assert.equal((await compute(closing.graph, closing.keys, { httpConcurrency: 16, ...fast })).length, 40);
      assert.equal(server.maxInFlight, 4, "the bound for origins that close their connections");
      keep = true;
      await compute(fetchGraph([`${server.url}/kept`]).graph, ["get-0"], { httpConcurrency: 16, ...fast });
      server.maxInFlight = 0;
      const kept = fetchGraph(Array.from({ length: 40 }, (_, i) => `${server.url}/keep/${i}`));
      assert.equal((await compute(kept.graph, kept.keys, { httpConcurrency: 16, ...fast })).length, 40);
      assert.equal(server.maxInFlight, 16);
    } finally {
      await server.close();
    }
  });

  test("keeps the bound for origins that close their connections when http2 falls back to HTTP/1.1", async () => {
    // a Node http server speaks no h2c: the HTTP/2 attempt falls back to HTTP/1.1
    const server = await startServer((_req, res) => {
      res.setHeader("Connection", "close");
      setTimeout(() => res.end("1\n"), 10);
    });
    try {
      const opts = { httpConcurrency: 16, http2: true, ...fast };
      await compute(fetchGraph([`${server.url}/first`]).graph, ["get-0"], opts);
      server.maxInFlight = 0;
      const closing = fetchGraph(Array.from({ length: 40 }, (_, i) => `${server.url}/close/${i}`));
      assert.equal((await compute(closing.graph, closing.keys, opts)).length, 40);
      assert.equal(server.maxInFlight, 4, "the bound for origins that close their connections");
    } finally {
      await server.close();
    }
  });

  test("bounds the requests to an origin across concurrent computes, not per compute", async () => {
    const server = await startServer((_req, res) => setTimeout(() => res.end("1\n"), 10));
    try {
      const runs = Array.from({ length: 8 }, (_, k) => {
        const { graph, keys } = fetchGraph(Array.from({ length: 6 }, (_, i) => `${server.url}/c/${k}/${i}`));
        return compute(graph, keys, { httpConcurrency: 4, ...fast });
      });
      assert.equal((await Promise.all(runs)).flat().length, 48);
      assert.equal(server.maxInFlight, 4);
    } finally {
      await server.close();
    }
  });

  test("shares an origin's slots between computes in turn: a one-request compute waits for one slot, not for a big one", async () => {
    const order: string[] = [];
    const server = await startServer((req, res) => {
      order.push(req.url!);
      setTimeout(() => res.end("1\n"), 5);
    });
    try {
      const big = fetchGraph(Array.from({ length: 40 }, (_, i) => `${server.url}/big/${i}`));
      const first = compute(big.graph, big.keys, { httpConcurrency: 2, ...fast });
      await new Promise((r) => setTimeout(r, 12));
      const small = fetchGraph([`${server.url}/small`]);
      await compute(small.graph, small.keys, { httpConcurrency: 2, ...fast });
      await first;
      const at = order.indexOf("/small");
      assert.ok(at >= 0 && at < 10, `the small compute's request went out ${at + 1}th of ${order.length}`);
      assert.equal(server.maxInFlight, 2);
    } finally {
      await server.close();
    }
  });

  test("2,000 concurrent computes hold no more sockets than httpConcurrency and all succeed under `ulimit -n 1024`", async () => {
    let open = 0;
    let maxOpen = 0;
    let accepted = 0;
    const server: Server = createServer((req, res) => setTimeout(() => res.end(`${req.url!.split("/").pop()}\n`), 2));
    server.on("connection", (socket) => {
      accepted++;
      maxOpen = Math.max(maxOpen, ++open);
      socket.on("close", () => open--);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const script = fileURLToPath(new URL("./fixtures/many-computes.mjs", import.meta.url));
      const { stdout } = await promisify(execFile)("bash", ["-c", `ulimit -n 1024 && exec "${process.execPath}" "${script}" ${url} 2000 16`], {
        timeout: 60_000,
        killSignal: "SIGKILL",
      });
      const out = JSON.parse(stdout) as { ok: number; failed: number; firstError?: string };
      assert.deepEqual(out, { ok: 2000, failed: 0 });
      assert.ok(maxOpen <= 16, `at most 16 sockets open at once, got ${maxOpen}`);
      assert.ok(accepted <= 32, `idle connections are reused: ${accepted} connections for 2,000 requests`);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test("retries 503, 429 and reset connections, then returns the body", async () => {
    const server = await startServer((req, res, n) => {
      if (req.url === "/503" && n <= 2) res.writeHead(503).end();
      else if (req.url === "/429" && n === 1) res.writeHead(429).end();
      else if (req.url === "/reset" && n === 1) req.socket.destroy();
      else res.end("7\n");
    });
    try {
      const { graph, keys } = fetchGraph(["/503", "/429", "/reset"].map((p) => server.url + p));
      const values = (await compute(graph, keys, fast)) as Uint8Array[];
      assert.deepEqual(
        values.map((v) => new TextDecoder().decode(v)),
        ["7\n", "7\n", "7\n"],
      );
      assert.equal(server.hits.get("/503"), 3);
      assert.equal(server.hits.get("/429"), 2);
      assert.equal(server.hits.get("/reset"), 2);
    } finally {
      await server.close();
    }
  });

  test("gives up after `retries` retries with an HttpError carrying the URL and status", async () => {
    const server = await startServer((_req, res) => res.writeHead(500).end());
    try {
      const { graph, keys } = fetchGraph([`${server.url}/down`]);
      await assert.rejects(compute(graph, keys, { retries: 2, ...fast }), (e: unknown) => {
        assert.ok(e instanceof TaskError);
        assert.equal(e.key, "get-0");
        assert.ok(e.cause instanceof HttpError);
        assert.equal(e.cause.url, `${server.url}/down`);
        assert.equal(e.cause.status, 500);
        assert.equal(e.cause.attempts, 3);
        return true;
      });
      assert.equal(server.hits.get("/down"), 3);
    } finally {
      await server.close();
    }
  });

  test("does not retry 4xx: a 404 goes to the op (which returns its fill), a 403 fails once", async () => {
    const server = await startServer((req, res) => res.writeHead(req.url === "/missing" ? 404 : 403).end());
    try {
      const missing = fetchGraph([`${server.url}/missing`]);
      assert.deepEqual(await compute(missing.graph, missing.keys, fast), [null]);
      assert.equal(server.hits.get("/missing"), 1);
      const forbidden = fetchGraph([`${server.url}/forbidden`]);
      await assert.rejects(
        compute(forbidden.graph, forbidden.keys, fast),
        (e: unknown) => e instanceof TaskError && /HTTP 403/.test(String((e.cause as Error).message)),
      );
      assert.equal(server.hits.get("/forbidden"), 1);
    } finally {
      await server.close();
    }
  });

  test("retries an attempt that times out", async () => {
    const server = await startServer((_req, res, n) => {
      if (n === 1) return; // never answers the first attempt
      res.end("ok");
    });
    try {
      const lane = new IoLane({ timeout: 100, retryDelay: 1 });
      const res = await lane.fetch(`${server.url}/slow`);
      assert.equal(await res.text(), "ok");
      assert.equal(server.hits.get("/slow"), 2);
      assert.equal(lane.stats.retries, 1);
    } finally {
      await server.close();
    }
  });

  test("get returns the status and the body's bytes through the same bound, and no body for a 404", async () => {
    const server = await startServer((req, res) => {
      if (req.url === "/missing") res.writeHead(404).end("not here");
      else setTimeout(() => res.end(`body of ${req.url}`), 10);
    });
    try {
      const lane = new IoLane({ httpConcurrency: 2, retryDelay: 1 });
      const all = await Promise.all(Array.from({ length: 6 }, (_, i) => lane.get(`${server.url}/x/${i}`)));
      assert.deepEqual(
        all.map((r) => [r.status, new TextDecoder().decode(r.body!)]),
        Array.from({ length: 6 }, (_, i) => [200, `body of /x/${i}`]),
      );
      assert.equal(all[0]!.url, `${server.url}/x/0`);
      assert.equal(server.maxInFlight, 2);
      assert.deepEqual(await lane.get(`${server.url}/missing`), { status: 404, url: `${server.url}/missing`, body: null });
    } finally {
      await server.close();
    }
  });

  test("a request aborted while it waits for a slot rejects at once and gives its place in the queue to the next", async () => {
    const held: (() => void)[] = [];
    const server = await startServer((_req, res) => held.push(() => res.end("1\n")));
    try {
      const lane = new IoLane({ httpConcurrency: 1, retryDelay: 1 });
      const first = lane.get(`${server.url}/first`);
      const waiting = new AbortController();
      const aborted = lane.get(`${server.url}/aborted`, { signal: waiting.signal });
      const next = lane.get(`${server.url}/next`);
      while (held.length === 0) await new Promise((r) => setTimeout(r, 2));
      waiting.abort(new Error("not wanted any more"));
      // the first request still holds the only slot
      const outcome = await Promise.race([
        aborted.then(
          () => "resolved",
          (e: Error) => e.message,
        ),
        new Promise((r) => setTimeout(() => r("still waiting"), 300)),
      ]);
      assert.equal(outcome, "not wanted any more");
      held.shift()!();
      await first;
      while (held.length === 0) await new Promise((r) => setTimeout(r, 2));
      held.shift()!();
      assert.equal((await next).status, 200);
      assert.deepEqual([...server.hits.keys()], ["/first", "/next"]);
    } finally {
      await server.close();
    }
  });

  test("lanes made under one long-lived signal add no listener to it, and still abort with it", async () => {
    const controller = new AbortController();
    const lanes = Array.from({ length: 20 }, () => new IoLane({ signal: controller.signal }));
    assert.equal(getEventListeners(controller.signal, "abort").length, 0);
    controller.abort(new Error("stop"));
    for (const lane of lanes) assert.equal(lane.signal.aborted, true);
    await assert.rejects(lanes[0]!.get("http://127.0.0.1:9/x"), /stop/);
  });

  test("follows redirects (at most 5, 303 as a GET) and reads bodies sent without a Content-Length", async () => {
    const server = await startServer((req, res) => {
      const url = new URL(req.url!, "http://x");
      if (url.pathname === "/moved") res.writeHead(302, { location: "/chunked?from=moved" }).end();
      else if (url.pathname === "/see-other") res.writeHead(303, { location: `/echo` }).end();
      else if (url.pathname === "/loop") res.writeHead(307, { location: "/loop" }).end();
      else if (url.pathname === "/echo") res.end(`${req.method} ${req.url}`);
      else if (url.pathname === "/chunked") {
        // no Content-Length: written in pieces, sent chunked
        res.write(`chunked ${url.search} `);
        setTimeout(() => res.end("x".repeat(70_000)), 5);
      } else res.writeHead(404).end();
    });
    try {
      const lane = new IoLane({ httpConcurrency: 2, retryDelay: 1 });
      const moved = await lane.get(`${server.url}/moved`);
      assert.equal(moved.status, 200);
      assert.equal(new TextDecoder().decode(moved.body!), `chunked ?from=moved ${"x".repeat(70_000)}`);
      const posted = await lane.fetch(`${server.url}/see-other`, { method: "POST", body: "payload" });
      assert.equal(await posted.text(), "GET /echo");
      const loop = await lane.get(`${server.url}/loop`);
      assert.equal(loop.status, 307);
      assert.equal(server.hits.get("/loop"), 6); // the request and 5 redirects followed
    } finally {
      await server.close();
    }
  });

  test("a compute of many requests under the caller's signal raises no MaxListenersExceededWarning", async () => {
    const server = await startServer((_req, res) => setTimeout(() => res.end("1\n"), 2));
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on("warning", onWarning);
    try {
      const urls = Array.from({ length: 100 }, (_, i) => `${server.url}/c/${i}`);
      const graph = Graph.fromNodes(
        "get",
        urls.map((u, i) => new Task(`get-${i}`, getBytes, [u])),
      );
      const values = await compute(
        graph,
        urls.map((_, i) => `get-${i}`),
        { signal: new AbortController().signal, ...fast },
      );
      assert.equal(values.length, 100);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.filter((w) => w.name === "MaxListenersExceededWarning").map((w) => w.message),
        [],
      );
    } finally {
      process.off("warning", onWarning);
      await server.close();
    }
  });

  test("backs off exponentially between attempts", async () => {
    const times: number[] = [];
    const server = await startServer((_req, res) => {
      times.push(performance.now());
      res.writeHead(503).end();
    });
    try {
      const lane = new IoLane({ retries: 3, retryDelay: 40 });
      await assert.rejects(lane.fetch(`${server.url}/x`), HttpError);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      // waits are jittered within [d/2, d] for d = 40, 80, 160 ms
      assert.equal(gaps.length, 3);
      assert.ok(gaps[0]! >= 20 - 2 && gaps[1]! >= 40 - 2 && gaps[2]! >= 80 - 2, `gaps ${gaps.join(", ")}`);
    } finally {
      await server.close();
    }
  });
});
