import assert from "node:assert/strict";
import { test } from "node:test";
import { fromZarr, slice, ZarrStore } from "@zask/array";
import { FIXTURES, expected, plain } from "./helpers.ts";

const NAME = "dense.c5x4.blosc-lz4.f4.zarr";

test("threads and sync schedulers give the same values", async () => {
  const x = (await fromZarr(FIXTURES + NAME)).slice(slice(null, null, -2), [3, 0, 10]);
  assert.deepEqual(plain(await x.compute({ scheduler: "threads" })), plain(await x.compute({ scheduler: "sync" })));
});

test("persist computes every block once; later computes read no chunk", async () => {
  const store = new ZarrStore(FIXTURES + NAME);
  const x = await fromZarr(store);
  const p = await x.persist();
  assert.equal(store.counters.chunkRequests, 9);
  assert.equal(p.name, x.name);
  assert.deepEqual(p.chunks, x.chunks);
  assert.deepEqual(plain(await p.compute()), expected.stores[NAME]!.data);
  assert.deepEqual(plain(await p.slice(2).compute()), expected.stores[NAME]!.data.slice(22, 33));
  // on the pool (inlineThreshold 0), twice: persisted blocks must not be moved away to a worker
  assert.deepEqual(plain(await p.slice(2).compute({ inlineThreshold: 0 })), expected.stores[NAME]!.data.slice(22, 33));
  assert.deepEqual(plain(await p.slice(2).compute({ inlineThreshold: 0 })), expected.stores[NAME]!.data.slice(22, 33), "persisted blocks survive a compute");
  assert.equal(store.counters.chunkRequests, 9);
  assert.equal(p.plan().requests, 0);
});

test("an aborted compute rejects with the abort reason", async () => {
  const x = await fromZarr(FIXTURES + NAME);
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  await assert.rejects(x.compute({ signal: ac.signal }), /stop/);
});
