// The free list both body pools keep (http/free-buffers.ts): buffers wait by exact size, and
// never hold more than the cap in all.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FreeBuffers } from "../../packages/scheduler/src/http/free-buffers.ts";

test("a free buffer comes back only for its exact size, last in first out, within the byte cap", () => {
  const free = new FreeBuffers<ArrayBuffer>(100);
  const a = new ArrayBuffer(40);
  const b = new ArrayBuffer(40);
  const c = new ArrayBuffer(30);
  assert.equal(free.put(a), true);
  assert.equal(free.put(b), true);
  assert.equal(free.isNext(b), true);
  assert.equal(free.put(c), false, "30 more bytes would pass the cap of 100");
  assert.equal(free.bytes, 80);
  assert.equal(free.take(30), undefined);
  assert.equal(free.take(40), b);
  assert.equal(free.take(40), a);
  assert.equal(free.take(40), undefined);
  assert.equal(free.bytes, 0);
  assert.equal(free.put(c), true);
  free.clear();
  assert.equal(free.bytes, 0);
  assert.equal(free.take(30), undefined);
});
