// Zarr arrays over servers that misbehave: a chunk is its stored values or a typed error naming
// its URL; access denied is not "missing"; nothing hangs, nothing grows without bound.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ChunkFetchError, fromZarr, ZarrStore } from "@zask/array";
import { HttpAccessDeniedError, HttpError, HttpTransportError, close } from "@zask/scheduler";
import { startHostileServer, type HostileServer, type Misbehaviour } from "../helpers/hostile-server.ts";
import { FIXTURES, expected, plain } from "./helpers.ts";

const DENSE = "dense.c5x4.blosc-lz4.f4.zarr"; // 13 x 11 float32 in 5 x 4 chunks
const RAW = "dense.c4.raw.be.f8.zarr"; // 9 float64, no compressor, chunks of 4
const MISSING = "missing.c3x4.blosc-lz4.fill7.i4.zarr"; // 4 chunks never written
const META = /\.z(array|attrs|group|metadata)$|zarr\.json$/;

let server: HostileServer;
let rule: (p: string) => Misbehaviour | undefined = () => undefined;

before(async () => {
  server = await startHostileServer(FIXTURES, (p) => rule(p));
});
after(async () => {
  await server.close();
  await close();
});

/** The ChunkFetchError a compute failed with (it comes as the TaskError's cause). */
function chunkError(e: unknown): ChunkFetchError {
  const c = e instanceof ChunkFetchError ? e : (e as { cause?: unknown }).cause;
  assert.ok(c instanceof ChunkFetchError, String(e));
  return c;
}

describe("Content-Encoding on chunks", () => {
  for (const name of [RAW, DENSE]) {
    test(`chunks of ${name} that a server gzips anyway decode to the stored values`, async () => {
      rule = (p) => (META.test(p) ? undefined : { kind: "encode", encoding: "gzip" });
      try {
        const x = await fromZarr(`${server.url}/${name}`);
        assert.deepEqual(plain(await x.compute({ retries: 0 })), expected.stores[name]!.data);
      } finally {
        rule = () => undefined;
      }
    });
  }
});

describe("401 and 403 are errors; missing means 404 and 410", () => {
  test("a chunk answered 403 is an access-denied error naming its URL, not the fill value", async () => {
    rule = (p) => (p === `/${DENSE}/1.1` ? { kind: "status", status: 403 } : undefined);
    try {
      const x = await fromZarr(`${server.url}/${DENSE}`);
      await assert.rejects(x.compute({ retries: 0 }), (e: unknown) => {
        const c = chunkError(e);
        assert.equal(c.url, `${server.url}/${DENSE}/1.1`);
        assert.equal(c.status, 403);
        assert.ok(c.cause instanceof HttpAccessDeniedError, String(c.cause));
        assert.match(c.cause.message, /access denied \(HTTP 403\)/);
        return true;
      });
    } finally {
      rule = () => undefined;
    }
  });

  test("a chunk answered 401 is an access-denied error too; 410 is the fill value", async () => {
    const unwritten = (p: string) => !META.test(p) && !existsSync(path.join(FIXTURES, p));
    for (const [status, fails] of [
      [401, true],
      [410, false],
    ] as const) {
      rule = (p) => (unwritten(p) ? { kind: "status", status } : undefined);
      try {
        const x = await fromZarr(`${server.url}/${MISSING}`);
        if (fails) await assert.rejects(x.compute({ retries: 0 }), (e: unknown) => chunkError(e).cause instanceof HttpAccessDeniedError);
        else assert.deepEqual(plain(await x.compute({ retries: 0 })), expected.stores[MISSING]!.data);
      } finally {
        rule = () => undefined;
      }
    }
  });

  test("with missingStatuses [404, 410, 403], chunks a public bucket answers 403 for are the fill value", async () => {
    rule = (p) => (!META.test(p) && !existsSync(path.join(FIXTURES, p)) ? { kind: "status", status: 403 } : undefined);
    try {
      const store = new ZarrStore(`${server.url}/${MISSING}`, { missingStatuses: [404, 410, 403] });
      const x = await fromZarr(store);
      assert.deepEqual(plain(await x.compute({ retries: 0 })), expected.stores[MISSING]!.data);
      assert.equal(store.counters.missingChunks, 4);
      assert.throws(
        () => new ZarrStore(`${server.url}/${MISSING}`, { missingStatuses: [200] }),
        /Expected `missingStatuses` to be a list of HTTP error statuses/,
      );
    } finally {
      rule = () => undefined;
    }
  });

  test("an array whose metadata is answered 403 fails to open with an access-denied error naming the URL", async () => {
    rule = (p) => (p.endsWith("/.zarray") ? { kind: "status", status: 403 } : undefined);
    try {
      await assert.rejects(fromZarr(new ZarrStore(`${server.url}/${DENSE}`, { retries: 0 })), (e: unknown) => {
        let c: unknown = e;
        while (c !== undefined && !(c instanceof HttpAccessDeniedError)) c = (c as { cause?: unknown }).cause;
        assert.ok(c instanceof HttpAccessDeniedError, String(e));
        assert.equal(c.url, `${server.url}/${DENSE}/.zarray`);
        return true;
      });
    } finally {
      rule = () => undefined;
    }
  });
});

describe("bounded bodies and deadlines", () => {
  test("a chunk whose body never ends fails at the largest encoded size its metadata allows, naming its URL", async () => {
    rule = (p) => (p === `/${DENSE}/0.0` ? { kind: "endless", framing: "chunked" } : undefined);
    try {
      const x = await fromZarr(`${server.url}/${DENSE}`);
      await assert.rejects(x.slice([0, 5], [0, 4]).compute({ retries: 0 }), (e: unknown) => {
        const c = chunkError(e);
        assert.equal(c.url, `${server.url}/${DENSE}/0.0`);
        const http = c.cause;
        assert.ok(http instanceof HttpError, String(http));
        assert.equal(http.failure, "too-large");
        const transport = http.cause;
        assert.ok(transport instanceof HttpTransportError, String(transport));
        // a 5 x 4 float32 chunk: 80 bytes decoded, so its bound is nowhere near the 64 MiB default
        assert.ok(transport.limit !== undefined && transport.limit >= 80 && transport.limit < 2 ** 20, String(transport.limit));
        return true;
      });
    } finally {
      rule = () => undefined;
    }
  });

  test("a stalled metadata request fails fromZarr at the store's deadline instead of hanging", async () => {
    rule = (p) => (p.endsWith("/.zarray") ? { kind: "stall" } : undefined);
    try {
      const t0 = Date.now();
      const url = `${server.url}/${DENSE}`;
      await assert.rejects(fromZarr(new ZarrStore(url, { deadline: 300, retries: 1, retryDelay: 1 })), (e: unknown) => {
        let c: unknown = e;
        while (c !== undefined && !(c instanceof HttpError)) c = (c as { cause?: unknown }).cause;
        assert.ok(c instanceof HttpError, String(e));
        assert.equal(c.url, `${url}/.zarray`);
        assert.equal(c.failure, "timeout");
        assert.equal(c.attempts, 2, "retried as chunks are");
        return true;
      });
      const took = Date.now() - t0;
      assert.ok(took >= 550 && took < 5_000, `${took} ms`);
    } finally {
      rule = () => undefined;
    }
  });
});
