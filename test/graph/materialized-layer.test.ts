import { test } from "node:test";
import assert from "node:assert/strict";
import { DataNode, MaterializedLayer, Task, op, ref } from "@zask/graph";

const f = op("m", "f");

test("culling a materialized layer keeps the requested tasks and what they read inside it", () => {
  const layer = new MaterializedLayer("l", [new Task("a", f, [ref("outside")]), new Task("b", f, [ref("a")]), new Task("c", f, [1]), new DataNode("d", 1)]);
  const { layer: kept, dependencies } = layer.cull(["b"]);
  assert.deepEqual([...kept.keys()].sort(), ["a", "b"]);
  assert.deepEqual(dependencies, new Set(["outside"]));
  assert.equal(layer.cull(["a", "b", "c", "d"]).layer, layer, "nothing dropped: the same layer");
});
