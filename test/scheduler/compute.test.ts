import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Alias, Blockwise, CycleError, DataNode, Fused, Graph, MissingKeyError, Task, blockIndex, blockKey, blockwiseInput, op, ref } from "@zask/graph";
import { Profiler, TaskError, close, compute, resolveOpModule } from "@zask/scheduler";

const ops = new URL("./fixtures/ops.js", import.meta.url).href;
const fill = op(ops, "fill");
const sum = op(ops, "sum");
const affine = op(ops, "affine");
const boom = op(ops, "boom");
const whereAmI = op(ops, "whereAmI");

after(() => close());

describe("compute", () => {
  test("returns the values of the requested keys in their order, in both schedulers", async () => {
    const g = Graph.fromNodes("x", [
      new DataNode("a", 2),
      new DataNode("b", 5),
      new Task("c", (x: number, y: number) => x * y, [ref("a"), ref("b")]),
      new Alias("d", "c"),
      new Task("e", (xs: number[], o: { k: number }) => xs.reduce((s, x) => s + x, 0) + o.k, [[ref("a"), ref("d")], { k: ref("b") }]),
    ]);
    for (const scheduler of ["sync", "threads"] as const) {
      assert.deepEqual(await compute(g, ["e", "c", "a"], { scheduler }), [17, 10, 2]);
    }
  });

  test("runs cpu op references on worker threads when their inputs pass the inline threshold", async () => {
    const g = Graph.fromNodes("x", [new Task("a", fill, [1000, 1]), new Task("w", whereAmI, [ref("a")])]);
    const [onPool] = (await compute(g, ["w"], { inlineThreshold: 0, optimize: false })) as [{ threadId: number; length: number }];
    assert.notEqual(onPool.threadId, 0);
    assert.equal(onPool.length, 1000);
    const [inline] = (await compute(g, ["w"], { inlineThreshold: Infinity, optimize: false })) as [{ threadId: number }];
    assert.equal(inline.threadId, 0);
  });

  test("by default a compute with a single cpu task runs it inline, however big its inputs; two go to the pool", async () => {
    const big = new Float64Array(64 * 1024); // 512 KiB: past the inline threshold
    const one = Graph.fromNodes("x", [new DataNode("d", big), new Task("w", whereAmI, [ref("d")])]);
    const [alone] = (await compute(one, ["w"], { optimize: false, progress: false })) as [{ threadId: number }];
    assert.equal(alone.threadId, 0, "nothing could run beside it: no message");
    const two = Graph.fromNodes("x", [new DataNode("d", big), new Task("w1", whereAmI, [ref("d")]), new Task("w2", whereAmI, [ref("d")])]);
    const both = (await compute(two, ["w1", "w2"], { optimize: false, progress: false })) as { threadId: number }[];
    assert.ok(
      both.every((r) => r.threadId !== 0),
      "with two, the big inputs go to the pool",
    );
    const [forced] = (await compute(one, ["w"], { optimize: false, progress: false, inlineThreshold: 0 })) as [{ threadId: number }];
    assert.notEqual(forced.threadId, 0, "an explicit threshold is honoured");
  });

  test("a worker imports an op by bare package specifier (a workspace package)", async () => {
    const g = Graph.fromNodes("x", [new Task("k", op("@zask/graph", "blockKey"), ["x", [1, 2]])]);
    assert.deepEqual(await compute(g, ["k"], { inlineThreshold: 0, progress: false }), ['["x",1,2]']);
    assert.match(resolveOpModule("@zask/graph"), /^file:.*graph\/dist\/index\.js$/);
  });

  test("a cpu op that proves slow inline goes to the pool from then on, however small its inputs", async () => {
    const spinThread = op(ops, "spinThread");
    const g = Graph.fromNodes(
      "x",
      Array.from({ length: 6 }, (_, i) => new Task(`s-${i}`, spinThread, [2])),
    );
    const threads = (await compute(g, [...g.materialize().keys()], { progress: false })) as number[];
    assert.equal(threads.filter((t) => t === 0).length, 1, `threads ${threads.join(", ")}: the first run inline, measured, then the pool`);
    const inline = (await compute(g, [...g.materialize().keys()], { inlineThreshold: Infinity, progress: false })) as number[];
    assert.deepEqual(inline, [0, 0, 0, 0, 0, 0], "Infinity keeps every cpu op inline");
  });

  test("an op sent to the pool by one slow (cold) run comes back inline once the workers measure it cheap", async () => {
    const cold = op(ops, "coldThenFast");
    const g = Graph.fromNodes(
      "x",
      Array.from({ length: 300 }, (_, i) => new Task(`c-${i}`, cold, [])),
    );
    const threads = (await compute(g, [...g.materialize().keys()], { progress: false })) as number[];
    const inline = threads.filter((t) => t === 0).length;
    assert.ok(
      threads.some((t) => t !== 0),
      "some ran on the pool",
    );
    assert.ok(inline > 1, `${inline} ran inline: the first, then those still queued once the pool reported them cheap`);
  });

  test("runs the cpu steps of a fused task as one message and returns the last step", async () => {
    const f = new Fused("f", [new Task("f1", fill, [10, 1]), new Task("f2", affine, [ref("f1"), 2, 0]), new Task("f", sum, [ref("f2"), ref("f1")])]);
    for (const inlineThreshold of [0, Infinity]) {
      const prof = new Profiler();
      assert.deepEqual(await compute(Graph.fromNodes("f", [f]), ["f"], { inlineThreshold, callbacks: prof }), [30]);
      assert.equal(prof.tasks[0]!.lane, inlineThreshold === 0 ? "pool" : "inline");
    }
  });

  test("a fused cpu run on the pool resolves steps read inside nested arguments and hands on the values later steps read", async () => {
    const combine = op(ops, "combine");
    const f = new Fused("f", [
      new Task("a", fill, [3, 2]),
      new Task("b", sum, [ref("a"), 1]),
      // an earlier step read inside an array, and a step read twice
      new Task("c", combine, [[ref("b"), 10, ref("b")]]),
      // inline: the cpu run must hand on `a` as well as `c`
      new Task("f", (a: Float64Array, c: number) => a.length * 100 + c, [ref("a"), ref("c")]),
    ]);
    for (const inlineThreshold of [0, Infinity]) {
      const prof = new Profiler();
      assert.deepEqual(await compute(Graph.fromNodes("f", [f]), ["f"], { inlineThreshold, callbacks: prof }), [324]);
      assert.equal(prof.tasks[0]!.lane, inlineThreshold === 0 ? "pool+inline" : "inline+inline");
    }
  });

  test("fused Blockwise nodes run from their step arguments, and a failing step is named", async () => {
    const grid = [4];
    let g = Graph.fromLayer(new Blockwise({ name: "f", outIndex: "i", numBlocks: grid, op: fill, args: [10, 1] }));
    g = g.withLayer(new Blockwise({ name: "a", outIndex: "i", numBlocks: grid, op: affine, args: [blockwiseInput("f", "i", grid), 2, 0] }), ["f"]);
    g = g.withLayer(
      new Blockwise({
        name: "s",
        outIndex: "i",
        numBlocks: grid,
        op: sum,
        args: [blockwiseInput("a", "i", grid), blockwiseInput("f", "i", grid), blockIndex()],
      }),
      ["a"],
    );
    const keys = [0, 1, 2, 3].map((i) => blockKey("s", [i]));
    // 10 twos, 10 ones and the block index [i]
    const expected = [0, 1, 2, 3].map((i) => 30 + i);
    for (const options of [{ scheduler: "sync" as const }, { inlineThreshold: 0 }, { inlineThreshold: Infinity }]) {
      assert.deepEqual(await compute(g, keys, { progress: false, ...options }), expected, JSON.stringify(options));
    }
    const bad = g.withLayer(new Blockwise({ name: "b", outIndex: "i", numBlocks: grid, op: boom, args: [blockwiseInput("s", "i", grid)] }), ["s"]);
    for (const options of [{ scheduler: "sync" as const }, { inlineThreshold: 0 }]) {
      await assert.rejects(compute(bad, [blockKey("b", [2])], { progress: false, ...options }), (e: unknown) => {
        assert.ok(e instanceof TaskError, String(e));
        assert.equal(e.key, blockKey("b", [2]));
        assert.equal(e.step, blockKey("b", [2]));
        assert.equal(e.op, `${ops}#boom`);
        return true;
      });
    }
  });

  test("fused nodes whose steps are async run on the main thread, and an async step's rejection is named", async () => {
    const grid = [4];
    const later = async (i: number): Promise<Float64Array> => {
      await new Promise((r) => setImmediate(r));
      return new Float64Array(3).fill(i);
    };
    const total = async (a: Float64Array): Promise<number> => a.reduce((s, x) => s + x, 0);
    const failOn2 = async (a: Float64Array): Promise<number> => {
      if (a[0] === 2) throw new RangeError("no twos");
      return a[0]!;
    };
    // Blockwise stages fused: the node runs from its step arguments
    let g = Graph.fromLayer(new Blockwise({ name: "l", outIndex: "i", numBlocks: grid, op: later, args: [blockIndex()] }));
    const lin = blockwiseInput("l", "i", grid);
    const ok = g.withLayer(new Blockwise({ name: "t", outIndex: "i", numBlocks: grid, op: total, args: [lin] }), ["l"]);
    const bad = g.withLayer(new Blockwise({ name: "b", outIndex: "i", numBlocks: grid, op: failOn2, args: [lin] }), ["l"]);
    // plain tasks fused by linear fusion: the node runs its built steps
    const chain = Graph.fromNodes("c", [new Task("x", later, [[2]]), new Task("y", failOn2, [ref("x")])]);
    const keys = (name: string): string[] => [0, 1, 2, 3].map((i) => blockKey(name, [i]));
    for (const options of [{ scheduler: "sync" as const }, { inlineThreshold: Infinity }]) {
      const label = JSON.stringify(options);
      assert.deepEqual(await compute(ok, keys("t"), { progress: false, ...options }), [0, 3, 6, 9], label);
      await assert.rejects(compute(bad, keys("b"), { progress: false, ...options }), (e: unknown) => {
        assert.ok(e instanceof TaskError, String(e));
        assert.equal(e.key, blockKey("b", [2]), label);
        assert.equal(e.step, blockKey("b", [2]), label);
        assert.match(String((e.cause as Error).message), /no twos/);
        return true;
      });
      await assert.rejects(compute(chain, ["y"], { progress: false, ...options }), (e: unknown) => {
        assert.ok(e instanceof TaskError, String(e));
        assert.equal(e.key, "y", label);
        assert.equal(e.step, "y", label);
        return true;
      });
    }
  });

  test("a failing op on a worker rejects with a TaskError naming the key and op, and the pool stays usable", async () => {
    const g = Graph.fromNodes("x", [new Task("a", fill, [10, 1]), new Task("bad", boom, [ref("a")])]);
    await assert.rejects(compute(g, ["bad"], { inlineThreshold: 0, optimize: false }), (e: unknown) => {
      assert.ok(e instanceof TaskError);
      assert.equal(e.key, "bad");
      assert.equal(e.op, `${ops}#boom`);
      assert.ok(e.cause instanceof Error);
      assert.equal(e.cause.name, "RangeError");
      assert.match(e.cause.message, /boom on 10/);
      return true;
    });
    const ok = Graph.fromNodes("x", [new Task("a", fill, [10, 1]), new Task("s", sum, [ref("a")])]);
    assert.deepEqual(await compute(ok, ["s"], { inlineThreshold: 0 }), [10]);
  });

  test("a failing inline function rejects with a TaskError in sync mode too", async () => {
    const g = Graph.fromNodes("x", [
      new Task(
        "t",
        function explode() {
          throw new Error("no");
        },
        [],
      ),
    ]);
    await assert.rejects(compute(g, ["t"], { scheduler: "sync" }), (e: unknown) => e instanceof TaskError && e.key === "t" && e.op === "explode");
  });

  test("an unknown key is a MissingKeyError", async () => {
    const g = Graph.fromNodes("x", [new DataNode("a", 1)]);
    await assert.rejects(compute(g, ["nope"]), MissingKeyError);
  });

  test("a cycle is a CycleError, whichever passes run", async () => {
    const g = Graph.fromNodes("x", [
      new Task("a", (x: number) => x, [ref("b")]),
      new Task("b", (x: number) => x, [ref("a")]),
      new Task("c", (x: number) => x, [ref("a")]),
    ]);
    for (const optimize of [true, false, { order: false }, { cull: false, fuse: false }]) {
      await assert.rejects(compute(g, ["c"], { optimize }), CycleError);
    }
  });

  test("bad options are RangeErrors", async () => {
    const g = Graph.fromNodes("x", [new DataNode("a", 1)]);
    await assert.rejects(compute(g, ["a"], { scheduler: "processes" as never }), RangeError);
    await assert.rejects(compute(g, ["a"], { httpConcurrency: 0 }), RangeError);
  });
});
