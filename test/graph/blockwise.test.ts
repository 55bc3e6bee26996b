import { test } from "node:test";
import assert from "node:assert/strict";
import { Blockwise, Ref, Task, blockIndex, blockKey, blockwiseInput, op, perBlock, ref } from "@zask/graph";

const add = op("@zask/array/ops", "add");

function refKeys(x: unknown): unknown {
  if (x instanceof Ref) return x.key;
  if (Array.isArray(x)) return x.map(refKeys);
  return x;
}

test("each output block refers to the block of each input that lines up with it", () => {
  const layer = new Blockwise({
    name: "add-1",
    outIndex: "ij",
    numBlocks: [2, 3],
    op: add,
    args: [blockwiseInput("x", "ij", [2, 3]), blockwiseInput("y", "ji", [3, 2])],
  });
  const t = layer.task([1, 2]);
  assert.equal(t.key, blockKey("add-1", [1, 2]));
  assert.equal(t.op, add);
  assert.deepEqual(refKeys(t.args), ['["x",1,2]', '["y",2,1]']);
  assert.deepEqual(t.dependencies, ['["x",1,2]', '["y",2,1]']);
});

test("an input axis with one block broadcasts to every output block", () => {
  const layer = new Blockwise({
    name: "add-2",
    outIndex: "ij",
    numBlocks: [2, 3],
    op: add,
    args: [blockwiseInput("x", "ij", [2, 3]), blockwiseInput("row", "ij", [1, 3]), blockwiseInput("s", "", [])],
  });
  assert.deepEqual(refKeys(layer.task([1, 2]).args), ['["x",1,2]', '["row",0,2]', '["s"]']);
});

test("a symbol not in the output index contracts the input into an array of refs", () => {
  const layer = new Blockwise({
    name: "dot-1",
    outIndex: "ik",
    numBlocks: [2, 4],
    op: add,
    args: [blockwiseInput("a", "ij", [2, 3]), blockwiseInput("b", "jk", [3, 4])],
  });
  const t = layer.task([1, 3]);
  assert.deepEqual(refKeys(t.args), [
    ['["a",1,0]', '["a",1,1]', '["a",1,2]'],
    ['["b",0,3]', '["b",1,3]', '["b",2,3]'],
  ]);
  assert.equal(t.dependencies.length, 6);
});

test("two contracted symbols nest the refs one level per symbol", () => {
  const layer = new Blockwise({
    name: "sum-all",
    outIndex: "",
    numBlocks: [],
    op: add,
    args: [blockwiseInput("x", "ij", [2, 2])],
  });
  assert.deepEqual(refKeys(layer.task([]).args), [
    [
      ['["x",0,0]', '["x",0,1]'],
      ['["x",1,0]', '["x",1,1]'],
    ],
  ]);
  assert.equal(layer.size, 1);
  assert.deepEqual([...layer.keys()], ['["sum-all"]']);
});

test("blockIndex, perBlock and literal arguments are filled in per block", () => {
  const big = new Float64Array(4);
  const layer = new Blockwise({
    name: "load-1",
    outIndex: "i",
    numBlocks: [3],
    op: add,
    args: [blockIndex(), perBlock(([i]) => ({ start: i! * 10 })), big, { lit: ref("config") }],
  });
  const t = layer.task([2]);
  assert.deepEqual(t.args[0], [2]);
  assert.deepEqual(t.args[1], { start: 20 });
  assert.equal(t.args[2], big);
  assert.deepEqual(t.dependencies, ["config"]);
});

test("refs returned by perBlock become dependencies", () => {
  const layer = new Blockwise({
    name: "getitem-1",
    outIndex: "i",
    numBlocks: [2],
    op: add,
    args: [perBlock(([i]) => ref(blockKey("x", [i! + 5])))],
  });
  assert.deepEqual(layer.task([1]).dependencies, ['["x",6]']);
  assert.deepEqual(layer.cull(['["getitem-1",0]']).dependencies, new Set(['["x",5]']));
});

test("perBlock with refs: false is never called to find dependencies, only to build the task", () => {
  let calls = 0;
  const key = perBlock(([i]) => (calls++, `chunk/${i}`), { refs: false });
  const layer = new Blockwise({ name: "load", outIndex: "i", numBlocks: [4], op: add, args: [blockwiseInput("x", "i", [4]), key] });
  assert.deepEqual(layer.cull(['["load",1]', '["load",2]']).dependencies, new Set(['["x",1]', '["x",2]']));
  assert.deepEqual(layer.dependenciesOf([3]), ['["x",3]']);
  assert.equal(calls, 0, "cull and dependenciesOf call no ref-free perBlock");
  const t = layer.task([2]);
  assert.equal(t.args[1], "chunk/2");
  assert.deepEqual(t.dependencies, ['["x",2]']);
  assert.equal(calls, 1);
  // the default still looks for refs in what it returns
  const refs = new Blockwise({ name: "g", outIndex: "i", numBlocks: [2], op: add, args: [perBlock(([i]) => ref(blockKey("x", [i!])))] });
  assert.deepEqual(refs.dependenciesOf([1]), ['["x",1]']);
  assert.equal(refs.hasPerBlockArgs, true);
  assert.equal(layer.hasPerBlockArgs, false);
  assert.throws(() => perBlock(() => 1, { refs: "no" as never }), /Expected `refs` to be a boolean/);
});

test("the same input block used twice is one dependency", () => {
  const layer = new Blockwise({
    name: "sq",
    outIndex: "i",
    numBlocks: [2],
    op: add,
    args: [blockwiseInput("x", "i", [2]), blockwiseInput("x", "i", [2])],
  });
  assert.deepEqual(layer.task([0]).dependencies, ['["x",0]']);
});

test("materialize makes one task per block with the keys of the block grid", () => {
  const layer = new Blockwise({ name: "b", outIndex: "ij", numBlocks: [2, 2], op: add, args: [blockwiseInput("a", "ij", [2, 2])] });
  const m = layer.materialize();
  assert.deepEqual([...m.keys()], ['["b",0,0]', '["b",0,1]', '["b",1,0]', '["b",1,1]']);
  assert.ok([...m.values()].every((t) => t instanceof Task));
  assert.deepEqual([...layer.keys()], [...m.keys()]);
  assert.equal(layer.size, 4);
});

test("cull keeps the requested blocks and reports only their input keys", () => {
  let calls = 0;
  const layer = new Blockwise({
    name: "m",
    outIndex: "i",
    numBlocks: [1000],
    op: add,
    args: [blockwiseInput("x", "i", [1000]), perBlock((i) => (calls++, i))],
  });
  const { layer: culled, dependencies } = layer.cull(['["m",3]', '["m",7]', "not-mine", '["m",5000]']);
  assert.deepEqual(dependencies, new Set(['["x",3]', '["x",7]']));
  assert.equal(calls, 2, "perBlock runs only for kept blocks");
  assert.equal(culled.size, 2);
  assert.ok(culled.has('["m",7]'));
  assert.ok(!culled.has('["m",4]'));
  assert.ok(layer.has('["m",4]'));
  assert.deepEqual([...culled.materialize().keys()], ['["m",3]', '["m",7]']);
  assert.deepEqual([...culled.keys()], ['["m",3]', '["m",7]']);
});

test("materializeLists gives materialize's nodes in its order, and positionOf finds a kept block's place", () => {
  const layer = new Blockwise({ name: "m", outIndex: "ij", numBlocks: [3, 4], op: add, args: [blockwiseInput("x", "ij", [3, 4])] });
  const culled = layer.cull(['["m",2,3]', '["m",0,1]', '["m",1,0]']).layer as Blockwise;
  for (const l of [layer, culled]) {
    const { keys, nodes } = l.materializeLists();
    const m = l.materialize();
    assert.deepEqual(keys, [...m.keys()]);
    assert.deepEqual(
      nodes.map((t) => [t.key, refKeys((t as Task).args)]),
      [...m.values()].map((t) => [t.key, refKeys((t as Task).args)]),
    );
    keys.forEach((k, i) => assert.equal(l.positionOf(k), i, k));
  }
  assert.deepEqual(culled.materializeLists().keys, ['["m",0,1]', '["m",1,0]', '["m",2,3]']);
  // a block a cull dropped, a block off the grid, another layer's key, a plain key
  for (const k of ['["m",1,1]', '["m",3,0]', '["x",0,1]', "m"]) assert.equal(culled.positionOf(k), -1, k);
  assert.equal(layer.positionOf('["m",1,1]'), 5);
});

test("culling to every block returns the same layer", () => {
  const layer = new Blockwise({ name: "m", outIndex: "i", numBlocks: [3], op: add, args: [] });
  assert.equal(layer.cull(layer.keys()).layer, layer);
});

test("has rejects keys of other shapes and out-of-range blocks", () => {
  const layer = new Blockwise({ name: "m", outIndex: "ij", numBlocks: [2, 3], op: add, args: [] });
  assert.ok(layer.has('["m",1,2]'));
  for (const k of ['["m",2,0]', '["m",1]', '["m",1,2,0]', '["mm",1,2]', "m", '["m",-1,0]', '["m",1,2] ', '["m",01,2]']) {
    assert.ok(!layer.has(k), k);
  }
});

test("inputs that do not line up with the output are rejected", () => {
  assert.throws(() => new Blockwise({ name: "m", outIndex: "i", numBlocks: [3], op: add, args: [blockwiseInput("x", "i", [2])] }), RangeError);
  assert.throws(() => blockwiseInput("x", "ij", [2]), RangeError);
  assert.throws(() => new Blockwise({ name: "m", outIndex: "ii", numBlocks: [3, 3], op: add, args: [] }), RangeError);
  assert.throws(() => new Blockwise({ name: "m", outIndex: "i", numBlocks: [0], op: add, args: [] }), TypeError);
  assert.throws(() => new Blockwise({ name: "m", outIndex: "i", numBlocks: [2], op: add, args: [[blockIndex()]] }), TypeError);
  assert.throws(() => new Blockwise({ name: "m", outIndex: "i", numBlocks: [2], op: add, args: [] }).task([2]), RangeError);
});
