import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fromZarr, ZarrMetadataError, ZarrStore } from "@zask/array";
import { exactIntegerFills } from "../../packages/array/src/zarr-metadata.ts";
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

test("an int64 or uint64 fill value past 2^53 is kept exact, in .zarray, zarr.json and .zmetadata; other fills are left as they are", async () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  const dec = (b: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(b));
  const i8 = enc('{"dtype": "<i8", "fill_value": 9223372036854775807, "shape": [4]}');
  assert.equal((dec(exactIntegerFills(i8)) as { fill_value: unknown }).fill_value, "9223372036854775807");
  const u8 = enc('{"data_type": "uint64", "fill_value":18446744073709551615}');
  assert.equal((dec(exactIntegerFills(u8)) as { fill_value: unknown }).fill_value, "18446744073709551615");
  // a float array's long integer fill stays a number; a document without one is returned as is
  const f8 = enc('{"dtype": "<f8", "fill_value": 12345678901234567890}');
  assert.equal((dec(exactIntegerFills(f8)) as { fill_value: unknown }).fill_value, Number("12345678901234567890"));
  const plain = enc('{"dtype": "<i8", "fill_value": 7}');
  assert.equal(exactIntegerFills(plain), plain);
  const consolidated = enc(
    '{"metadata": {"a/.zarray": {"dtype": ">i8", "compressor": {"id": "zlib"}, "fill_value": -9223372036854775808}, "b/.zarray": {"dtype": "<f8", "fill_value": 1234567890123456789}}}',
  );
  const m = (dec(exactIntegerFills(consolidated)) as { metadata: Record<string, { fill_value: unknown }> }).metadata;
  assert.deepEqual([m["a/.zarray"]!.fill_value, m["b/.zarray"]!.fill_value], ["-9223372036854775808", Number("1234567890123456789")]);

  // read back: a missing chunk of an int64 array filled with 2^63 - 1, not -2^63
  const store = new Map<string, Uint8Array>([
    [
      "/.zarray",
      enc(
        '{"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<i8", "compressor": null, "fill_value": 9223372036854775807, "order": "C", "filters": null}',
      ),
    ],
    ["/0", new Uint8Array(BigInt64Array.of(1n, 2n).buffer)],
  ]);
  for (const wrap of [true, false]) {
    const source = { get: async (key: string) => store.get(key) };
    const x = await fromZarr(wrap ? new ZarrStore(source as never) : (source as never));
    assert.deepEqual([...((await x.compute()).data as BigInt64Array)], [1n, 2n, 2n ** 63n - 1n, 2n ** 63n - 1n], `through a ZarrStore: ${wrap}`);
  }
});
