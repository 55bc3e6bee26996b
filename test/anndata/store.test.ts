// Opening a store over servers that misbehave or are not there: each failure says what it got
// and where; a store that compresses unasked reads as stored.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer as createH2cServer } from "node:http2";
import { createServer, type AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ElementReadError, readZarr, StoreOpenError } from "@zask/anndata";
import { HttpAccessDeniedError, HttpError, close } from "@zask/scheduler";
import { startHostileServer, type HostileServer, type Misbehaviour } from "../helpers/hostile-server.ts";
import { expected, FIXTURES } from "./fixtures.js";

const STORE = "pbmc-like.dense.c5.zarr";
const ARRAY_FIXTURES = fileURLToPath(new URL("../fixtures/array/", import.meta.url));
const ROOT_ARRAY = "dense.c5x4.blosc-lz4.f4.zarr";

let server: HostileServer;
let rule: (p: string) => Misbehaviour | undefined = () => undefined;
before(async () => {
  server = await startHostileServer(path.dirname(FIXTURES.replace(/\/$/, "")), (p) => rule(p));
});
after(async () => {
  await server.close();
  await close();
});
const urlOf = (dir: string, name: string) => `${server.url}/${dir}/${name}`;

/** The first error of class `cls` along `e`'s cause chain. */
function causeOf<T>(e: unknown, cls: new (...a: never[]) => T): T {
  for (let c: unknown = e; c !== undefined && c !== null; c = (c as { cause?: unknown }).cause) if (c instanceof cls) return c;
  assert.fail(`no ${cls.name} in the causes of ${String(e)}`);
}

describe("opening a store that is not there, or not a group", () => {
  it("a missing store over HTTP says it got 404 for .zmetadata, .zgroup and zarr.json, naming their URLs", async () => {
    const url = urlOf("anndata", "nothing-here.zarr");
    await assert.rejects(readZarr(url), (e: unknown) => {
      assert.ok(e instanceof StoreOpenError, String(e));
      assert.equal(e.url, url);
      for (const key of [".zmetadata", ".zgroup", "zarr.json"]) assert.ok(e.message.includes(`${url}/${key}`), e.message);
      assert.match(e.message, /HTTP 404/);
      return true;
    });
  });

  it("an array at the root says it found an array, expected a group, over HTTP and from disk", async () => {
    for (const source of [urlOf("array", ROOT_ARRAY), path.join(ARRAY_FIXTURES, ROOT_ARRAY)]) {
      await assert.rejects(readZarr(source), (e: unknown) => {
        assert.ok(e instanceof StoreOpenError, String(e));
        assert.match(e.message, /found a zarr array at the root of the store, expected a group/i);
        return true;
      });
    }
  });

  it("a refused connection says connection refused with the URL, not that a server answered", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/x.zarr`;
    await assert.rejects(readZarr(url, { retries: 0 }), (e: unknown) => {
      assert.ok(e instanceof ElementReadError, String(e));
      assert.equal(e.reason, "http");
      assert.match(e.message, new RegExp(`GET ${url}/.zmetadata failed: connection refused \\(connect ECONNREFUSED`));
      assert.doesNotMatch(e.message, /answered/);
      assert.equal(causeOf(e, HttpError).failure, "refused");
      return true;
    });
  });
});

describe("HTTP statuses, encodings, limits and deadlines of metadata and eager reads", () => {
  it("a .zmetadata answered 403 is an access-denied error naming its URL, not an absent store", async () => {
    rule = (p) => (p.endsWith("/.zmetadata") ? { kind: "status", status: 403 } : undefined);
    try {
      const url = urlOf("anndata", STORE);
      await assert.rejects(readZarr(url, { retries: 0 }), (e: unknown) => {
        const denied = causeOf(e, HttpAccessDeniedError);
        assert.equal(denied.url, `${url}/.zmetadata`);
        assert.equal(denied.status, 403);
        return true;
      });
      // a public bucket without list permission: 403 read as missing, on request
      const adata = await readZarr(url, { retries: 0, missingStatuses: [404, 410, 403] });
      assert.deepEqual([...adata.obs.index], expected.obsNames);
    } finally {
      rule = () => undefined;
    }
  });

  it("a store whose every answer a server gzips reads as stored", async () => {
    rule = () => ({ kind: "encode", encoding: "gzip" });
    try {
      const adata = await readZarr(urlOf("anndata", STORE), { lazy: false });
      assert.deepEqual([...adata.obs.index], expected.obsNames);
      assert.deepEqual([...adata.var.index], expected.varNames);
      assert.deepEqual(adata.shape, expected.shape);
    } finally {
      rule = () => undefined;
    }
  });

  it("a trickling .zmetadata fails the open at the deadline, and an endless column at maxBytes", async () => {
    const url = urlOf("anndata", STORE);
    rule = (p) => (p.endsWith("/.zmetadata") ? { kind: "trickle" } : undefined);
    try {
      const t0 = Date.now();
      await assert.rejects(readZarr(url, { deadline: 300, timeout: 5_000, retries: 0 }), (e: unknown) => {
        assert.ok(e instanceof ElementReadError, String(e));
        assert.equal(causeOf(e, HttpError).failure, "timeout");
        assert.match(e.message, /deadline of 300 ms/);
        return true;
      });
      assert.ok(Date.now() - t0 < 3_000);
      rule = (p) => (p.endsWith("/obs/_index/0") ? { kind: "endless", framing: "close" } : undefined);
      await assert.rejects(readZarr(url, { maxBytes: 2 ** 20, retries: 0 }), (e: unknown) => {
        assert.ok(e instanceof ElementReadError, String(e));
        assert.equal(e.path, "/obs/_index");
        assert.equal(causeOf(e, HttpError).failure, "too-large");
        assert.match(e.message, /limit of 1048576 bytes/);
        return true;
      });
    } finally {
      rule = () => undefined;
    }
  });

  it("an eager read of an X chunk whose body never ends fails at the chunk's bound from its metadata", async () => {
    rule = (p) => (p.endsWith(`/${STORE}/X/0.0`) ? { kind: "endless", framing: "chunked" } : undefined);
    try {
      await assert.rejects(readZarr(urlOf("anndata", STORE), { lazy: false, retries: 0 }), (e: unknown) => {
        const http = causeOf(e, HttpError);
        assert.equal(http.failure, "too-large");
        assert.equal(http.url, `${urlOf("anndata", STORE)}/X/0.0`);
        // 97 x 5 float32 decoded: a bound far below the 64 MiB default
        const limit = (http.cause as { limit?: number }).limit;
        assert.ok(limit !== undefined && limit < 2 ** 20, String(limit));
        return true;
      });
    } finally {
      rule = () => undefined;
    }
  });
});

describe("the HTTP options of an open apply to its eager reads", () => {
  /** A static server of the fixtures over `http` (HTTP/1.1) or h2c, counting requests in flight and the versions they came in. */
  async function staticServer(kind: "http1" | "h2c") {
    const state = { inFlight: 0, maxInFlight: 0, versions: new Set<string>(), requests: 0 };
    const handle = async (url: string | undefined, version: string, send: (status: number, body: Uint8Array | string) => void): Promise<void> => {
      state.requests++;
      state.versions.add(version);
      state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight);
      const file = path.join(FIXTURES, decodeURIComponent(new URL(url ?? "/", "http://x").pathname));
      // held a little, so that requests sent together are in flight together
      await new Promise((r) => setTimeout(r, 5));
      const body = await readFile(file).catch(() => undefined);
      state.inFlight--;
      send(body === undefined ? 404 : 200, body ?? "");
    };
    const server =
      kind === "http1"
        ? createHttpServer((req, res) => void handle(req.url, req.httpVersion, (status, body) => res.writeHead(status).end(body)))
        : createH2cServer((req, res) => void handle(req.url, req.httpVersion, (status, body) => res.writeHead(status).end(body)));
    const sessions = new Set<{ destroy(): void }>();
    server.on("session", (session: { destroy(): void }) => sessions.add(session));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${STORE}`;
    return {
      url,
      state,
      close: () =>
        new Promise((r) => {
          server.close(r);
          // the client keeps its connections and HTTP/2 sessions for reuse: end them rather
          // than wait for them to idle out
          if ("closeAllConnections" in server) server.closeAllConnections();
          for (const session of sessions) session.destroy();
        }),
    };
  }

  it("reads obs and var with no more requests in flight than `httpConcurrency`", async () => {
    const s = await staticServer("http1");
    try {
      const adata = await readZarr(s.url, { httpConcurrency: 2 });
      assert.equal(adata.nVars, expected.shape[1]);
      assert.ok(s.state.requests > 10, `${s.state.requests} requests`);
      assert.equal(s.state.maxInFlight, 2);
    } finally {
      await s.close();
    }
  });

  it("reads obs and var over HTTP/2 when the open asks for `http2`", async () => {
    const s = await staticServer("h2c");
    try {
      const adata = await readZarr(s.url, { http2: true });
      assert.equal(adata.nVars, expected.shape[1]);
      assert.ok(s.state.requests > 10, `${s.state.requests} requests`);
      assert.deepEqual([...s.state.versions], ["2.0"]);
    } finally {
      await s.close();
    }
  });
});
