import assert from "node:assert/strict";
import { test } from "node:test";
import { concatenate, fromZarr, slice, ZarrStore } from "@zask/array";
import { FIXTURES, expected, plain } from "./helpers.ts";

test("plan() counts requests and uncompressed bytes per store, and the counters agree after compute", async () => {
  const a = new ZarrStore(FIXTURES + "dense.c3.gzip.u2.zarr"); // 17 in chunks of 3: 6 chunks of 6 bytes
  const b = new ZarrStore(FIXTURES + "dense.c4.raw.be.f8.zarr"); // 9 in chunks of 4: 3 chunks of 32 bytes
  const x = await fromZarr(a);
  const y = await fromZarr(b);
  const z = concatenate([x.slice(slice(0, 7)), y.slice([8, 0])]); // chunks 0-2 of a; chunks 2, 0 of b
  assert.deepEqual(z.stores, [a, b]);
  const plan = z.plan();
  assert.deepEqual(plan.stores.map((s) => [s.store, s.requests, s.bytes]), [
    [a.location, 3, 18],
    [b.location, 2, 64],
  ]);
  assert.equal(plan.requests, 5);
  assert.equal(plan.bytes, 82);
  const r = await z.compute();
  const u2 = expected.stores["dense.c3.gzip.u2.zarr"]!.data as number[];
  const f8 = expected.stores["dense.c4.raw.be.f8.zarr"]!.data as number[];
  assert.deepEqual(plain(r), [...u2.slice(0, 7), f8[8], f8[0]]);
  assert.deepEqual([a.counters.chunkRequests, a.counters.chunkBytes], [3, 18]);
  assert.deepEqual([b.counters.chunkRequests, b.counters.chunkBytes], [2, 64]);
});

test("plan() of an array that reads no store costs no request", async () => {
  const x = await fromZarr(FIXTURES + "dense.c3.gzip.u2.zarr");
  const p = x.slice(slice(5, 5)).plan();
  assert.equal(p.requests, 0);
  assert.equal(p.bytes, 0);
  assert.ok(p.tasks >= 1);
});
