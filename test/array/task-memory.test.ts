import assert from "node:assert/strict";
import { test } from "node:test";
import { fromZarr } from "@zask/array";
import { TaskMemoryError, bullmq } from "@zask/scheduler";
import { FIXTURES, expected, plain } from "./helpers.ts";
import { serveFixtures } from "../helpers/fixture-server.ts";

// dense.c3.gzip.u2.zarr: 17 uint16 in chunks of 3, so 6 bytes per stored chunk and a last block of 2 elements
const U2 = "dense.c3.gzip.u2.zarr";

test("plan() projects a rechunk's gather task as its input blocks plus its output block", async () => {
  const x = await fromZarr(FIXTURES + U2);
  const { memory } = x.rechunk([5]).plan();
  const gathers = [...memory.tasks].filter(([k]) => k.startsWith('["rechunk-'));
  // block 0 (elements 0-4) gathers input blocks 0 and 1: 2 × 6 B in, 5 × 2 B out; block 1 (5-9) blocks 1-3
  assert.deepEqual(
    gathers.map(([, b]) => b),
    [2 * 6 + 10, 3 * 6 + 10, 2 * 6 + 10],
  );
  // a fetch fused with its decode: the stored chunk and the decoded block (the last one has 2 elements)
  const loads = [...memory.tasks].filter(([k]) => k.startsWith('["from-zarr-')).map(([, b]) => b);
  assert.deepEqual(loads, [12, 12, 12, 12, 12, 6 + 4]);
  assert.equal(memory.unsized, 0);
  // the assembly holds every block and the whole array: 17 × 2 B twice
  assert.deepEqual(memory.largest, { key: memory.largest!.key, op: "@zask/array/ops#assemble", bytes: 68 });
});

test("plan() projects a tree reduction's partial results from the kept axes and the kind", async () => {
  const x = await fromZarr(FIXTURES + U2);
  const { memory } = x.mean({ axis: 0 }).plan();
  const chunk = [...memory.tasks].filter(([k]) => k.startsWith('["mean-chunk-')).map(([, b]) => b);
  // fetch 6 B + decoded block + one float64 partial sum
  assert.deepEqual(chunk, [20, 20, 20, 20, 20, 18]);
  const combine = [...memory.tasks].filter(([k]) => k.startsWith('["mean-combine-')).map(([, b]) => b);
  // splitEvery 4: 4 partials in and one out, then the 2 left
  assert.deepEqual(combine, [5 * 8, 3 * 8]);
  assert.equal(memory.largest!.op, "@zask/array/ops#reduceCombine");
  assert.equal(memory.largest!.bytes, 40);
  // var keeps its mean and M2 per element: 16 B per partial
  const v = x.var({ axis: 0 }).plan().memory;
  assert.deepEqual(
    [...v.tasks].filter(([k]) => k.startsWith('["var-combine-')).map(([, b]) => b),
    [5 * 16, 3 * 16],
  );
});

test("compute() refuses a task over maxTaskMemory before any request reaches the server", async () => {
  const server = await serveFixtures(FIXTURES);
  try {
    const x = await fromZarr(`${server.url}/${U2}`);
    // the chunk task of rechunked block 1 gathers 3 stored chunks (3 × (6 + 6) B), makes a 10 B block
    // and an 8 B partial sum: 36 B, the most of any task (the final one holds 2 partials, a sum, the result: 32 B)
    const y = x.rechunk([5]).sum({ splitEvery: 2 });
    const opened = server.requests.length;
    await assert.rejects(y.compute({ maxTaskMemory: 35 }), (e: unknown) => {
      assert.ok(e instanceof TaskMemoryError);
      assert.equal(e.name, "TaskMemoryError");
      assert.match(e.key, /^\["sum-chunk-[0-9a-f]+",1\]$/);
      assert.equal(e.op, "@zask/array/ops#gather");
      assert.equal(e.bytes, 36);
      assert.equal(e.limit, 35);
      assert.match(e.message, /36 bytes.*maxTaskMemory 35/);
      return true;
    });
    // a distributed compute refuses it too, before it connects to Redis (nothing listens here)
    const cluster = bullmq({ connection: "redis://127.0.0.1:1", timeout: 200 });
    await assert.rejects(y.compute({ scheduler: cluster, maxTaskMemory: 35 }), TaskMemoryError);
    await cluster.close();
    await assert.rejects(y.persist({ maxTaskMemory: 35 }), TaskMemoryError);
    assert.equal(server.requests.length, opened, "no chunk was requested");
    const u2 = expected.stores[U2]!.data as number[];
    assert.deepEqual(plain(await y.compute({ maxTaskMemory: 36 })), [String(u2.reduce((a, b) => a + b, 0))]); // a uint64 sum
    assert.ok(server.requests.length > opened);
    await assert.rejects(y.compute({ maxTaskMemory: 0 }), RangeError);
  } finally {
    await server.close();
  }
});
