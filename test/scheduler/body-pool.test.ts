import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { IoLane, close, recycleBody } from "@zask/scheduler";
import { MAX_POOLED_BODY, MIN_POOLED_BODY, bodyPool, forgetBody, pooledSize, takeBody } from "@zask/scheduler/body-pool";
import { packForTransfer } from "../../packages/scheduler/src/transfer.ts";
import { startServer } from "./fixtures/server.ts";

// bodies of known bytes: byte i of /n is (i * 13 + n) & 255, n bytes long
const bytesOf = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 13 + n) & 255);
const server = await startServer((req, res) => {
  const n = Number(req.url!.slice(1));
  res.writeHead(200, { "content-length": n }).end(bytesOf(n));
});
after(async () => {
  await server.close();
  await close();
});

describe("pooled response bodies", () => {
  test("sizes are 2^k times 1, 1.25, 1.5 or 1.75: at least the body, at most a quarter unused", () => {
    for (const n of [MIN_POOLED_BODY, 20_000, 65_536, 65_537, 100_000, 226_195, 2_000_000, MAX_POOLED_BODY]) {
      const s = pooledSize(n);
      assert.ok(s >= n && s <= n * 1.25 + 1, `${n} -> ${s}`);
    }
    assert.equal(pooledSize(100_000), pooledSize(110_000));
  });

  test("a body given back is the next body of its size; one not given back, not pooled, or forgotten is not", async () => {
    const lane = new IoLane();
    const a = (await lane.get(`${server.url}/100000`, { pooled: true })).body!;
    assert.deepEqual(a, bytesOf(100_000));
    assert.equal(a.buffer.byteLength, pooledSize(100_000), "a view of part of a pooled buffer");
    recycleBody(a);
    const b = (await lane.get(`${server.url}/110000`, { pooled: true })).body!;
    assert.equal(b.buffer, a.buffer, "the buffer given back");
    assert.deepEqual(b, bytesOf(110_000));
    const c = (await lane.get(`${server.url}/100000`, { pooled: true })).body!;
    assert.notEqual(c.buffer, b.buffer, "b was not given back");
    assert.deepEqual(c, bytesOf(100_000));
    assert.deepEqual(b, bytesOf(110_000), "reading c left b alone");

    const free = bodyPool.freeBytes;
    const plain = (await lane.get(`${server.url}/100000`)).body!;
    assert.equal(plain.buffer.byteLength, 100_000);
    recycleBody(plain);
    assert.equal(bodyPool.freeBytes, free, "a body that is not pooled is not taken in");
    forgetBody(c);
    recycleBody(c);
    assert.equal(bodyPool.freeBytes, free, "a forgotten body is not taken back");
    recycleBody(b);
    recycleBody(b);
    assert.equal(bodyPool.freeBytes, free + b.buffer.byteLength, "given back once");
  });

  test("small and huge bodies get buffers of their own", () => {
    const small = takeBody(MIN_POOLED_BODY - 1);
    assert.equal(small.buffer.byteLength, MIN_POOLED_BODY - 1);
    assert.equal(bodyPool.lent(small.buffer), false);
    const huge = takeBody(MAX_POOLED_BODY + 1);
    assert.equal(bodyPool.lent(huge.buffer), false);
  });

  test("a pooled body moved to a worker takes its whole buffer out of the pool; one that may not move is copied", () => {
    const body = takeBody(50_000);
    body.set(bytesOf(50_000));
    const kept = new Set<ArrayBuffer>();
    const copied = packForTransfer(body, () => false, kept) as Uint8Array;
    assert.notEqual(copied.buffer, body.buffer);
    assert.deepEqual(copied, bytesOf(50_000));
    assert.equal(bodyPool.lent(body.buffer), true, "still lent: its reader gives it back");
    const moved = new Set<ArrayBuffer>();
    assert.equal(
      packForTransfer(body, () => true, moved),
      body,
    );
    assert.ok(moved.has(body.buffer as ArrayBuffer));
    assert.equal(bodyPool.lent(body.buffer), false, "the pool never lends it again");
  });
});
