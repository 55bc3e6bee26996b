import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { DataNode, Graph, Task, op, ref } from "@zask/graph";
import { Profiler, SIZE_OF, close, compute, sizeOf } from "@zask/scheduler";

const ops = new URL("./fixtures/ops.js", import.meta.url).href;
const fill = op(ops, "fill");
const affine = op(ops, "affine");
const sum = op(ops, "sum");
const combine = op(ops, "combine");
const MB = 1 << 20;

after(() => close());

describe("memory", () => {
  for (const scheduler of ["sync", "threads"] as const) {
    test(`an intermediate is released as soon as its last dependent has run (${scheduler})`, async () => {
      // a → b → c → total: each array is 1 MiB (131072 float64)
      const g = Graph.fromNodes("chain", [
        new Task("a", fill, [MB / 8, 1]),
        new Task("b", affine, [ref("a"), 2, 0]),
        new Task("c", affine, [ref("b"), 2, 0]),
        new Task("total", sum, [ref("c")]),
      ]);
      const prof = new Profiler();
      const [total] = await compute(g, ["total"], { scheduler, optimize: false, inlineThreshold: 0, callbacks: prof, progress: false });
      assert.equal(total, 4 * (MB / 8));
      assert.deepEqual(
        prof.tasks.map((t) => [t.key, t.heldBytes]),
        [
          ["a", MB],
          ["b", MB],
          ["c", MB],
          ["total", 0],
        ],
      );
      assert.equal(prof.peakHeldBytes, 2 * MB, "a value and its successor, never three");
    });
  }

  test("a wide tree reduction in priority order holds a few blocks, not all of them", async () => {
    const blocks = 64;
    const tasks: Task[] = [];
    for (let i = 0; i < blocks; i++) {
      tasks.push(new Task(`x-${i}`, fill, [1024, 1]));
      tasks.push(new Task(`s-${i}`, sum, [ref(`x-${i}`)]));
    }
    for (let i = 0; i < blocks / 4; i++) tasks.push(new Task(`p-${i}`, combine, [[0, 1, 2, 3].map((j) => ref(`s-${4 * i + j}`))]));
    tasks.push(new Task("total", combine, [Array.from({ length: blocks / 4 }, (_, i) => ref(`p-${i}`))]));
    const g = Graph.fromNodes("tree", tasks);
    const prof = new Profiler();
    const [total] = await compute(g, ["total"], { scheduler: "sync", optimize: { fuse: false }, callbacks: prof, progress: false });
    assert.equal(total, blocks * 1024);
    assert.ok(prof.peakHeldBytes <= 2 * 8192 + 1024, `peak ${prof.peakHeldBytes} bytes`);
  });

  test("a value read by two tasks on the pool is not moved by the first, and requested values are never moved", async () => {
    const g = Graph.fromNodes("share", [
      new Task("a", fill, [1000, 3]),
      new Task("left", affine, [ref("a"), 1, 0]),
      new Task("right", affine, [ref("a"), 2, 0]),
      new Task("both", sum, [ref("left"), ref("right")]),
    ]);
    const [a, both] = (await compute(g, ["a", "both"], { inlineThreshold: 0, optimize: false, progress: false })) as [Float64Array, number];
    assert.equal(a.length, 1000, "the requested value is intact");
    assert.equal(a[999], 3);
    assert.equal(both, 9000);
  });

  test("the last reader moves a buffer that came from a worker into its worker instead of copying it", async () => {
    const seen: Float64Array[] = [];
    const g = Graph.fromNodes("move", [
      new Task("a", fill, [1 << 16, 1]),
      new Task("peek", (x: Float64Array) => (seen.push(x), x.length), [ref("a")]),
      new Task("b", affine, [ref("a"), 2, 0]),
      new Task("out", sum, [ref("peek"), ref("b")]),
    ]);
    const [out] = await compute(g, ["out"], { inlineThreshold: 0, optimize: false, progress: false });
    assert.equal(out, 2 * (1 << 16) + (1 << 16));
    // `peek` ran inline before `b` (priority), so `b` was the last reader and moved the buffer
    assert.equal(seen[0]!.byteLength, 0, "a's buffer was transferred (detached here)");
  });

  test("a buffer made on the main thread is copied to a worker, never moved (an op may keep it)", async () => {
    const cache = new Float64Array(1000).fill(5);
    const g = Graph.fromNodes("keep", [new Task("cached", () => cache, []), new Task("b", affine, [ref("cached"), 2, 0]), new Task("out", sum, [ref("b")])]);
    const [out] = await compute(g, ["out"], { inlineThreshold: 0, optimize: false, progress: false });
    assert.equal(out, 10_000);
    assert.equal(cache.length, 1000, "the op's cached array is intact");
  });

  test("workers free big buffers after a request without breaking a later request or a result that views them", async () => {
    // one 2 MiB literal read by 16 pool tasks: each message carries its own copy (a big input
    // makes a batch of one), which the worker detaches after the request; the next is intact
    const big = new Float64Array((2 * MB) / 8).fill(0.5);
    const ks = Array.from({ length: 16 }, (_, k) => k);
    const shared = Graph.fromNodes("shared", [new DataNode("big", big), ...ks.map((k) => new Task(`s-${k}`, sum, [ref("big"), k]))]);
    const sums = await compute(
      shared,
      ks.map((k) => `s-${k}`),
      { inlineThreshold: 0, progress: false },
    );
    assert.deepEqual(
      sums,
      ks.map((k) => big.length * 0.5 + k),
    );
    // a 2 MiB intermediate (fill) fused with a step that returns a class instance viewing it:
    // the instance is cloned when the answer is posted, so the buffer must still be there
    const wrapped = Graph.fromNodes("wrapped", [new Task("made", fill, [(2 * MB) / 8, 7]), new Task("head", op(ops, "wrapHead"), [ref("made"), 3])]);
    const [head] = (await compute(wrapped, ["head"], { inlineThreshold: 0, progress: false })) as [{ values: Float64Array }];
    assert.deepEqual([...head.values], [7, 7, 7]);
  });

  test("sizeOf counts typed arrays, {data} objects and arrays of them", () => {
    assert.equal(sizeOf(new Float32Array(10)), 40);
    assert.equal(sizeOf({ data: new Uint8Array(7), shape: [7], dtype: "uint8" }), 7);
    assert.equal(sizeOf([new Float64Array(2), { data: new Int16Array(3) }]), 22);
    assert.equal(sizeOf(42), 0);
  });

  test("sizeOf counts strings by their characters and a header, and asks a class instance that says it can", () => {
    assert.equal(sizeOf("AAACATACAACCAC-1"), 32);
    assert.equal(sizeOf(["AAACATACAACCAC-1", "", "x"]), 32 + 16 + 17);
    // the strings of a block count, its dtype label does not
    assert.equal(sizeOf({ data: ["ab", "cde"], shape: [2], dtype: "string" }), 18 + 19);
    class Packed {
      constructor(readonly bytes: Uint8Array) {}
      [SIZE_OF](): number {
        return this.bytes.byteLength + 8;
      }
    }
    assert.equal(sizeOf({ data: new Packed(new Uint8Array(100)), shape: [3] }), 108);
    // other class instances stay uncounted: sizeOf cannot know what they hold
    assert.equal(sizeOf(new Map([["a", new Float64Array(1000)]])), 0);
  });
});
