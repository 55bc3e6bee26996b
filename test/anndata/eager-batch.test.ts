import assert from "node:assert/strict";
import { test } from "node:test";
import { ChunkDecodeError, ZarrStore, fromZarr } from "@zask/array";
import { computeEager } from "../../packages/anndata/src/eager-batch.ts";
import { BAD } from "../array/bad-stores.ts";

const GOOD = `${BAD}dense.c4x5.zlib.f4.zarr`;
const TRUNCATED = `${BAD}chunk-truncated.c4x5.zlib.f4.zarr`;

test("eager reads started in one turn share one compute: a chunk two of them read is read once", async () => {
  const store = new ZarrStore(GOOD);
  const x = await fromZarr(store);
  const chunks = x.chunks.reduce((n, c) => n * c.length, 1);
  const [sum, all] = await Promise.all([computeEager(x.sum(), {}), computeEager(x, {})]);
  assert.equal(store.counters.chunkRequests, chunks);
  assert.deepEqual(Array.from(sum.data as Float64Array), Array.from((await x.sum().compute()).data as Float64Array));
  assert.deepEqual(all.data, (await x.compute()).data);
  // one turn later, or with other options, each is a compute of its own
  const later = new ZarrStore(GOOD);
  const y = await fromZarr(later);
  await computeEager(y, {});
  await Promise.all([computeEager(y.sum(), {}), computeEager(y, { inlineThreshold: Infinity })]);
  assert.equal(later.counters.chunkRequests, 3 * chunks);
});

test("eager reads whose options hold objects (callbacks) are not merged: each compute runs with its own", async () => {
  const x = await fromZarr(GOOD);
  const seen = { a: 0, b: 0 };
  const counting = (k: "a" | "b") => ({ start: () => void seen[k]++ });
  await Promise.all([computeEager(x, { callbacks: [counting("a")] }), computeEager(x.sum(), { callbacks: [counting("b")] })]);
  assert.deepEqual(seen, { a: 1, b: 1 });
});

test("in a batch that fails, each read gets its own value or its own error", async () => {
  const good = await fromZarr(GOOD);
  const bad = await fromZarr(TRUNCATED);
  const [g, b] = await Promise.allSettled([computeEager(good, {}), computeEager(bad, {})]);
  assert.equal(g.status, "fulfilled");
  assert.deepEqual((g as PromiseFulfilledResult<{ data: unknown }>).value.data, (await good.compute()).data);
  assert.equal(b.status, "rejected");
  let c: unknown = (b as PromiseRejectedResult).reason;
  while (c instanceof Error && !(c instanceof ChunkDecodeError)) c = c.cause;
  assert.ok(c instanceof ChunkDecodeError, String((b as PromiseRejectedResult).reason));
  assert.match(c.message, /chunk-truncated/);
});
