import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fromZarr, ZarrMetadataError } from "@zask/array";
import { serveFixtures, type FixtureServer } from "../helpers/fixture-server.ts";
import { BAD } from "./bad-stores.ts";

// Each meta-* store is dense.c4x5.zlib.f4.zarr with one field of .zarray changed (generate.py).
const cases: [store: string, field: string, reason: RegExp][] = [
  ["meta-negative-shape.zarr", "shape", /non-negative integers, got `-10`/],
  ["meta-non-integer-shape.zarr", "shape", /non-negative integers, got `10.5`/],
  ["meta-zero-chunk.zarr", "chunks", /positive integers, got `0`/],
  ["meta-chunk-rank.zarr", "chunks", /expected 2 entries .* got 1/],
  ["meta-unknown-codec.zarr", "compressor", /unknown codec "snappy-deluxe"/],
  ["meta-unknown-filter.zarr", "filters", /unknown codec "no-such-filter"/],
  ["meta-unknown-dtype.zarr", "dtype", /"<q9"/],
  ["meta-bad-order.zarr", "order", /"C" or "F", got `"Z"`/],
  ["meta-huge-shape.zarr", "chunks", /1099511628 chunks, more than/],
  ["meta-huge-chunk.zarr", "chunks", /holds 4398046511104 bytes, more than/],
];

let server: FixtureServer;
before(async () => {
  server = await serveFixtures(BAD);
});
after(() => server.close());

for (const [store, field, reason] of cases) {
  test(`fromZarr refuses ${store} at open with a ZarrMetadataError naming \`${field}\` and the array's path`, async () => {
    await assert.rejects(fromZarr(BAD + store), (e: unknown) => {
      assert.ok(e instanceof ZarrMetadataError, String(e));
      assert.equal(e.field, field);
      assert.match(e.reason, reason);
      assert.equal(e.url, BAD + store);
      assert.equal(e.path, "/");
      assert.ok(e.message.includes(BAD + store), e.message);
      return true;
    });
  });
}

test("over HTTP, a metadata error names the array's URL and its path in the store", async () => {
  await assert.rejects(fromZarr(`${server.url}/meta-unknown-codec.zarr`), (e: unknown) => {
    assert.ok(e instanceof ZarrMetadataError);
    assert.equal(e.url, `${server.url}/meta-unknown-codec.zarr/`);
    assert.equal(e.field, "compressor");
    return true;
  });
});

test("a shape of [2^40, 30] is an error at open, not a crash while the chunk grid is built", async () => {
  // before the check, building the per-axis block list died with "invalid size error" (the process, not a throw)
  await assert.rejects(fromZarr(BAD + "meta-huge-shape.zarr"), ZarrMetadataError);
});

test("an array whose path is inside the store is named by that path", async () => {
  await assert.rejects(fromZarr(BAD + "adata.unknown-codec.zarr", { path: "X" }), (e: unknown) => {
    assert.ok(e instanceof ZarrMetadataError);
    assert.equal(e.path, "/X");
    assert.equal(e.url, BAD + "adata.unknown-codec.zarr/X");
    return true;
  });
});

test("the valid store the meta-* stores were copied from opens", async () => {
  const x = await fromZarr(BAD + "dense.c4x5.zlib.f4.zarr");
  assert.deepEqual(x.shape, [10, 12]);
});
