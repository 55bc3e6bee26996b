// Opening a store over servers that misbehave or are not there: each failure says what it got
// and where; a store that compresses unasked reads as stored.
import assert from "node:assert/strict";
import { createServer } from "node:net";
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
