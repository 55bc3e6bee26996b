import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ChunkCache, fromZarr, slice, ZarrStore } from "@zask/array";
import { FIXTURES, expected, plain, toSelector } from "./helpers.ts";
import { serveFixtures, type FixtureServer } from "../helpers/fixture-server.ts";

// A real static file server over the fixture stores (written by zarr-python), logging requests.
let server: FixtureServer;
let base: string;

before(async () => {
  // chunk 1.1 of a "broken" store fails; broken stores are the fixtures under another name
  server = await serveFixtures(FIXTURES, {
    resolve: (p) => p.replace("/broken/", "/"),
    failWhen: (p) => p.endsWith("/1.1") && p.includes("broken"),
  });
  base = `${server.url}/`;
});

after(() => server.close());

// every request path the server saw, in order (cleared by the tests)
const log = (): string[] => server.requests;
const chunkRequests = () => log().filter((p) => !/\.z(array|attrs|group|metadata)$|zarr\.json$/.test(p));

const NAME = "dense.c5x4.blosc-lz4.f4.zarr"; // 13 x 11 in 5 x 4 chunks: 3 x 3 blocks

// [selection of expected.json, chunks it touches (counted by hand from 5 x 4 chunks)]
const cases: [number, number][] = [
  [0, 9],
  [1, 6],
  [2, 9],
  [3, 9],
  [4, 3],
  [5, 1],
  [6, 9],
  [7, 9],
  [8, 3],
  [9, 0],
  [10, 0],
  [11, 2],
];

for (const [i, k] of cases) {
  const e = expected.stores[NAME]!.selections[i]!;
  test(`over HTTP, slice ${JSON.stringify(e.selectors)} makes exactly the ${k} chunk requests plan() predicts, and nothing else`, async () => {
    const store = new ZarrStore(base + NAME);
    const x = await fromZarr(store);
    assert.ok(log().length >= 1, "metadata is read when opening");
    log().length = 0;
    const y = x.slice(...e.selectors.map(toSelector));
    const plan = y.plan();
    assert.equal(plan.requests, k);
    assert.equal(plan.bytes, k * 5 * 4 * 4);
    const r = await y.compute({ httpConcurrency: 2 });
    assert.deepEqual(plain(r), e.data);
    assert.equal(log().length, k, `requests: ${log().join(" ")}`);
    assert.equal(chunkRequests().length, k);
    assert.equal(new Set(log()).size, k, "no chunk is fetched twice");
    assert.equal(store.counters.chunkRequests, k);
    assert.equal(store.counters.chunkBytes, plan.bytes);
    log().length = 0;
  });
}

test("a column mask over HTTP touches only the column blocks with a true value", async () => {
  const x = await fromZarr(base + NAME);
  log().length = 0;
  const mask = Array.from({ length: 11 }, (_, j) => j === 1 || j === 9); // column blocks 0 and 2
  const y = x.slice(null, mask);
  assert.equal(y.plan().requests, 6);
  await y.compute();
  assert.deepEqual(chunkRequests().sort(), [`/${NAME}/0.0`, `/${NAME}/0.2`, `/${NAME}/1.0`, `/${NAME}/1.2`, `/${NAME}/2.0`, `/${NAME}/2.2`]);
  log().length = 0;
});

test("a missing chunk over HTTP (404) is the fill value, not an error", async () => {
  const name = "missing.c3x4.blosc-lz4.fill7.i4.zarr";
  const store = new ZarrStore(base + name);
  const x = await fromZarr(store);
  const r = await x.compute();
  assert.deepEqual(plain(r), expected.stores[name]!.data);
  assert.equal(store.counters.missingChunks, 4);
  log().length = 0;
});

test("with a chunk cache, a repeated query costs zero requests and plan() knows it", async () => {
  const cache = new ChunkCache({ maxBytes: 1 << 20 });
  const x = await fromZarr(base + NAME, { cache });
  const y = x.slice(slice(2, 9), [0, 5]);
  log().length = 0;
  const first = await y.compute();
  const n = log().length;
  assert.equal(n, 4);
  assert.equal(y.plan().requests, 0);
  assert.equal(y.plan().stores[0]!.cached, 4);
  const again = await y.compute();
  assert.equal(log().length, n, "no new request");
  assert.deepEqual(plain(again), plain(first));
  assert.equal(x.stores[0]!.counters.cacheHits, 4);
  log().length = 0;
});

test("opening over HTTP reads each metadata document once and no chunk", async () => {
  log().length = 0;
  const x = await fromZarr(base + NAME);
  assert.deepEqual(x.shape, [13, 11]);
  assert.equal(log().filter((p) => p.endsWith("/.zarray")).length, 1, log().join(" "));
  assert.equal(chunkRequests().length, 0);
  assert.equal(new Set(log()).size, log().length, log().join(" "));
  log().length = 0;
});

test("plan().tasks is what the scheduler runs: one fused fetch+decode+select task per touched chunk, plus the assembly", async () => {
  const x = await fromZarr(base + NAME);
  const y = x.slice(slice(0, 7), [0, 9]); // row blocks 0, 1; column blocks 0, 2
  const plan = y.plan();
  let started = -1;
  const lanes: string[] = [];
  await y.compute({ callbacks: { start: (info) => (started = info.tasks), posttask: (_k, _v, info) => lanes.push(info.lane) } });
  assert.equal(plan.requests, 4);
  assert.equal(plan.tasks, 5);
  assert.equal(started, plan.tasks);
  assert.equal(lanes.filter((l) => l.startsWith("io")).length, 4, `lanes: ${lanes.join(", ")}`);
  log().length = 0;
});

test("a chunk the server fails to serve (HTTP 500) fails the compute with the chunk's URL and status", async () => {
  const x = await fromZarr(`${base}broken/${NAME}`);
  await assert.doesNotReject(x.slice(0).compute({ retries: 0 }));
  await assert.rejects(x.compute({ retries: 0 }), (e: Error & { url?: string; status?: number; cause?: { name?: string; url?: string; status?: number } }) => {
    const chunkError: { name?: string; url?: string; status?: number } | undefined = e.name === "ChunkFetchError" ? e : e.cause;
    assert.equal(chunkError?.name, "ChunkFetchError", String(e));
    assert.ok(chunkError?.url?.endsWith(`/broken/${NAME}/1.1`), chunkError?.url);
    assert.equal(chunkError?.status, 500);
    return true;
  });
  log().length = 0;
});
