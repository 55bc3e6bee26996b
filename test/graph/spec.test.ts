import { test } from "node:test";
import assert from "node:assert/strict";
import { Alias, DataNode, Fused, Ref, Task, findDependencies, isOpRef, op, opName, ref, substitute } from "@zask/graph";

test("a task finds its dependencies once, in arrays and plain objects at any depth, without repeats", () => {
  const t = new Task("t", op("m", "f"), [ref("a"), [ref("b"), { x: ref("a"), y: [ref("c")] }], 3]);
  assert.deepEqual(t.dependencies, ["a", "b", "c"]);
  assert.deepEqual(findDependencies([new Float64Array(3), "a", { a: 1 }]), []);
});

test("substitute replaces refs and copies only the containers that hold one", () => {
  const big = [1, 2, 3];
  const args = [ref("a"), big, { k: ref("b"), keep: big }];
  const out = substitute(args, (k) => k.toUpperCase());
  assert.deepEqual(out, ["A", [1, 2, 3], { k: "B", keep: big }]);
  assert.equal(out[1], big);
  assert.ok(args[0] instanceof Ref, "the arguments themselves are untouched");
});

test("op makes a frozen, cloneable reference with a default cpu lane", () => {
  const o = op(new URL("file:///x/ops.js"), "normalize");
  assert.deepEqual(o, { module: "file:///x/ops.js", name: "normalize", lane: "cpu" });
  assert.deepEqual(structuredClone(o), o);
  assert.ok(Object.isFrozen(o));
  assert.ok(isOpRef(o));
  assert.equal(opName(o), "file:///x/ops.js#normalize");
  assert.equal(
    opName(function sum() {}),
    "sum",
  );
  assert.throws(() => op("m", "f", { lane: "gpu" as "io" }), RangeError);
  assert.throws(() => op("m", ""), TypeError);
});

test("data nodes have no dependencies and aliases depend on their target", () => {
  assert.deepEqual(new DataNode("d", 1).dependencies, []);
  assert.deepEqual(new Alias("a", "d").dependencies, ["d"]);
});

test("a fused node depends on what its steps read from outside it", () => {
  const f = new Fused("c", [new Task("a", op("m", "f"), [ref("x")]), new Task("c", op("m", "g"), [ref("a"), ref("y")])]);
  assert.deepEqual(f.dependencies, ["x", "y"]);
  assert.deepEqual(f.ops, [op("m", "f"), op("m", "g")]);
  assert.throws(() => new Fused("c", []), RangeError);
});
