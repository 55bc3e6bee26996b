import assert from "node:assert/strict";
import { test } from "node:test";
import { ChunkCache } from "@zask/array";

test("the chunk cache evicts least recently used chunks beyond maxBytes", () => {
  const c = new ChunkCache({ maxBytes: 10 });
  c.set("a", new Uint8Array(4));
  c.set("b", new Uint8Array(4));
  c.get("a"); // a is now the most recent
  c.set("c", new Uint8Array(4));
  assert.ok(c.has("a") && c.has("c") && !c.has("b"));
  assert.equal(c.bytes, 8);
  c.set("missing", null);
  assert.equal(c.get("missing"), null);
  assert.equal(c.get("nothing"), undefined);
  c.set("huge", new Uint8Array(11));
  assert.ok(!c.has("huge"));
});

test("the chunk cache hands out copies, so transferring one to a worker keeps the cached bytes", () => {
  const c = new ChunkCache();
  c.set("k", Uint8Array.of(1, 2, 3));
  const out = c.get("k")!;
  structuredClone(out, { transfer: [out.buffer as ArrayBuffer] });
  assert.deepEqual(Array.from(c.get("k")!), [1, 2, 3]);
  assert.throws(() => new ChunkCache({ maxBytes: -1 }), RangeError);
});
