import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { HttpError, HttpTransportError, IoLane, close } from "@zask/scheduler";
import { startHostileServer, type HostileServer, type Misbehaviour } from "../helpers/hostile-server.ts";
import { startRawServer } from "./fixtures/server.ts";

// The I/O lane against servers that compress unasked, never end a body, trickle, or are not
// there at all: each case is the stored bytes or a typed error naming the URL and the limit.

let root: string;
const stored = Buffer.alloc(200_000);
for (let i = 0; i < stored.length; i++) stored[i] = (i * 31) % 251;
const rules = new Map<string, Misbehaviour>();
let server: HostileServer;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), "zask-hostile-"));
  await writeFile(path.join(root, "data.bin"), stored);
  server = await startHostileServer(root, (p) => rules.get(p));
});
after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
  await close();
});

const fast = { retries: 0, retryDelay: 1 } as const;

/** The HttpError `promise` rejects with, after checking it names `url`. */
async function failure(promise: Promise<unknown>, url: string): Promise<HttpError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail("expected a failure"),
    (e: unknown) => (caught = e),
  );
  assert.ok(caught instanceof HttpError, String(caught));
  assert.equal(caught.url, url);
  assert.ok(caught.message.includes(url), caught.message);
  return caught;
}

describe("Content-Encoding", () => {
  test("the lane asks for bodies as stored (Accept-Encoding: identity)", async () => {
    const res = await new IoLane(fast).get(`${server.url}/data.bin`);
    assert.ok(Buffer.from(res.body!).equals(stored));
    assert.match(server.requests.at(-1)!, /\r\nAccept-Encoding: identity(\r\n|$)/);
  });

  for (const encoding of ["gzip", "deflate", "br"] as const) {
    test(`a body a server sends ${encoding}-encoded anyway reads as the stored bytes`, async () => {
      const dir = path.join(root, `enc-${encoding}`);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, "data.bin"), stored);
      rules.set(`/enc-${encoding}/data.bin`, { kind: "encode", encoding });
      const got = await new IoLane(fast).get(`${server.url}/enc-${encoding}/data.bin`);
      assert.equal(got.status, 200);
      assert.equal(got.body!.byteLength, stored.length);
      assert.ok(Buffer.from(got.body!).equals(stored));
      assert.equal(got.body!.byteOffset, 0);
      assert.equal(got.body!.buffer.byteLength, stored.length, "the body spans its own buffer");
    });
  }

  test("a Content-Encoding zask does not decode fails with an HttpError naming it and the URL", async () => {
    await writeFile(path.join(root, "zstd.bin"), stored);
    rules.set("/zstd.bin", { kind: "encode", encoding: "zstd" });
    const url = `${server.url}/zstd.bin`;
    const e = await failure(new IoLane(fast).get(url), url);
    assert.equal(e.failure, "encoding");
    assert.ok(e.cause instanceof HttpTransportError && e.cause.code === "ZASK_HTTP_ENCODING", String(e.cause));
    assert.match(e.message, /"zstd"/);
  });

  test("a gzip body that inflates past the request's maxBytes fails instead of growing (decompression bomb)", async () => {
    rules.set("/bomb", { kind: "bomb", bytes: 64 * 2 ** 20 });
    const url = `${server.url}/bomb`;
    const e = await failure(new IoLane(fast).get(url, { maxBytes: 2 ** 20 }), url);
    assert.equal(e.failure, "too-large");
    assert.ok(e.cause instanceof HttpTransportError);
    assert.equal(e.cause.limit, 2 ** 20);
    assert.match(e.message, /1048576 bytes/);
  });
});

describe("bodies and deadlines", () => {
  for (const framing of ["chunked", "close"] as const) {
    test(`a ${framing === "chunked" ? "chunked" : "close-delimited"} body that never ends fails at the request's maxBytes, naming the URL and the limit`, async () => {
      rules.set(`/endless-${framing}`, { kind: "endless", framing });
      const url = `${server.url}/endless-${framing}`;
      const t0 = Date.now();
      const e = await failure(new IoLane(fast).get(url, { maxBytes: 2 ** 20 }), url);
      assert.equal(e.failure, "too-large");
      assert.ok(e.cause instanceof HttpTransportError && e.cause.code === "ZASK_HTTP_TOO_LARGE", String(e.cause));
      assert.equal(e.cause.limit, 2 ** 20);
      assert.equal(e.cause.url, url);
      assert.ok(Date.now() - t0 < 5_000);
    });
  }

  test("a body never ending fails at the lane's default maxBytes when the request sets none", async () => {
    rules.set("/endless-default", { kind: "endless", framing: "chunked" });
    const url = `${server.url}/endless-default`;
    const e = await failure(new IoLane({ ...fast, maxBytes: 3 * 2 ** 20 }).get(url), url);
    assert.equal(e.failure, "too-large");
    assert.equal((e.cause as HttpTransportError).limit, 3 * 2 ** 20);
  });

  test("a Content-Length above maxBytes fails before the body is read", async () => {
    rules.set("/huge", { kind: "length", length: 2 ** 40 });
    const url = `${server.url}/huge`;
    const e = await failure(new IoLane(fast).get(url, { maxBytes: 2 ** 20 }), url);
    assert.equal(e.failure, "too-large");
  });

  test("an answer that trickles a byte at a time fails at the request's deadline though no gap reaches the timeout", async () => {
    rules.set("/trickle", { kind: "trickle" });
    const url = `${server.url}/trickle`;
    const t0 = Date.now();
    const e = await failure(new IoLane({ ...fast, timeout: 5_000, deadline: 300 }).get(url), url);
    const took = Date.now() - t0;
    assert.equal(e.failure, "timeout");
    assert.ok(e.cause instanceof HttpTransportError && e.cause.code === "ZASK_HTTP_DEADLINE", String(e.cause));
    assert.equal(e.cause.limit, 300);
    assert.ok(took >= 250 && took < 3_000, `${took} ms`);
  });

  test("a missed deadline is retried like a timeout", async () => {
    rules.set("/stall", { kind: "stall" });
    const url = `${server.url}/stall`;
    const e = await failure(new IoLane({ retries: 2, retryDelay: 1, timeout: 5_000, deadline: 150 }).get(url), url);
    assert.equal(e.attempts, 3);
    assert.equal(e.failure, "timeout");
  });
});

test("a deadline missed on a reused keep-alive connection is not silently tried again on a new one", async () => {
  rules.set("/stall-reused", { kind: "stall" });
  const lane = new IoLane({ retries: 0, retryDelay: 1, timeout: 5_000, deadline: 300 });
  await lane.get(`${server.url}/data.bin`);
  const before = server.requests.length;
  const t0 = Date.now();
  await failure(lane.get(`${server.url}/stall-reused`), `${server.url}/stall-reused`);
  assert.ok(Date.now() - t0 < 550, `${Date.now() - t0} ms`);
  assert.equal(server.requests.length - before, 1);
});

test("through undici (a POST), a compressed answer is decoded, identity asked for, and an endless body capped", async () => {
  const dir = path.join(root, "enc-post");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "data.bin"), stored);
  rules.set("/enc-post/data.bin", { kind: "encode", encoding: "br" });
  const lane = new IoLane({ ...fast, maxBytes: 2 ** 20 });
  const res = await lane.fetch(`${server.url}/enc-post/data.bin`, { method: "POST", body: "x" });
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(stored));
  assert.equal(res.headers.get("content-encoding"), null, "the body is no longer encoded");
  assert.match(server.requests.at(-1)!, /^POST [\s\S]*\r\naccept-encoding: identity(\r\n|$)/i);
  rules.set("/endless-post", { kind: "endless", framing: "chunked" });
  const url = `${server.url}/endless-post`;
  const e = await failure(lane.fetch(url, { method: "POST", body: "x" }), url);
  assert.equal(e.failure, "too-large");
});

describe("network failures say which", () => {
  test("a refused connection says so, with the URL and the cause", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/x`;
    const e = await failure(new IoLane(fast).get(url), url);
    assert.equal(e.failure, "refused");
    assert.match(e.message, /connection refused/);
    assert.match(e.message, /ECONNREFUSED/);
  });

  test("a host that does not resolve is a DNS failure", async () => {
    const url = "http://zask-no-such-host.invalid/x";
    const e = await failure(new IoLane(fast).get(url), url);
    assert.equal(e.failure, "dns");
    assert.match(e.message, /DNS lookup failed/);
  });

  test("a connection the server drops is a reset, and an https request to a plain server a TLS failure", async () => {
    const raw = await startRawServer((socket) => socket.destroy());
    try {
      const url = `${raw.url}/x`;
      const reset = await failure(new IoLane(fast).get(url), url);
      assert.equal(reset.failure, "reset");
      assert.match(reset.message, /connection reset or closed/);
    } finally {
      await raw.close();
    }
    // a plain server answers the TLS client hello with HTTP
    const plain = createServer((socket) => socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n")));
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    try {
      const url = `https://127.0.0.1:${(plain.address() as { port: number }).port}/x`;
      const tls = await failure(new IoLane(fast).get(url), url);
      assert.equal(tls.failure, "tls", tls.message);
      assert.match(tls.message, /TLS failure/);
    } finally {
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });
});
