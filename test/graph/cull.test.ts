import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Blockwise, DataNode, Graph, MaterializedLayer, MissingKeyError, Task, blockKey, blockwiseInput, cull, op, perBlock, ref } from "@zask/graph";
import { ancestors, blockwiseGraph, blockwiseSpec, dagGraph, dagKey, dagSpec } from "./random-graphs.ts";

const f = op("@zask/test/ops", "f");

function chain(n: number): Graph {
  const a = new Blockwise({ name: "a", outIndex: "i", numBlocks: [n], op: f, args: [] });
  const b = new Blockwise({ name: "b", outIndex: "i", numBlocks: [n], op: f, args: [blockwiseInput("a", "i", [n])] });
  const c = new Blockwise({ name: "c", outIndex: "i", numBlocks: [n], op: f, args: [blockwiseInput("b", "i", [n])] });
  return Graph.fromLayer(a).withLayer(b, ["a"]).withLayer(c, ["b"]);
}

test("cull restricts each Blockwise layer of a chain to the blocks the requested keys need", () => {
  const g = cull(chain(1000), [blockKey("c", [3]), blockKey("c", [998])]);
  assert.deepEqual([...g.layers.keys()], ["a", "b", "c"]);
  for (const layer of g.layers.values()) assert.equal(layer.size, 2);
  assert.deepEqual([...g.materialize().keys()].sort(), ['["a",3]', '["a",998]', '["b",3]', '["b",998]', '["c",3]', '["c",998]']);
});

test("cull drops the layers nothing requested needs, and the dependencies on them", () => {
  const a = new Blockwise({ name: "a", outIndex: "i", numBlocks: [4], op: f, args: [] });
  const other = new Blockwise({ name: "other", outIndex: "i", numBlocks: [4], op: f, args: [] });
  const b = new Blockwise({ name: "b", outIndex: "i", numBlocks: [4], op: f, args: [blockwiseInput("a", "i", [4]), blockwiseInput("other", "i", [4])] });
  const total = new MaterializedLayer("total", [new Task("total", f, [ref(blockKey("a", [0]))])]);
  const g = Graph.fromLayer(a).withLayer(other).withLayer(b, ["a", "other"]).withLayer(total, ["a"]);
  const culled = cull(g, ["total"]);
  assert.deepEqual([...culled.layers.keys()], ["a", "total"]);
  assert.deepEqual([...culled.dependencies.get("total")!], ["a"]);
  assert.equal(culled.layers.get("a")!.size, 1);
});

test("cull never generates the tasks of dropped blocks", () => {
  let calls = 0;
  const a = new Blockwise({ name: "a", outIndex: "i", numBlocks: [100_000], op: f, args: [perBlock((i) => (calls++, i))] });
  const b = new Blockwise({ name: "b", outIndex: "i", numBlocks: [100_000], op: f, args: [blockwiseInput("a", "i", [100_000])] });
  const g = cull(Graph.fromLayer(a).withLayer(b, ["a"]), [blockKey("b", [5])]);
  assert.equal(calls, 1);
  assert.equal(g.stats().tasks, 2);
});

test("culling a reduction keeps every block it contracts over", () => {
  const x = new Blockwise({ name: "x", outIndex: "ij", numBlocks: [3, 2], op: f, args: [] });
  const s = new Blockwise({ name: "s", outIndex: "j", numBlocks: [2], op: f, args: [blockwiseInput("x", "ij", [3, 2])] });
  const g = cull(Graph.fromLayer(x).withLayer(s, ["x"]), [blockKey("s", [1])]);
  assert.deepEqual([...g.layers.get("x")!.keys()], ['["x",0,1]', '["x",1,1]', '["x",2,1]']);
});

test("cull follows a broadcast input to its single block", () => {
  const row = new Blockwise({ name: "row", outIndex: "ij", numBlocks: [1, 3], op: f, args: [] });
  const x = new Blockwise({ name: "x", outIndex: "ij", numBlocks: [4, 3], op: f, args: [blockwiseInput("row", "ij", [1, 3])] });
  const g = cull(Graph.fromLayer(row).withLayer(x, ["row"]), [blockKey("x", [2, 1]), blockKey("x", [3, 1])]);
  assert.deepEqual([...g.layers.get("row")!.keys()], ['["row",0,1]']);
});

test("cull finds keys read from layers a task did not declare", () => {
  const data = new MaterializedLayer("data", [new DataNode("d1", 1), new DataNode("d2", 2)]);
  const t = new MaterializedLayer("t", [new Task("t", f, [ref("d1")])]);
  // declared: nothing; the later layer culls first and then asks the data layer again
  const u = new MaterializedLayer("u", [new Task("u", f, [ref("t"), ref("d2")])]);
  const g = new Graph(
    new Map<string, MaterializedLayer>([
      ["data", data],
      ["t", t],
      ["u", u],
    ]),
    new Map([
      ["data", new Set<string>()],
      ["t", new Set<string>()],
      ["u", new Set(["t"])],
    ]),
  );
  const culled = cull(g, ["u"]);
  assert.deepEqual([...culled.materialize().keys()].sort(), ["d1", "d2", "t", "u"]);
  assert.deepEqual([...culled.dependencies.get("t")!], ["data"]);
});

test("cull of a culled Blockwise layer asked for a dropped block reports it missing", () => {
  const g = cull(chain(10), [blockKey("c", [1])]);
  assert.throws(() => cull(g, [blockKey("c", [2])]), MissingKeyError);
});

test("cull reports a requested key no layer produces", () => {
  assert.throws(
    () => cull(chain(3), ["nope"]),
    (e: unknown) => e instanceof MissingKeyError && e.key === "nope",
  );
  assert.throws(() => cull(chain(3), [blockKey("c", [3])]), MissingKeyError);
});

test("cull reports a dependency no layer produces", () => {
  const g = Graph.fromNodes("t", [new Task("t", f, [ref("ghost")])]);
  assert.throws(
    () => cull(g, ["t"]),
    (e: unknown) => e instanceof MissingKeyError && e.key === "ghost",
  );
});

test("cull keeps exactly the ancestors of the requested keys (random DAGs)", () => {
  fc.assert(
    fc.property(dagSpec, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.boolean(), (spec, picks, sinks) => {
      const g = dagGraph(spec);
      // or every key that nothing reads: then whole layers are asked for all their keys
      const read = new Set(spec.deps.flat());
      const keys = sinks
        ? spec.deps
            .map((_, i) => i)
            .filter((i) => !read.has(i))
            .map(dagKey)
        : picks.map((p) => dagKey(p % spec.deps.length));
      const all = g.materialize();
      // twice: the second cull of a layer may reuse what the first found
      for (let again = 0; again < 2; again++) {
        const culled = cull(g, keys);
        const kept = culled.materialize();
        assert.deepEqual(new Set(kept.keys()), ancestors(all, keys));
        for (const [k, node] of kept) assert.equal(node, all.get(k), "nodes are kept as they are");
        for (const [name, deps] of culled.dependencies) for (const d of deps) assert.ok(culled.layers.has(d), `${name} reads kept layer ${d}`);
      }
    }),
    { numRuns: 200 },
  );
});

test("cull keeps exactly the ancestors of the requested keys (random Blockwise graphs)", () => {
  fc.assert(
    fc.property(blockwiseSpec, fc.nat(), (spec, pick) => {
      const { graph, outputs } = blockwiseGraph(spec);
      const all = graph.materialize();
      const keys = [outputs[pick % outputs.length]!];
      const culled = cull(graph, keys);
      assert.deepEqual(new Set(culled.materialize().keys()), ancestors(all, keys));
      assert.equal(culled.stats().tasks, culled.materialize().size);
    }),
    { numRuns: 200 },
  );
});
