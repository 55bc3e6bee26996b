import assert from "node:assert/strict";
import { test } from "node:test";
import { LruCache } from "../../packages/array/src/lru-cache.ts";

test("drops the least recently used entry beyond maxEntries", () => {
  const c = new LruCache<string, number>({ maxEntries: 2 });
  c.set("a", 1);
  c.set("b", 2);
  c.get("a");
  c.set("c", 3);
  assert.deepEqual([c.has("a"), c.has("b"), c.has("c")], [true, false, true]);
});

test("drops entries until their sizes fit maxBytes, and never keeps one larger than it", () => {
  const c = new LruCache<string, Uint8Array>({ maxEntries: 10, maxBytes: 10, sizeOf: (v) => v.byteLength });
  c.set("a", new Uint8Array(4));
  c.set("b", new Uint8Array(4));
  c.set("c", new Uint8Array(4));
  assert.deepEqual([c.has("a"), c.has("b"), c.has("c")], [false, true, true]);
  c.set("huge", new Uint8Array(11));
  assert.equal(c.has("huge"), false);
});

test("shares one load among callers that ask while it runs, and keeps no failed load", async () => {
  const c = new LruCache<string, number>({ maxEntries: 4 });
  let loads = 0;
  const load = async () => {
    loads++;
    await new Promise((r) => setTimeout(r, 5));
    return 42;
  };
  assert.deepEqual(await Promise.all([c.load("k", load), c.load("k", load), c.load("k", load)]), [42, 42, 42]);
  assert.equal(loads, 1);
  await assert.rejects(
    c.load("bad", () => Promise.reject(new Error("no"))),
    /no/,
  );
  assert.equal(await c.load("bad", async () => 7), 7);
});
