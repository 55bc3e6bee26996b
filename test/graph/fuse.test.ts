import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  Blockwise,
  Fused,
  FusedBlockwise,
  FusionError,
  Graph,
  MaterializedLayer,
  Task,
  blockIndex,
  blockKey,
  blockwiseInput,
  cull,
  fuse,
  fuseBlockwise,
  fuseLinear,
  indexNodes,
  op,
  perBlock,
  ref,
  stepRef,
  substitute,
  type GraphNode,
  type Key,
} from "@zask/graph";
import { blockwiseGraph, blockwiseSpec, dagGraph, dagKey, dagSpec, evaluate, makeOp } from "./random-graphs.ts";

const fetchChunk = op("@zask/array/ops", "fetchChunk", { lane: "io" });
const decodeChunk = op("@zask/array/ops", "decodeChunk");
const select = op("@zask/array/ops", "getitem");

function loadDecode(n: number): Graph {
  const load = new Blockwise({ name: "load-1", outIndex: "i", numBlocks: [n], op: fetchChunk, args: ["http://h/x", blockIndex()] });
  const dec = new Blockwise({ name: "dec-1", outIndex: "i", numBlocks: [n], op: decodeChunk, args: [blockwiseInput("load-1", "i", [n]), "<f4"] });
  return Graph.fromLayer(load).withLayer(dec, ["load-1"]);
}

function stepKeys(node: GraphNode | undefined): Key[] {
  assert.ok(node instanceof Fused, "a fused node");
  return node.steps.map((s) => s.key);
}

test("blockwise fusion merges a chain of Blockwise layers into one layer of fused nodes", () => {
  const g = loadDecode(3).withLayer(
    new Blockwise({ name: "sel-1", outIndex: "i", numBlocks: [3], op: select, args: [blockwiseInput("dec-1", "i", [3]), { start: 0 }] }),
    ["dec-1"],
  );
  const keys = [0, 1, 2].map((i) => blockKey("sel-1", [i]));
  const fused = fuseBlockwise(g, keys);
  assert.deepEqual([...fused.layers.keys()], ["sel-1"]);
  const layer = fused.layers.get("sel-1")!;
  assert.ok(layer instanceof FusedBlockwise);
  assert.equal(layer.size, 3);
  const node = layer.materialize().get(blockKey("sel-1", [1]));
  assert.deepEqual(stepKeys(node), ['["load-1",1]', '["dec-1",1]', '["sel-1",1]']);
  const steps = (node as Fused).steps;
  assert.deepEqual(
    steps.map((s) => s.op),
    [fetchChunk, decodeChunk, select],
    "each step keeps its own op",
  );
  assert.deepEqual(steps[1]!.args[0], ref('["load-1",1]'));
  assert.deepEqual(node!.dependencies, []);
});

test("a fused layer culls like its output layer and reports the inputs outside it", () => {
  const x = new Blockwise({ name: "x", outIndex: "i", numBlocks: [5], op: fetchChunk, args: [] });
  const a = new Blockwise({ name: "a", outIndex: "i", numBlocks: [5], op: decodeChunk, args: [blockwiseInput("x", "i", [5])] });
  const b = new Blockwise({ name: "b", outIndex: "i", numBlocks: [5], op: select, args: [blockwiseInput("a", "i", [5])] });
  // x is read by another layer too, so only a fuses into b
  const other = new MaterializedLayer("other", [new Task("other", select, [ref(blockKey("x", [0]))])]);
  const g = Graph.fromLayer(x).withLayer(a, ["x"]).withLayer(b, ["a"]).withLayer(other, ["x"]);
  const fused = fuseBlockwise(g, [blockKey("b", [2]), "other"]);
  assert.deepEqual([...fused.layers.keys()], ["x", "b", "other"]);
  assert.deepEqual([...fused.dependencies.get("b")!], ["x"]);
  const { layer, dependencies } = fused.layers.get("b")!.cull([blockKey("b", [2])]);
  assert.deepEqual(dependencies, new Set([blockKey("x", [2])]));
  assert.equal(layer.size, 1);
  assert.deepEqual(layer.materialize().get(blockKey("b", [2]))!.dependencies, [blockKey("x", [2])]);
});

test("a transposed read fuses block (i, j) of the output with block (j, i) of the producer", () => {
  const x = new Blockwise({ name: "x", outIndex: "ij", numBlocks: [2, 3], op: fetchChunk, args: [blockIndex()] });
  const t = new Blockwise({ name: "t", outIndex: "ji", numBlocks: [3, 2], op: decodeChunk, args: [blockwiseInput("x", "ij", [2, 3])] });
  const g = fuseBlockwise(Graph.fromLayer(x).withLayer(t, ["x"]), [blockKey("t", [2, 1])]);
  const node = g.layers
    .get("t")!
    .materialize()
    .get(blockKey("t", [2, 1]));
  assert.deepEqual(stepKeys(node), ['["x",1,2]', '["t",2,1]']);
  assert.deepEqual((node as Fused).steps[0]!.args[0], [1, 2]);
});

test("blockwise fusion leaves a producer whose keys are requested", () => {
  const g = loadDecode(2);
  const fused = fuseBlockwise(g, [blockKey("dec-1", [0]), blockKey("load-1", [1])]);
  assert.deepEqual([...fused.layers.keys()], ["load-1", "dec-1"]);
});

test("blockwise fusion leaves a producer that two layers read", () => {
  const g = loadDecode(2).withLayer(new Blockwise({ name: "other", outIndex: "i", numBlocks: [2], op: select, args: [blockwiseInput("load-1", "i", [2])] }), [
    "load-1",
  ]);
  assert.deepEqual([...fuseBlockwise(g, [blockKey("dec-1", [0]), blockKey("other", [0])]).layers.keys()], ["load-1", "dec-1", "other"]);
});

test("blockwise fusion leaves a producer read twice by its consumer", () => {
  const x = new Blockwise({ name: "x", outIndex: "ij", numBlocks: [2, 2], op: fetchChunk, args: [] });
  const s = new Blockwise({
    name: "s",
    outIndex: "ij",
    numBlocks: [2, 2],
    op: select,
    args: [blockwiseInput("x", "ij", [2, 2]), blockwiseInput("x", "ji", [2, 2])],
  });
  assert.equal(fuseBlockwise(Graph.fromLayer(x).withLayer(s, ["x"]), [blockKey("s", [0, 0])]).layers.size, 2);
});

test("blockwise fusion does not cross a reduction's contraction or a broadcast", () => {
  const x = new Blockwise({ name: "x", outIndex: "ij", numBlocks: [3, 2], op: fetchChunk, args: [] });
  const sum = new Blockwise({ name: "sum", outIndex: "j", numBlocks: [2], op: select, args: [blockwiseInput("x", "ij", [3, 2])] });
  assert.equal(fuseBlockwise(Graph.fromLayer(x).withLayer(sum, ["x"]), [blockKey("sum", [0])]).layers.size, 2);
  const row = new Blockwise({ name: "row", outIndex: "ij", numBlocks: [1, 2], op: fetchChunk, args: [] });
  const y = new Blockwise({ name: "y", outIndex: "ij", numBlocks: [3, 2], op: select, args: [blockwiseInput("row", "ij", [1, 2])] });
  assert.equal(fuseBlockwise(Graph.fromLayer(row).withLayer(y, ["row"]), [blockKey("y", [0, 0])]).layers.size, 2);
});

test("linear fusion turns a chain into one fused node named after its last task", () => {
  const f = makeOp(1);
  const g = Graph.fromNodes("t", [
    new Task("a", f, [1]),
    new Task("b", f, [ref("a")]),
    new Task("c", f, [ref("b")]),
    new Task("d", f, [ref("c"), ref("a2")]),
    new Task("a2", f, [2]),
  ]);
  const nodes = fuseLinear(g, ["d"]).materialize();
  assert.deepEqual([...nodes.keys()].sort(), ["a2", "c", "d"]);
  assert.deepEqual(stepKeys(nodes.get("c")), ["a", "b", "c"]);
  assert.deepEqual(nodes.get("c")!.dependencies, []);
  assert.ok(nodes.get("d") instanceof Task, "d reads two results: a many-to-one step stays a task");
});

test("linear fusion never fuses a requested key into its reader", () => {
  const f = makeOp(1);
  const g = Graph.fromNodes("t", [new Task("a", f, [1]), new Task("b", f, [ref("a")]), new Task("c", f, [ref("b")])]);
  const nodes = fuseLinear(g, ["c", "b"]).materialize();
  assert.deepEqual([...nodes.keys()].sort(), ["b", "c"]);
  assert.deepEqual(stepKeys(nodes.get("b")), ["a", "b"]);
});

test("linear fusion splices the steps of fused Blockwise nodes into a chain", () => {
  const g = loadDecode(2).withLayer(new MaterializedLayer("mean", [new Task("mean", select, [ref(blockKey("dec-1", [0]))])]), ["dec-1"]);
  const keys = ["mean"];
  const nodes = fuse(cull(g, keys), keys).materialize();
  assert.deepEqual([...nodes.keys()], ["mean"]);
  assert.deepEqual(stepKeys(nodes.get("mean")), ['["load-1",0]', '["dec-1",0]', "mean"]);
});

test("fused steps of a Blockwise layer are built when first read, then kept", () => {
  let calls = 0;
  const a = new Blockwise({ name: "a", outIndex: "i", numBlocks: [1000], op: fetchChunk, args: [perBlock((i) => (calls++, i))] });
  const b = new Blockwise({ name: "b", outIndex: "i", numBlocks: [1000], op: decodeChunk, args: [blockwiseInput("a", "i", [1000])] });
  const keys = Array.from({ length: 1000 }, (_, i) => blockKey("b", [i]));
  const nodes = fuse(Graph.fromLayer(a).withLayer(b, ["a"]), keys).materialize();
  // perBlock runs once per block to find the refs it may return (dependencies), not more
  assert.equal(calls, 1000);
  const node = nodes.get(blockKey("b", [7])) as Fused;
  assert.deepEqual(node.ops, [fetchChunk, decodeChunk], "ops are known before the steps");
  assert.equal(calls, 1000);
  assert.equal(node.steps, node.steps);
  assert.equal(calls, 1001);
  assert.deepEqual(node.steps[0]!.args, [[7]]);
});

test("linear fusion keeps a Blockwise layer it leaves alone symbolic, and its numbering and materialize agree", () => {
  const n = 12;
  let g = loadDecode(n);
  // a reduction over 4 decoded blocks at a time: nothing fuses into or out of the Blockwise layer
  const parts = Array.from({ length: n / 4 }, (_, j) => new Task(`part-${j}`, select, [[0, 1, 2, 3].map((k) => ref(blockKey("dec-1", [4 * j + k])))]));
  g = g.withLayer(new MaterializedLayer("parts", parts), ["dec-1"]);
  g = g.withLayer(new MaterializedLayer("total", [new Task("total", select, [parts.map((t) => ref(t.key))])]), ["parts"]);
  const fused = fuse(g, ["total"]);
  assert.ok(fused.layers.get("dec-1") instanceof FusedBlockwise, "the fused Blockwise layer is not materialized");
  const { keys, nodes, depStart, depList } = fused.indexed();
  const m = fused.materialize();
  assert.deepEqual(keys, [...m.keys()]);
  nodes.forEach((node, i) => assert.equal(m.get(keys[i]!), node, "the same node objects"));
  // each part reads the 4 decoded blocks it names, by number
  const part1 = keys.indexOf("part-1");
  assert.deepEqual(
    [...depList.subarray(depStart[part1], depStart[part1 + 1])].map((d) => keys[d]),
    [4, 5, 6, 7].map((k) => blockKey("dec-1", [k])),
  );
  assert.deepEqual(stepKeys(m.get(blockKey("dec-1", [5]))), [blockKey("load-1", [5]), blockKey("dec-1", [5])]);
  // culled to one part first: the kept blocks are found by their place among the kept ones
  const small = fuse(cull(g, ["part-2"]), ["part-2"]).indexed();
  assert.deepEqual(small.keys, [8, 9, 10, 11].map((k) => blockKey("dec-1", [k])).concat("part-2"));
  assert.deepEqual([...small.depList], [0, 1, 2, 3]);
});

test("a perBlock ref into a fused-away collection is reported when the steps are built", () => {
  const a = new Blockwise({ name: "a", outIndex: "i", numBlocks: [2], op: fetchChunk, args: [] });
  const b = new Blockwise({
    name: "b",
    outIndex: "i",
    numBlocks: [2],
    op: decodeChunk,
    args: [blockwiseInput("a", "i", [2]), perBlock(([i]) => ref(blockKey("a", [1 - i!])))],
  });
  const nodes = fuseBlockwise(Graph.fromLayer(a).withLayer(b, ["a"]), [blockKey("b", [0])]).materialize();
  assert.throws(() => (nodes.get(blockKey("b", [0])) as Fused).steps, FusionError);
});

test("fuse keeps every requested key and gives the same values (random DAGs)", () => {
  fc.assert(
    fc.property(dagSpec, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), (spec, picks) => {
      const g = dagGraph(spec);
      const keys = [...new Set(picks.map((p) => dagKey(p % spec.deps.length)))];
      const fused = fuse(cull(g, keys), keys).materialize();
      for (const k of keys) assert.ok(fused.has(k), `requested ${k} survives`);
      assert.deepEqual(evaluate(fused, keys), evaluate(g.materialize(), keys));
    }),
    { numRuns: 200 },
  );
});

test("a fused graph's indexed() numbers its nodes as indexNodes(materialize()) does (random DAGs)", () => {
  fc.assert(
    fc.property(dagSpec, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.boolean(), (spec, picks, all) => {
      const g = dagGraph(spec);
      // every key requested: nothing fuses, and fuse hands over the numbering it made
      const keys = all ? spec.deps.map((_, i) => dagKey(i)) : [...new Set(picks.map((p) => dagKey(p % spec.deps.length)))];
      const fused = fuse(cull(g, keys), keys);
      assert.deepEqual(fused.indexed(), indexNodes(fused.materialize()));
    }),
    { numRuns: 200 },
  );
});

test("a key in two layers: indexed() numbers the nodes materialize() keeps (the later layer's)", () => {
  const inc = (x: number): number => x + 1;
  for (const dup of ["k", blockKey("a", [0])]) {
    let g = Graph.fromNodes("a", [new Task(blockKey("a", [0]), () => 1, []), new Task("k", () => 2, [])]);
    g = g.withLayer(new MaterializedLayer("b", [new Task(dup, () => 3, []), new Task("out", inc, [ref(dup)])]), ["a"]);
    const keys = ["out", blockKey("a", [0]), "k"];
    const fused = fuse(g, keys);
    assert.deepEqual(fused.indexed(), indexNodes(fused.materialize()));
    assert.equal(fused.indexed().keys.length, 3, `${dup} counted once`);
  }
});

test("fuse gives the same values as the unfused graph (random Blockwise graphs)", () => {
  fc.assert(
    fc.property(blockwiseSpec, (spec) => {
      const { graph, outputs } = blockwiseGraph(spec);
      const fusedGraph = fuse(cull(graph, outputs), outputs);
      const fused = fusedGraph.materialize();
      assert.deepEqual(evaluate(fused, outputs), evaluate(graph.materialize(), outputs));
      assert.ok(fused.size <= cull(graph, outputs).stats().tasks);
      // every node's dependencies are nodes of the fused graph
      for (const node of fused.values()) for (const d of node.dependencies) assert.ok(fused.has(d), d);
    }),
    { numRuns: 200 },
  );
});

test("a fused Blockwise node's stepArgs are its steps' arguments, with earlier steps as StepRefs (random Blockwise graphs)", () => {
  let checked = 0;
  let shared = 0;
  fc.assert(
    fc.property(blockwiseSpec, (spec) => {
      const { graph, outputs } = blockwiseGraph(spec);
      for (const layer of fuseBlockwise(cull(graph, outputs), outputs).layers.values()) {
        if (!(layer instanceof FusedBlockwise)) continue;
        for (const node of layer.materialize().values()) {
          const f = node as Fused;
          // read before `steps`, which drops the source once the steps are built
          const args = f.ops.map((_, s) => f.stepArgs(s));
          const again = f.ops.map((_, s) => f.stepArgs(s));
          const steps = f.steps;
          assert.equal(f.stepArgs(0), undefined, "built steps are what a scheduler reads next");
          args.forEach((a, s) => {
            if (a === undefined) return;
            assert.deepEqual(
              substitute(a, ref, (e) => ref(steps[e]!.key)),
              steps[s]!.args,
              `step ${s} of ${f.key}`,
            );
            checked++;
            if (a === again[s]) shared++;
          });
        }
      }
    }),
    { numRuns: 200 },
  );
  assert.ok(checked > 100, `${checked} steps compared`);
  assert.equal(shared, 0, "every stage of these graphs reads its block index: nothing to share");
});

test("a fused Blockwise stage whose arguments do not depend on the block gives every node one shared list", () => {
  const ones = new Blockwise({ name: "ones", outIndex: "i", numBlocks: [3], op: makeOp(1), args: [10] });
  const sums = new Blockwise({ name: "sums", outIndex: "i", numBlocks: [3], op: makeOp(2), args: [blockwiseInput("ones", "i", [3]), 2] });
  const fused = new FusedBlockwise([
    { layer: ones, axes: [0] },
    { layer: sums, axes: [0] },
  ]);
  const nodes = [...fused.materialize().values()] as Fused[];
  assert.deepEqual(nodes[0]!.stepArgs(1), [stepRef(0), 2]);
  assert.equal(nodes[0]!.stepArgs(1), nodes[2]!.stepArgs(1));
  assert.equal(nodes[1]!.stepArgs(0), nodes[2]!.stepArgs(0));
});

test("a fused Blockwise whose stage reads an earlier one transposed (not lined up) gives no stepArgs: its steps are checked", () => {
  const a = new Blockwise({ name: "a", outIndex: "ij", numBlocks: [2, 2], op: makeOp(1), args: [blockIndex()] });
  const b = new Blockwise({ name: "b", outIndex: "ij", numBlocks: [2, 2], op: makeOp(2), args: [blockwiseInput("a", "ji", [2, 2])] });
  const fused = new FusedBlockwise([
    { layer: a, axes: [0, 1] },
    { layer: b, axes: [0, 1] },
  ]);
  const node = fused.materialize().get(blockKey("b", [0, 1])) as Fused;
  assert.equal(node.stepArgs(1), undefined);
  assert.throws(() => node.steps, FusionError);
});

test("culling an already fused graph keeps the same values (random Blockwise graphs)", () => {
  fc.assert(
    fc.property(blockwiseSpec, fc.nat(), (spec, pick) => {
      const { graph, outputs } = blockwiseGraph(spec);
      const fused = fuseBlockwise(graph, outputs);
      const keys = [outputs[pick % outputs.length]!];
      const nodes = cull(fused, keys).materialize();
      assert.deepEqual(evaluate(nodes, keys), evaluate(graph.materialize(), keys));
    }),
    { numRuns: 150 },
  );
});

test("a StepRef names a step by a non-negative integer", () => {
  assert.equal(stepRef(2).step, 2);
  assert.equal(stepRef(2), stepRef(2), "shared");
  for (const bad of [-1, 1.5, Number.NaN])
    assert.throws(
      () => stepRef(bad),
      (e: unknown) => e instanceof RangeError && e.message.includes(String(bad)),
    );
});
