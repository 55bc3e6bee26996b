import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { ByteRangeError, HttpAccessDeniedError, HttpError, IoLane, recycleBody, ReadPlanner, coalesceFor } from "@zask/scheduler";
import { bodyPool } from "@zask/scheduler/body-pool";
import { MAX_GAP, MIN_GAP } from "../../packages/scheduler/src/origin-stats.ts";
import { sharedBodyPool } from "../../packages/scheduler/src/http/shared-body-pool.ts";
import { serveRanges, serveRangesDuringTests } from "../helpers/range-server.ts";

// objects of known bytes: byte i of object k is (i * 7 + k) & 255
const dir = mkdtempSync(join(tmpdir(), "zask-read-planner-"));
const SIZE = 100_000;
const bytesOf = (k: number): Uint8Array => Uint8Array.from({ length: SIZE }, (_, i) => (i * 7 + k) & 255);
mkdirSync(join(dir, "o"));
for (let k = 0; k < 40; k++) writeFileSync(join(dir, "o", String(k)), bytesOf(k));

const server = serveRangesDuringTests(dir);

const url = (k: number): string => `${server.url}/o/${k}`;
const range = (object: string, offset: number, length: number) => ({ object, offset, length });
const expectBytes = (k: number, offset: number, length: number) => bytesOf(k).subarray(offset, offset + length);

/**
 * A server of object `k` that answers a range with its first 50,000 bytes, then the rest only
 * once `finish()` is called; `ranges` lists the Range headers it saw.
 */
async function gatedServer(k: number): Promise<{ url: string; ranges: string[]; finish: () => void; close: () => void }> {
  const bytes = bytesOf(k);
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const ranges: string[] = [];
  const gated = createServer((req, res) => {
    ranges.push(String(req.headers.range));
    const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range))!;
    const body = bytes.subarray(Number(a), Number(b) + 1);
    res.writeHead(206, { "content-length": body.byteLength, "content-range": `bytes ${a}-${b}/${SIZE}` });
    res.write(body.subarray(0, 50_000));
    void finished.then(() => res.end(body.subarray(50_000)));
  });
  await new Promise<void>((r) => gated.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(gated.address() as { port: number }).port}/o/${k}`,
    ranges,
    finish,
    close: () => {
      finish();
      gated.closeAllConnections();
      gated.close();
    },
  };
}

describe("ReadPlanner over HTTP", () => {
  test("sends one request for declared ranges of one object whose gaps are under maxGap, and gives each reader its own bytes", async () => {
    server.reset();
    const planner = new ReadPlanner(new IoLane(), { coalesce: { maxGap: 1000, maxWaste: Infinity } });
    const want = [range(url(0), 0, 100), range(url(0), 600, 50), range(url(0), 1200, 300)];
    planner.declare(want);
    const got = await Promise.all(want.map((r) => planner.read(r)));
    want.forEach((r, i) => assert.deepEqual(got[i], expectBytes(0, r.offset, r.length)));
    assert.deepEqual(server.totals(), { requests: 1, bytes: 1500 });
    assert.equal(server.log[0]!.range, "bytes=0-1499");
    assert.deepEqual(planner.stats, { requests: 1, bytes: 1500 });
  });

  test("requests a range declared by several readers once, and every reader gets its bytes", async () => {
    server.reset();
    const planner = new ReadPlanner(new IoLane(), { coalesce: { maxGap: 0 } });
    const r = range(url(1), 5000, 4096);
    planner.declare([r, r, r]);
    const got = await Promise.all([planner.read(r), planner.read(r), planner.read(r)]);
    for (const g of got) assert.deepEqual(g, expectBytes(1, 5000, 4096));
    // a body read by several tasks is handed out so that moving one to a worker leaves the others intact
    assert.equal(new Set(got.map((g) => g!.buffer)).size, 3);
    assert.deepEqual(server.totals(), { requests: 1, bytes: 4096 });
  });

  test("reads ranges whose gap costs more than a round trip with separate requests", async () => {
    server.reset();
    const planner = new ReadPlanner(new IoLane(), { coalesce: { maxGap: 1000, maxWaste: Infinity } });
    const want = [range(url(2), 0, 10), range(url(2), 5000, 10), range(url(2), 5010, 10)];
    planner.declare(want);
    const got = await Promise.all(want.map((r) => planner.read(r)));
    want.forEach((r, i) => assert.deepEqual(got[i], expectBytes(2, r.offset, r.length)));
    assert.deepEqual(server.totals(), { requests: 2, bytes: 30 });
  });

  test("never has more requests in flight to one origin than its bound, as counted by the server", async () => {
    const slow = await serveRanges(dir, { delay: 15 });
    try {
      const planner = new ReadPlanner(new IoLane(), { concurrency: 3 });
      const want = Array.from({ length: 30 }, (_, k) => range(`${slow.url}/o/${k}`, 10, 20));
      planner.declare(want);
      const got = await Promise.all(want.map((r) => planner.read(r)));
      got.forEach((g, k) => assert.deepEqual(g, expectBytes(k, 10, 20)));
      assert.equal(slow.totals().requests, 30);
      assert.equal(slow.maxInFlight, 3);
    } finally {
      await slow.close();
    }
  });

  test("sends nothing before a read, then the request read and the declared ones after it while their bytes fit readAheadBytes", async () => {
    server.reset();
    const ranges = [range(url(3), 0, 10), range(url(3), 100, 10), range(url(3), 200, 10), range(url(3), 300, 10)];
    const planner = new ReadPlanner(new IoLane(), { coalesce: { maxGap: 0 } });
    planner.declare(ranges);
    assert.equal(server.totals().requests, 0);
    assert.deepEqual(await planner.read(ranges[1]!), expectBytes(3, 100, 10));
    // the default budget holds all of them: every declared request is on its way
    assert.equal(planner.stats.requests, 4);
    for (const r of [ranges[0]!, ranges[2]!, ranges[3]!]) assert.deepEqual(await planner.read(r), expectBytes(3, r.offset, r.length));
    assert.equal(server.totals().requests, 4);

    server.reset();
    const tight = new ReadPlanner(new IoLane(), { coalesce: { maxGap: 0 }, readAheadBytes: 15 });
    tight.declare(ranges);
    assert.deepEqual(await tight.read(ranges[1]!), expectBytes(3, 100, 10));
    // one request ahead, the first declared not read (10 bytes; a second would pass 15)
    assert.equal(tight.stats.requests, 2);
    // reading it frees the budget for the next one
    assert.deepEqual(await tight.read(ranges[0]!), expectBytes(3, 0, 10));
    assert.equal(tight.stats.requests, 3);
    assert.deepEqual(await tight.read(ranges[2]!), expectBytes(3, 200, 10));
    assert.deepEqual(await tight.read(ranges[3]!), expectBytes(3, 300, 10));
    assert.deepEqual(server.log.map((e) => e.range).sort(), ["bytes=0-9", "bytes=100-109", "bytes=200-209", "bytes=300-309"]);
  });

  test("sends one request ahead even when it alone is larger than readAheadBytes", async () => {
    server.reset();
    const planner = new ReadPlanner(new IoLane(), { coalesce: { maxGap: 0 }, readAheadBytes: 0 });
    planner.declare([range(url(3), 0, 10), range(url(3), 100, 10), range(url(3), 200, 10)]);
    await planner.read(range(url(3), 0, 10));
    assert.equal(planner.stats.requests, 2);
    // read the rest, so that no request of this test is still in flight when the next one counts
    await planner.read(range(url(3), 100, 10));
    await planner.read(range(url(3), 200, 10));
    assert.deepEqual(server.totals(), { requests: 3, bytes: 30 });
  });

  test("with sharedBodies, reads the ranges of one merged request as views of one SharedArrayBuffer, and a range alone into its own buffer", async () => {
    server.reset();
    const planner = new ReadPlanner(new IoLane(), { coalesce: { maxGap: 0 }, sharedBodies: true });
    const merged = [range(url(5), 0, 100), range(url(5), 100, 50)];
    const alone = range(url(5), 500, 20);
    planner.declare([...merged, alone]);
    const [a, b, c] = await Promise.all([...merged, alone].map((r) => planner.read(r)));
    assert.deepEqual(a, expectBytes(5, 0, 100));
    assert.deepEqual(b, expectBytes(5, 100, 50));
    assert.deepEqual(c, expectBytes(5, 500, 20));
    assert.ok(a!.buffer instanceof SharedArrayBuffer);
    assert.equal(a!.buffer, b!.buffer);
    assert.ok(c!.buffer instanceof ArrayBuffer);
    assert.deepEqual(server.totals(), { requests: 2, bytes: 170 });
    // without it, no body is shared
    const plain = new ReadPlanner(new IoLane(), { coalesce: { maxGap: 0 } });
    plain.declare(merged);
    const [p] = await Promise.all(merged.map((r) => plain.read(r)));
    assert.ok(p!.buffer instanceof ArrayBuffer);
  });

  test("serves an undeclared range from a planned request that covers it, or alone", async () => {
    server.reset();
    const planner = new ReadPlanner(new IoLane(), { coalesce: { maxGap: 100, maxWaste: Infinity } });
    planner.declare([range(url(4), 0, 10), range(url(4), 50, 10)]);
    const [a, inside, b] = await Promise.all([planner.read(range(url(4), 0, 10)), planner.read(range(url(4), 20, 5)), planner.read(range(url(4), 50, 10))]);
    assert.deepEqual(inside, expectBytes(4, 20, 5));
    assert.deepEqual(a, expectBytes(4, 0, 10));
    assert.deepEqual(b, expectBytes(4, 50, 10));
    assert.equal(server.totals().requests, 1);
    assert.deepEqual(await planner.read(range(url(4), 900, 3)), expectBytes(4, 900, 3));
    assert.equal(server.totals().requests, 2);
  });

  test("reads a missing object (404) as null for every reader", async () => {
    const planner = new ReadPlanner(new IoLane());
    const want = [range(`${server.url}/o/none`, 0, 10), range(`${server.url}/o/none`, 20, 10)];
    planner.declare(want);
    assert.deepEqual(await Promise.all(want.map((r) => planner.read(r))), [null, null]);
  });

  test("reads 410 (and listed missingStatuses) as null, and refuses 403 with an HttpAccessDeniedError", async () => {
    const statuses = createServer((req, res) => res.writeHead(Number(req.url!.slice(1))).end());
    await new Promise<void>((r) => statuses.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(statuses.address() as { port: number }).port}`;
    try {
      assert.equal(await new ReadPlanner(new IoLane()).read(range(`${base}/410`, 0, 4)), null);
      assert.equal(await new ReadPlanner(new IoLane(), { missingStatuses: [403] }).read(range(`${base}/403`, 0, 4)), null);
      await assert.rejects(
        new ReadPlanner(new IoLane()).read(range(`${base}/403`, 0, 4)),
        (e: unknown) => e instanceof HttpAccessDeniedError && e.status === 403,
      );
    } finally {
      statuses.closeAllConnections();
      statuses.close();
    }
  });

  test("cuts the range out of the whole object when the server ignores Range", async () => {
    const deaf = await serveRanges(dir, { ignoreRange: true });
    try {
      const planner = new ReadPlanner(new IoLane());
      assert.deepEqual(await planner.read(range(`${deaf.url}/o/5`, 777, 33)), expectBytes(5, 777, 33));
    } finally {
      await deaf.close();
    }
  });

  test("with sharedBodies, a range alone comes in a pooled buffer, and a range read twice gives the first reader a copy", async () => {
    server.reset();
    const planner = new ReadPlanner(new IoLane(), { coalesce: { maxGap: 0 }, sharedBodies: true });
    const r = range(url(6), 1000, 40_000);
    planner.declare([r, r]);
    const first = await planner.read(r);
    const last = await planner.read(r);
    assert.deepEqual(server.totals(), { requests: 1, bytes: 40_000 });
    assert.ok(bodyPool.lent(last!.buffer), "the last reader's bytes are the pooled body");
    assert.equal(bodyPool.lent(first!.buffer), false, "the first reader has its own copy");
    // the last reader decodes and gives the body back; the next body overwrites it
    recycleBody(last!);
    const other = await planner.read(range(url(7), 0, 40_000));
    assert.equal(other!.buffer, last!.buffer);
    assert.deepEqual(first, expectBytes(6, 1000, 40_000));
    assert.deepEqual(other, expectBytes(7, 0, 40_000));
  });

  test("with sharedBodies, hands each part of a merged request to its reader as soon as its bytes are in", async () => {
    const bytes = bytesOf(7);
    const gated = await gatedServer(7);
    const { ranges, url: where } = gated;
    try {
      const planner = new ReadPlanner(new IoLane(), { coalesce: { maxGap: SIZE, maxWaste: Infinity }, sharedBodies: true });
      const early = range(where, 0, 1000);
      const late = range(where, 70_000, 20_000);
      planner.declare([early, late]);
      let lateDone = false;
      const lateRead = planner.read(late).then((b) => ((lateDone = true), b));
      const a = await Promise.race([planner.read(early), sleep(5000, "still waiting for the rest of the body")]);
      assert.deepEqual(a, bytes.subarray(0, 1000));
      assert.equal(lateDone, false, "the part past the first 50,000 bytes came before its bytes were sent");
      gated.finish();
      assert.deepEqual(await lateRead, bytes.subarray(70_000, 90_000));
      // both parts are views of the one body, which kept its first bytes intact
      assert.deepEqual(a, bytes.subarray(0, 1000));
      assert.deepEqual(ranges, ["bytes=0-89999"]);
    } finally {
      gated.close();
    }
  });

  test("with sharedBodies, release() gives finished merged bodies back, and the next planner's merged read fills the same buffer with its own bytes", async () => {
    server.reset();
    const merged = (k: number) => [range(url(k), 2000, 3000), range(url(k), 9000, 4000)];
    const first = new ReadPlanner(new IoLane(), { coalesce: { maxGap: SIZE, maxWaste: Infinity }, sharedBodies: true });
    first.declare(merged(11));
    const [a, b] = await Promise.all(merged(11).map((r) => first.read(r)));
    assert.ok(a!.buffer instanceof SharedArrayBuffer && a!.buffer === b!.buffer);
    assert.deepEqual([a, b], [expectBytes(11, 2000, 3000), expectBytes(11, 9000, 4000)]);
    const before = sharedBodyPool.freeBytes;
    first.release();
    assert.ok(sharedBodyPool.freeBytes > before, "the finished body went back to the pool");
    first.release(); // a second release gives nothing back twice
    const second = new ReadPlanner(new IoLane(), { coalesce: { maxGap: SIZE, maxWaste: Infinity }, sharedBodies: true });
    second.declare(merged(12));
    const [c, d] = await Promise.all(merged(12).map((r) => second.read(r)));
    assert.equal(c!.buffer, a!.buffer, "the merged read reused the buffer given back");
    assert.deepEqual([c, d], [expectBytes(12, 2000, 3000), expectBytes(12, 9000, 4000)]);
    assert.deepEqual(server.totals(), { requests: 2, bytes: 2 * 11_000 });
  });

  test("with sharedBodies, release() keeps the body of a request still arriving", async () => {
    const bytes = bytesOf(13);
    const gated = await gatedServer(13);
    const where = gated.url;
    try {
      const planner = new ReadPlanner(new IoLane(), { coalesce: { maxGap: SIZE, maxWaste: Infinity }, sharedBodies: true });
      const early = range(where, 0, 1000);
      const late = range(where, 70_000, 20_000);
      planner.declare([early, late]);
      const lateRead = planner.read(late);
      const a = await planner.read(early);
      const before = sharedBodyPool.freeBytes;
      planner.release();
      assert.equal(sharedBodyPool.freeBytes, before, "a body still arriving is not given back");
      gated.finish();
      assert.deepEqual(await lateRead, bytes.subarray(70_000, 90_000));
      assert.deepEqual(a, bytes.subarray(0, 1000));
    } finally {
      gated.close();
    }
  });

  test("with sharedBodies, a merged request cut off midway rejects the readers still waiting, naming the URL, after the parts already in", async () => {
    const bytes = bytesOf(8);
    const cut = createServer((req, res) => {
      const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range))!;
      const body = bytes.subarray(Number(a), Number(b) + 1);
      res.writeHead(206, { "content-length": body.byteLength, "content-range": `bytes ${a}-${b}/${SIZE}` });
      res.write(body.subarray(0, 50_000), () => setTimeout(() => res.destroy(), 50));
    });
    await new Promise<void>((r) => cut.listen(0, "127.0.0.1", r));
    const where = `http://127.0.0.1:${(cut.address() as { port: number }).port}/o/8`;
    try {
      const planner = new ReadPlanner(new IoLane({ retries: 0 }), { coalesce: { maxGap: SIZE, maxWaste: Infinity }, sharedBodies: true });
      const early = range(where, 100, 1000);
      const late = range(where, 80_000, 1000);
      planner.declare([early, late]);
      const [a, b] = await Promise.allSettled([planner.read(early), planner.read(late)]);
      assert.equal(a.status, "fulfilled");
      assert.deepEqual((a as PromiseFulfilledResult<Uint8Array>).value, bytes.subarray(100, 1100));
      assert.equal(b.status, "rejected");
      const e = (b as PromiseRejectedResult).reason as Error;
      assert.ok(e instanceof HttpError, String(e));
      assert.match(e.message, new RegExp(where.replace(/[.]/g, "\\.")));
    } finally {
      cut.closeAllConnections();
      cut.close();
    }
  });

  test("rejects with a ByteRangeError naming the URL when a 206 answer is shorter than the range", async () => {
    const liar = createServer((_req, res) => res.writeHead(206, { "content-length": 4 }).end("abcd"));
    await new Promise<void>((r) => liar.listen(0, "127.0.0.1", r));
    const where = `http://127.0.0.1:${(liar.address() as { port: number }).port}/x`;
    try {
      const planner = new ReadPlanner(new IoLane({ retries: 0 }));
      await assert.rejects(planner.read(range(where, 0, 10)), (e: unknown) => {
        assert.ok(e instanceof ByteRangeError);
        assert.equal(e.object, where);
        assert.match(e.message, /bytes 0-9 of http.*: the server sent 4 bytes/);
        return true;
      });
    } finally {
      liar.closeAllConnections();
      liar.close();
    }
  });
});

test("the gap threshold measured for an origin it read is a power of two within bounds, unless given", async () => {
  const planner = new ReadPlanner(new IoLane());
  await planner.read(range(url(8), 0, 100));
  await planner.read(range(url(8), 0, 200_000 - 100_000));
  const { maxGap, maxBytes, maxWaste } = coalesceFor()(url(9));
  assert.ok(maxGap >= MIN_GAP && maxGap <= MAX_GAP && Number.isInteger(Math.log2(maxGap)), String(maxGap));
  assert.deepEqual([maxBytes, maxWaste], [32 * 2 ** 20, 0.25]);
  assert.deepEqual(coalesceFor({ maxGap: 7, maxBytes: 9, maxWaste: 0 })(url(9)), { maxGap: 7, maxBytes: 9, maxWaste: 0 });
});

describe("ReadPlanner over local files", () => {
  test("makes the same plan with positioned reads, and reads a missing file as null", async () => {
    const planner = new ReadPlanner(undefined, { coalesce: { maxGap: 1000, maxWaste: Infinity } });
    const file = join(dir, "o", "6");
    const want = [range(file, 10, 10), range(file, 500, 20), range(file, 99_990, 10)];
    planner.declare(want);
    assert.deepEqual(planner.plan(want).length, 2);
    const got = await Promise.all(want.map((r) => planner.read(r)));
    want.forEach((r, i) => assert.deepEqual(got[i], expectBytes(6, r.offset, r.length)));
    assert.deepEqual(planner.stats, { requests: 2, bytes: 510 + 10 });
    assert.equal(await planner.read(range(join(dir, "o", "none"), 0, 4)), null);
  });

  test("rejects with a ByteRangeError when the file ends before the range", async () => {
    const planner = new ReadPlanner();
    const file = join(dir, "o", "7");
    await assert.rejects(
      planner.read(range(file, SIZE - 5, 10)),
      (e: unknown) => e instanceof ByteRangeError && e.object === file && /ends after 100000 bytes/.test(e.message),
    );
  });
});
