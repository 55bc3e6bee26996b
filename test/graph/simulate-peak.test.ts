import { test } from "node:test";
import assert from "node:assert/strict";
import { Task, ref, simulatePeak, type GraphNode, type Key } from "@zask/graph";

const f = (...xs: unknown[]): unknown => xs;

function nodesOf(list: GraphNode[]): Map<Key, GraphNode> {
  return new Map(list.map((n) => [n.key, n]));
}

const fan = nodesOf([
  new Task("a", f, [1]),
  new Task("b", f, [2]),
  new Task("c", f, [3]),
  new Task("ab", f, [ref("a"), ref("b")]),
  new Task("out", f, [ref("ab"), ref("c")]),
]);

test("simulatePeak counts inputs and output while a node runs and drops results after their last reader", () => {
  const good = new Map([
    ["a", 0],
    ["b", 1],
    ["ab", 2],
    ["c", 3],
    ["out", 4],
  ]);
  // a, b, ab held together (3); then a and b go; ab, c, out (3)
  assert.deepEqual(simulatePeak(fan, good), { peak: 3, peakKey: "ab", final: 1 });
  const bad = new Map([
    ["a", 0],
    ["b", 1],
    ["c", 2],
    ["ab", 3],
    ["out", 4],
  ]);
  assert.deepEqual(simulatePeak(fan, bad), { peak: 4, peakKey: "ab", final: 1 });
});

test("simulatePeak keeps the results it is told to keep, and weighs them with sizeOf", () => {
  const p = new Map([
    ["a", 0],
    ["b", 1],
    ["ab", 2],
    ["c", 3],
    ["out", 4],
  ]);
  const kept = simulatePeak(fan, p, { keep: ["a", "out"] });
  assert.equal(kept.final, 2);
  const sized = simulatePeak(fan, p, { sizeOf: (k) => (k === "c" ? 100 : 1) });
  assert.equal(sized.peak, 102);
  assert.equal(sized.peakKey, "out"); // ab, c and out held together
});

test("simulatePeak rejects an order that runs a node before its dependency", () => {
  const p = new Map([
    ["ab", 0],
    ["a", 1],
    ["b", 2],
    ["c", 3],
    ["out", 4],
  ]);
  assert.throws(() => simulatePeak(fan, p), RangeError);
  assert.throws(() => simulatePeak(fan, new Map([["a", 0]])), RangeError);
});
