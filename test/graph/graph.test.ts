import { test } from "node:test";
import assert from "node:assert/strict";
import { Blockwise, CycleError, DataNode, Graph, MaterializedLayer, MissingKeyError, Task, blockwiseInput, op, ref } from "@zask/graph";

const f = op("m", "f");

test("stats counts tasks of symbolic layers without materializing them", () => {
  const x = new Blockwise({ name: "x", outIndex: "ij", numBlocks: [2000, 184], op: f, args: [] });
  const g = Graph.fromLayer(x).withLayer(
    new Blockwise({ name: "y", outIndex: "ij", numBlocks: [2000, 184], op: f, args: [blockwiseInput("x", "ij", [2000, 184])] }),
    ["x"],
  );
  assert.deepEqual(g.stats(), { tasks: 736_000, layers: 2 });
});

test("merge unites the layers of several graphs, sharing common ones", () => {
  const a = Graph.fromNodes("a", [new DataNode("a", 1)]);
  const b = a.withLayer(new MaterializedLayer("b", [new Task("b", f, [ref("a")])]), ["a"]);
  const c = a.withLayer(new MaterializedLayer("c", [new Task("c", f, [ref("a")])]), ["a"]);
  const m = Graph.merge(b, c);
  assert.deepEqual([...m.layers.keys()].sort(), ["a", "b", "c"]);
  assert.deepEqual(m.stats(), { tasks: 3, layers: 3 });
  assert.deepEqual([...m.materialize().keys()].sort(), ["a", "b", "c"]);
});

test("layerOrder puts every layer after its dependencies and reports cycles", () => {
  const l = (n: string) => new MaterializedLayer(n, [new DataNode(n, 0)]);
  const g = new Graph(
    new Map([
      ["c", l("c")],
      ["b", l("b")],
      ["a", l("a")],
    ]),
    new Map([
      ["c", new Set(["b"])],
      ["b", new Set(["a"])],
      ["a", new Set<string>()],
    ]),
  );
  assert.deepEqual(g.layerOrder(), ["a", "b", "c"]);
  const cyc = new Graph(
    new Map([
      ["a", l("a")],
      ["b", l("b")],
    ]),
    new Map([
      ["a", new Set(["b"])],
      ["b", new Set(["a"])],
    ]),
  );
  assert.throws(() => cyc.layerOrder(), CycleError);
});

test("a layer dependency on a layer that is not in the graph is rejected", () => {
  assert.throws(() => new Graph(new Map([["a", new MaterializedLayer("a", [])]]), new Map([["a", new Set(["zzz"])]])), MissingKeyError);
});

test("layerOf finds the layer that produces a key", () => {
  const g = Graph.fromLayer(new Blockwise({ name: "x", outIndex: "i", numBlocks: [3], op: f, args: [] }));
  assert.equal(g.layerOf('["x",2]')?.name, "x");
  assert.equal(g.layerOf('["x",3]'), undefined);
});
