import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ListenError, serve, ServeDirectoryError } from "zask";
import type { FileServer, RequestEvent } from "zask";

const SECRET = "top secret outside the root";
let base: string;
let root: string;
let server: FileServer;
let lines: string[] = [];
const events: RequestEvent[] = [];
const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0);
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;

before(async () => {
  base = await mkdtemp(join(tmpdir(), "zask-serve-"));
  root = join(base, "root");
  await mkdir(join(root, "a.zarr", "X"), { recursive: true });
  await mkdir(join(root, "empty-dir"));
  await writeFile(join(base, "secret.txt"), SECRET);
  await writeFile(join(root, "a.zarr", ".zarray"), '{"zarr_format":2}');
  await writeFile(join(root, "a.zarr", "X", "0.0"), "0123456789");
  await writeFile(join(root, "a.zarr", "X", "empty"), "");
  await writeFile(join(root, "big.bin"), big);
  for (let i = 0; i < 20; i++) await writeFile(join(root, "a.zarr", "X", `${i}.1`), `chunk ${i} `.repeat(i + 1));
  await symlink(join(base, "secret.txt"), join(root, "link-out"));
  await symlink(base, join(root, "dir-link-out"));
  await symlink(join(root, "a.zarr", "X", "0.0"), join(root, "link-in"));
  server = await serve(root, { port: 0, log: (line) => lines.push(line), onRequest: (event) => events.push(event) });
});

after(async () => {
  await server.close();
  await rm(base, { recursive: true, force: true });
});

/** Sends `method target` exactly as written (no URL normalization) and reads the whole answer. */
function raw(target: string, method = "GET", headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.address.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    socket.on("connect", () => socket.write(`${method} ${target} HTTP/1.1\r\nHost: localhost\r\n${extra}Connection: close\r\n\r\n`));
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const [head = "", ...rest] = text.split("\r\n\r\n");
      const [statusLine = "", ...headerLines] = head.split("\r\n");
      const parsed: Record<string, string> = {};
      for (const line of headerLines) {
        const at = line.indexOf(":");
        parsed[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers: parsed, body: rest.join("\r\n\r\n") });
    });
  });
}

const url = (path: string): string => new URL(path, server.url).href;

describe("serve", () => {
  test("GET answers a file with its bytes, Content-Length, type and CORS header", async () => {
    const res = await fetch(url("a.zarr/X/0.0"));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), "10");
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(res.headers.get("accept-ranges"), "bytes");
    assert.equal(await res.text(), "0123456789");
  });

  test("zarr metadata documents are served as JSON, including dot files", async () => {
    const res = await fetch(url("a.zarr/.zarray"));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.deepEqual(await res.json(), { zarr_format: 2 });
  });

  test("HEAD answers the headers of GET without a body", async () => {
    const res = await raw("/a.zarr/X/0.0", "HEAD");
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-length"], "10");
    assert.equal(res.body, "");
  });

  test("an empty file is a 200 with Content-Length 0", async () => {
    const res = await fetch(url("a.zarr/X/empty"));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), "0");
    assert.equal(await res.text(), "");
  });

  test("missing files and directories are 404", async () => {
    assert.equal((await fetch(url("a.zarr/X/9.9"))).status, 404);
    assert.equal((await fetch(url("empty-dir"))).status, 404);
    assert.equal((await fetch(url("empty-dir/"))).status, 404);
    assert.equal((await fetch(url("a.zarr/X/0.0/deeper"))).status, 404);
  });

  test("a query string is ignored when mapping the path", async () => {
    const res = await fetch(url("a.zarr/X/0.0?cache=no"));
    assert.equal(await res.text(), "0123456789");
  });

  test("percent-encoded names are decoded", async () => {
    await writeFile(join(root, "with space.txt"), "spaced");
    const res = await fetch(url("with%20space.txt"));
    assert.equal(await res.text(), "spaced");
  });

  test("other methods are 405 with an Allow header", async () => {
    const res = await fetch(url("a.zarr/X/0.0"), { method: "POST", body: "x" });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, HEAD, OPTIONS");
  });

  test("an OPTIONS preflight is answered 204 with the allowed methods and headers", async () => {
    const res = await fetch(url("a.zarr/X/0.0"), {
      method: "OPTIONS",
      headers: { Origin: "http://example.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range" },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(res.headers.get("access-control-allow-methods"), "GET, HEAD, OPTIONS");
    assert.equal(res.headers.get("access-control-allow-headers"), "range");
  });
});

describe("serve: ranges", () => {
  const get = (range: string) => fetch(url("a.zarr/X/0.0"), { headers: { Range: range } });

  test("a closed range is a 206 with Content-Range and exactly those bytes", async () => {
    const res = await get("bytes=2-5");
    assert.equal(res.status, 206);
    assert.equal(res.headers.get("content-range"), "bytes 2-5/10");
    assert.equal(res.headers.get("content-length"), "4");
    assert.equal(await res.text(), "2345");
  });

  test("open-ended and suffix ranges select the tail, clamped to the file", async () => {
    assert.equal(await (await get("bytes=7-")).text(), "789");
    assert.equal(await (await get("bytes=-3")).text(), "789");
    assert.equal(await (await get("bytes=-300")).text(), "0123456789");
    const clamped = await get("bytes=8-1000");
    assert.equal(clamped.headers.get("content-range"), "bytes 8-9/10");
    assert.equal(await clamped.text(), "89");
  });

  test("a range starting at or past the end is 416 with the size", async () => {
    const res = await get("bytes=10-20");
    assert.equal(res.status, 416);
    assert.equal(res.headers.get("content-range"), "bytes */10");
    assert.equal((await get("bytes=-0")).status, 416);
  });

  test("malformed and multi-range headers are ignored: the whole file, 200", async () => {
    for (const range of ["bytes=5-2", "items=0-1", "bytes=0-1,4-5", "bytes=x-y"]) {
      const res = await get(range);
      assert.equal(res.status, 200, range);
      assert.equal(await res.text(), "0123456789", range);
    }
  });

  test("a range in a large file is exact at both ends", async () => {
    const start = 1_000_003;
    const end = 2_500_000;
    const res = await fetch(url("big.bin"), { headers: { Range: `bytes=${start}-${end}` } });
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 206);
    assert.equal(body.length, end - start + 1);
    assert.ok(body.equals(big.subarray(start, end + 1)));
  });
});

describe("serve: nothing outside the root", () => {
  const attempts = [
    "/../secret.txt",
    "/a.zarr/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/a.zarr/%2e%2e/%2e%2e/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/a.zarr%2f..%2f..%2fsecret.txt",
    "/..%5csecret.txt",
    "/%2e%2e%5csecret.txt",
    "/a.zarr/X/0.0%00",
    "/%00",
    "//../secret.txt",
    "/./../secret.txt",
    "/%252e%252e/secret.txt",
    "/%",
    "http://localhost/../secret.txt",
    "*",
  ];
  for (const target of attempts) {
    test(`${JSON.stringify(target)} is refused without leaking the file`, async () => {
      const res = await raw(target);
      assert.ok([400, 403, 404].includes(res.status), `status ${res.status}`);
      assert.ok(!res.body.includes(SECRET));
    });
  }

  test("http.request with a raw dot-dot path is refused with 403", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: server.address.port, path: "/a.zarr/../../secret.txt" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 403);
  });

  test("a symlink to a file outside the root is 403, and so is a symlinked directory", async () => {
    assert.equal((await raw("/link-out")).status, 403);
    assert.equal((await raw("/dir-link-out/secret.txt")).status, 403);
  });

  test("a symlink to a file inside the root is served", async () => {
    const res = await fetch(url("link-in"));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "0123456789");
  });
});

describe("serve: logging and counting", () => {
  test("each request logs one line in Python http.server's format", async () => {
    lines = [];
    await (await fetch(url("a.zarr/X/0.0"))).text();
    await (await fetch(url("nope"))).text();
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? "", /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4} \d\d:\d\d:\d\d\] "GET \/a\.zarr\/X\/0\.0 HTTP\/1\.1" 200 10$/);
    assert.match(lines[1] ?? "", /"GET \/nope HTTP\/1\.1" 404 \d+$/);
  });

  test("control characters in a request target cannot forge a log line", async () => {
    lines = [];
    await raw('/x%0a"x"');
    assert.equal(lines.length, 1);
    assert.ok(!(lines[0] ?? "").includes("\n"));
  });

  test("the counter tallies requests and body bytes per path, and reset clears it", async () => {
    server.counter.reset();
    events.length = 0;
    await (await fetch(url("a.zarr/X/0.0"))).text();
    await (await fetch(url("a.zarr/X/0.0?again"), { headers: { Range: "bytes=0-3" } })).text();
    await (await fetch(url("a.zarr/.zarray"))).text();
    assert.equal(server.counter.requests, 3);
    assert.equal(server.counter.bytes, 10 + 4 + 17);
    assert.deepEqual(server.counter.byPath.get("/a.zarr/X/0.0"), { requests: 2, bytes: 14 });
    assert.equal(events.length, 3);
    assert.equal(events[1]?.status, 206);
    assert.equal(events[1]?.range, "bytes=0-3");
    server.counter.reset();
    assert.equal(server.counter.requests, 0);
    assert.equal(server.counter.byPath.size, 0);
  });

  test("onRequest listeners can be added and removed", async () => {
    const seen: string[] = [];
    const off = server.onRequest((event) => seen.push(event.url));
    await (await fetch(url("a.zarr/X/0.0"))).text();
    off();
    await (await fetch(url("a.zarr/X/0.0"))).text();
    assert.deepEqual(seen, ["/a.zarr/X/0.0"]);
  });
});

describe("serve: under load", () => {
  test("200 parallel requests are all answered with the right bytes", async () => {
    const before = server.counter.requests;
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, n) => {
        const i = n % 20;
        const res = await fetch(url(`a.zarr/X/${i}.1`), n % 3 === 0 ? { headers: { Range: "bytes=0-5" } } : {});
        return { n, i, status: res.status, text: await res.text() };
      }),
    );
    for (const { n, i, status, text } of results) {
      const whole = `chunk ${i} `.repeat(i + 1);
      assert.equal(status, n % 3 === 0 ? 206 : 200);
      assert.equal(text, n % 3 === 0 ? whole.slice(0, 6) : whole);
    }
    assert.equal(server.counter.requests - before, 200);
  });

  test("a client that hangs up mid-body does not disturb the next requests", async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(server.address.port, "127.0.0.1", () => {
        socket.write("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
      });
      socket.once("data", () => {
        socket.destroy();
        resolve();
      });
    });
    const res = await fetch(url("big.bin"));
    assert.equal(Buffer.from(await res.arrayBuffer()).length, big.length);
  });
});

describe("serve: arguments and lifecycle", () => {
  test("a missing directory or a file is a ServeDirectoryError", async () => {
    await assert.rejects(serve(join(base, "nope"), { port: 0, log: false }), ServeDirectoryError);
    await assert.rejects(serve(join(base, "secret.txt"), { port: 0, log: false }), ServeDirectoryError);
  });

  test("a bad port is a RangeError that says what came", async () => {
    await assert.rejects(serve(root, { port: 70000, log: false }), { name: "RangeError", message: /got `70000` \(number\)/ });
  });

  test("a port in use is a ListenError", async () => {
    await assert.rejects(serve(root, { port: server.address.port, log: false }), ListenError);
  });

  test("aborting the signal closes the server", async () => {
    const controller = new AbortController();
    const other = await serve(root, { port: 0, log: false, signal: controller.signal });
    assert.equal((await fetch(url("a.zarr/X/0.0").replace(String(server.address.port), String(other.address.port)))).status, 200);
    controller.abort();
    await other.close();
    assert.equal(other.server.listening, false);
  });
});
