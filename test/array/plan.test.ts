import assert from "node:assert/strict";
import { test } from "node:test";
import { concatenate, fromZarr, slice, ZarrStore } from "@zask/array";
import { FIXTURES, expected, plain } from "./helpers.ts";
import { serveFixtures } from "../helpers/fixture-server.ts";

test("plan() counts requests and uncompressed bytes per store, and the counters agree after compute", async () => {
  const a = new ZarrStore(FIXTURES + "dense.c3.gzip.u2.zarr"); // 17 in chunks of 3: 6 chunks of 6 bytes
  const b = new ZarrStore(FIXTURES + "dense.c4.raw.be.f8.zarr"); // 9 in chunks of 4: 3 chunks of 32 bytes
  const x = await fromZarr(a);
  const y = await fromZarr(b);
  const z = concatenate([x.slice(slice(0, 7)), y.slice([8, 0])]); // chunks 0-2 of a; chunks 2, 0 of b
  assert.deepEqual(z.stores, [a, b]);
  const plan = z.plan();
  assert.deepEqual(
    plan.stores.map((s) => [s.store, s.requests, s.bytes]),
    [
      [a.location, 3, 18],
      [b.location, 2, 64],
    ],
  );
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

test("plan() reports the round trips: waves of httpConcurrency requests per origin, stores of one origin together", async () => {
  const server = await serveFixtures(FIXTURES);
  try {
    const a = await fromZarr(`${server.url}/dense.c3.gzip.u2.zarr`); // 6 chunks
    const b = await fromZarr(`${server.url}/dense.c4.raw.be.f8.zarr`); // 3 chunks
    const z = concatenate([a, b]);
    assert.equal(z.plan().requests, 9);
    assert.equal(z.plan().roundTrips, 1);
    assert.equal(z.plan({ httpConcurrency: 4 }).roundTrips, 3, "9 requests to one origin, 4 at a time");
    assert.equal(z.plan({ httpConcurrency: 5 }).roundTrips, 2);
    assert.equal(a.slice(slice(0, 2)).plan({ httpConcurrency: 1 }).roundTrips, 1);
    assert.throws(() => z.plan({ httpConcurrency: 0 }), RangeError);
  } finally {
    await server.close();
  }
});

test("plan() of local stores costs no round trip", async () => {
  const x = await fromZarr(FIXTURES + "dense.c3.gzip.u2.zarr");
  assert.equal(x.plan({ httpConcurrency: 1 }).requests, 6);
  assert.equal(x.plan({ httpConcurrency: 1 }).roundTrips, 0);
});
