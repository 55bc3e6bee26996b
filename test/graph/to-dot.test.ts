import { test } from "node:test";
import assert from "node:assert/strict";
import { Alias, DataNode, Fused, Graph, MaterializedLayer, Task, op, ref, toDot } from "@zask/graph";

const load = op("@zask/array/ops", "fetchChunk", { lane: "io" });
function sum(...xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

test("toDot draws each node once, an edge per dependency, and a cluster per layer", () => {
  const g = Graph.fromLayer(new MaterializedLayer("data", [new DataNode('["x",0]', 1), new Alias("y", '["x",0]')])).withLayer(
    new MaterializedLayer("work", [new Task("t", sum, [ref("y"), 2]), new Fused("f", [new Task("l", load, []), new Task("f", sum, [ref("l"), ref("t")])])]),
    ["data"],
  );
  const dot = toDot(g);
  assert.match(dot, /^digraph zask \{/);
  assert.equal((dot.match(/ -> /g) ?? []).length, 3);
  assert.match(dot, /label="data"/);
  assert.match(dot, /label="work"/);
  assert.match(dot, /label="\[\\"x\\",0\]", shape=box\]/, "quotes in keys are escaped");
  assert.match(dot, /label="sum\\nt", shape=ellipse/);
  assert.match(dot, /@zask\/array\/ops#fetchChunk → sum\\nf", shape=doubleoctagon/);
  assert.match(dot, /style=dashed/);
});

test("toDot refuses graphs beyond maxNodes", () => {
  const g = Graph.fromNodes("d", [new DataNode("a", 1), new DataNode("b", 2)]);
  assert.throws(() => toDot(g, { maxNodes: 1 }), RangeError);
  assert.doesNotMatch(toDot(g.materialize(), { maxNodes: 2 }), /cluster/);
});
