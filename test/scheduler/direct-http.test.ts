import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import type { Socket } from "node:net";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { HttpError, HttpTransportError, IoLane, close } from "@zask/scheduler";
import { startRawServer, startServer } from "./fixtures/server.ts";

// The I/O lane's own HTTP/1.1 client for plain-http GET and HEAD (http/direct-http.ts), against
// servers that answer byte by byte as a test needs: framings, keep-alive, broken answers.

after(() => close());

const text = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString("latin1"));
const fast = { retryDelay: 1 } as const;

describe("the direct HTTP client", () => {
  test("reuses one keep-alive connection for requests in sequence, and reads Content-Length bodies of any size", async () => {
    const big = Buffer.alloc(3 * 2 ** 20 + 7);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
    const server = await startRawServer((socket, head) => {
      const body = head.startsWith("GET /big") ? big : Buffer.from(`you asked ${head.split(" ")[1]}`);
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Test: yes\r\n\r\n`);
      // the body in pieces, so that reads land at different offsets
      socket.write(body.subarray(0, 3));
      setTimeout(() => socket.write(body.subarray(3)), 2);
    });
    try {
      const lane = new IoLane(fast);
      for (const p of ["/a", "/big", "/b?x=1"]) {
        const res = await lane.get(`${server.url}${p}`);
        assert.equal(res.status, 200);
        if (p === "/big") assert.ok(Buffer.from(res.body!).equals(big));
        else assert.equal(text(res.body), `you asked ${p}`);
      }
      assert.equal(server.connections, 1);
      assert.match(server.requests[2]!, /^GET \/b\?x=1 HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nAccept-Encoding: identity$/);
    } finally {
      await server.close();
    }
  });

  test("a request header holding CR or LF is refused (an HttpError from a TypeError naming it and the URL), once, and nothing is sent", async () => {
    const server = await startRawServer((socket) => socket.write("HTTP/1.1 204 No Content\r\n\r\n"));
    try {
      const lane = new IoLane(fast);
      for (const headers of [{ Range: "bytes=0-1\r\nX-Evil: 1" }, { "X-A\nB": "1" }, { "X:Y": "1" }] as Record<string, string>[]) {
        const [name] = Object.keys(headers);
        await assert.rejects(lane.get(`${server.url}/x`, { headers }), (e: unknown) => {
          assert.ok(e instanceof HttpError, String(e));
          assert.equal(e.url, `${server.url}/x`);
          assert.equal(e.status, undefined);
          assert.equal(e.attempts, 1, "not retried");
          assert.ok(e.cause instanceof TypeError, String(e.cause));
          assert.ok(e.cause.message.includes(JSON.stringify(name)), e.cause.message);
          assert.ok(e.cause.message.includes(`${server.url}/x`), e.cause.message);
          return true;
        });
      }
      // refused before a connection is taken, so a refusal is never retried on a reused connection
      assert.equal(server.connections, 0);
      assert.equal(server.requests.length, 0);
      for (let i = 0; i < 2; i++) assert.equal((await lane.get(`${server.url}/ok`, { headers: { Range: "bytes=0-1" } })).status, 204);
      await assert.rejects(lane.get(`${server.url}/x`, { headers: { "X:Y": "1" } }), HttpError);
      assert.equal(server.requests.length, 2);
      assert.equal(server.connections, 1);
    } finally {
      await server.close();
    }
  });

  test("reads chunked bodies (extensions, trailers), bodies that end with the connection, and answers without a body", async () => {
    const server = await startRawServer((socket, head) => {
      const path = head.split(" ")[1];
      if (path === "/chunked") {
        socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n");
        setTimeout(() => socket.write("1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"), 2);
      } else if (path === "/close") {
        socket.end("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
      } else if (path === "/old") {
        socket.end("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold");
      } else if (path === "/empty") {
        socket.write("HTTP/1.1 204 No Content\r\n\r\n");
      } else if (path === "/interim") {
        socket.write("HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      } else {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n");
      }
    });
    try {
      const lane = new IoLane(fast);
      assert.equal(text((await lane.get(`${server.url}/chunked`)).body), "hello 0123456789");
      assert.equal(text((await lane.get(`${server.url}/close`)).body), "until the end");
      assert.equal(text((await lane.get(`${server.url}/old`)).body), "old");
      assert.deepEqual(await lane.get(`${server.url}/empty`), { status: 204, url: `${server.url}/empty`, body: null });
      assert.equal(text((await lane.get(`${server.url}/interim`)).body), "ok");
      const head = await lane.fetch(`${server.url}/head`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), "11");
      assert.equal(await head.text(), "");
      // a connection closed by the answer (close, HTTP/1.0) is not reused
      assert.equal(server.connections, 3);
    } finally {
      await server.close();
    }
  });

  test("a reused connection that the server closed meanwhile is replaced without a retry", async () => {
    // the server closes its first connection when a second request arrives on it, as a server
    // does that closes an idle connection just as the client sends on it
    let first: Socket | undefined;
    const server = await startRawServer((socket, _head, n) => {
      first ??= socket;
      if (n > 1 && socket === first) socket.destroy();
      else socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n${n}!`);
    });
    try {
      const lane = new IoLane(fast);
      assert.equal(text((await lane.get(`${server.url}/1`)).body), "1!");
      assert.equal(text((await lane.get(`${server.url}/2`)).body), "3!");
      assert.equal(server.connections, 2);
      assert.equal(lane.stats.retries, 0);
    } finally {
      await server.close();
    }
  });

  test("a connection that ends mid-body and a stalled answer are retried; a malformed answer fails with the URL", async () => {
    const server = await startRawServer((socket, head, n) => {
      const path = head.split(" ")[1];
      if (path === "/cut" && n === 1) socket.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part");
      else if (path === "/stall" && server.requests.filter((r) => r.includes("/stall")).length === 1)
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
      else if (path === "/garbage") socket.write("SMTP ready\r\n\r\n");
      else socket.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfull");
    });
    try {
      const lane = new IoLane({ ...fast, timeout: 150 });
      assert.equal(text((await lane.get(`${server.url}/cut`)).body), "full");
      assert.equal(text((await lane.get(`${server.url}/stall`)).body), "full");
      assert.equal(lane.stats.retries, 2);
      await assert.rejects(lane.get(`${server.url}/garbage`), (e: unknown) => {
        assert.ok(e instanceof HttpError, String(e));
        assert.equal(e.url, `${server.url}/garbage`);
        assert.ok(e.cause instanceof HttpTransportError);
        assert.equal(e.cause.code, "ZASK_HTTP_PARSE");
        assert.match(e.cause.message, /Not an HTTP\/1\.x status line/);
        return true;
      });
      assert.equal(server.requests.filter((r) => r.includes("/garbage")).length, 1, "a malformed answer is not retried");
    } finally {
      await server.close();
    }
  });

  test("an abort mid-body rejects at once with the signal's reason", async () => {
    const server = await startRawServer((socket) => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nsome"));
    try {
      const ac = new AbortController();
      const lane = new IoLane({ ...fast, signal: ac.signal });
      const pending = lane.get(`${server.url}/slow`);
      setTimeout(() => ac.abort(new Error("stop")), 30);
      const t0 = performance.now();
      await assert.rejects(pending, /stop/);
      assert.ok(performance.now() - t0 < 1000);
    } finally {
      await server.close();
    }
  });

  test("closes an idle connection a second before the server's announced Keep-Alive timeout", async () => {
    let closedAt: number | undefined;
    const server = await startRawServer((socket) => {
      socket.once("close", () => (closedAt = performance.now()));
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=2\r\n\r\nok");
    });
    try {
      await new IoLane(fast).get(`${server.url}/x`);
      const t0 = performance.now();
      while (closedAt === undefined && performance.now() - t0 < 2500) await new Promise((r) => setTimeout(r, 20));
      assert.ok(closedAt !== undefined, "the client closed the idle connection before the server's timeout");
      const after = closedAt - t0;
      assert.ok(after >= 900 && after < 1900, `closed ${after.toFixed(0)} ms after its answer`);
    } finally {
      await server.close();
    }
  });

  test("a script whose last request is done exits on its own (idle connections do not keep it alive)", async () => {
    const server = await startServer((_req, res) => res.end("bye"));
    try {
      const script = `import { IoLane } from "@zask/scheduler"; const r = await new IoLane().get(process.argv[1]); console.log(Buffer.from(r.body).toString());`;
      const t0 = performance.now();
      const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script, `${server.url}/x`], {
        cwd: new URL("../..", import.meta.url).pathname,
        timeout: 10_000,
      });
      assert.equal(stdout.trim(), "bye");
      assert.ok(performance.now() - t0 < 3000, "it did not wait for the idle connection's timeout");
    } finally {
      await server.close();
    }
  });
});
