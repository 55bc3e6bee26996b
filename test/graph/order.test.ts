import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CycleError, MissingKeyError, Task, order, ref, simulatePeak, type GraphNode, type Key } from "@zask/graph";
import { dagNodes, dagSpec, makeOp } from "./random-graphs.ts";

const f = makeOp(0);

function nodesOf(list: GraphNode[]): Map<Key, GraphNode> {
  return new Map(list.map((n) => [n.key, n]));
}

/** A tree sum over `chunks` leaves with fan-in `fanIn`, added breadth first (all leaves first). */
function treeSum(chunks: number, fanIn: number): Map<Key, GraphNode> {
  const list: GraphNode[] = [];
  let level = Array.from({ length: chunks }, (_, i) => `c${i}`);
  for (const k of level) list.push(new Task(k, f, [k]));
  for (let depth = 0; level.length > 1; depth++) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += fanIn) {
      const k = `s${depth}-${i / fanIn}`;
      list.push(new Task(k, f, [level.slice(i, i + fanIn).map(ref)]));
      next.push(k);
    }
    level = next;
  }
  return nodesOf(list);
}

function isTopological(nodes: ReadonlyMap<Key, GraphNode>, p: ReadonlyMap<Key, number>): boolean {
  for (const node of nodes.values()) for (const d of node.dependencies) if (!(p.get(d)! < p.get(node.key)!)) return false;
  return true;
}

test("order ranks every node 0..n-1", () => {
  const nodes = treeSum(16, 4);
  const p = order(nodes);
  assert.deepEqual(
    [...p.values()].sort((a, b) => a - b),
    [...Array(nodes.size).keys()],
  );
  assert.deepEqual(new Set(p.keys()), new Set(nodes.keys()));
});

test("order finishes each partial sum before loading more chunks", () => {
  const nodes = treeSum(16, 4);
  const p = order(nodes);
  const run = [...p].sort((a, b) => a[1] - b[1]).map(([k]) => k);
  assert.deepEqual(run.slice(0, 5), ["c0", "c1", "c2", "c3", "s0-0"]);
  const { peak } = simulatePeak(nodes, p);
  // loading every chunk first would hold all 16
  assert.ok(peak <= 8, `peak ${peak}`);
  const breadthFirst = new Map([...nodes.keys()].map((k, i) => [k, i]));
  assert.ok(simulatePeak(nodes, breadthFirst).peak >= 16);
});

test("a reduction over a thousand chunks holds only a handful of results", () => {
  const nodes = treeSum(1000, 8);
  assert.ok(simulatePeak(nodes, order(nodes)).peak <= 30);
});

test("two reductions over the same chunks advance together instead of holding every chunk", () => {
  const list: GraphNode[] = [];
  const n = 64;
  for (let i = 0; i < n; i++) list.push(new Task(`c${i}`, f, [i]));
  for (const r of ["sum", "max"]) {
    for (let j = 0; j < n / 4; j++) list.push(new Task(`${r}-${j}`, f, [[0, 1, 2, 3].map((k) => ref(`c${j * 4 + k}`))]));
    list.push(new Task(r, f, [Array.from({ length: n / 4 }, (_, j) => ref(`${r}-${j}`))]));
  }
  const nodes = nodesOf(list);
  const { peak } = simulatePeak(nodes, order(nodes));
  // chunks, partial sums and partial maxes each stay far below the 64 chunks
  assert.ok(peak < 40, `peak ${peak}`);
});

test("a long chain is ordered without recursion limits", () => {
  const list: GraphNode[] = [new Task("t0", f, [0])];
  for (let i = 1; i < 50_000; i++) list.push(new Task(`t${i}`, f, [ref(`t${i - 1}`)]));
  const nodes = nodesOf(list);
  const p = order(nodes);
  assert.equal(p.get("t49999"), 49_999);
  assert.equal(simulatePeak(nodes, p).peak, 2);
});

test("order is a topological order and deterministic (random DAGs)", () => {
  fc.assert(
    fc.property(dagSpec, (spec) => {
      const nodes = dagNodes(spec);
      const p = order(nodes);
      assert.ok(isTopological(nodes, p));
      assert.deepEqual(order(dagNodes(spec)), p);
      simulatePeak(nodes, p); // throws on a non-topological order
    }),
    { numRuns: 300 },
  );
});

test("order reports a cycle with the keys on it", () => {
  const nodes = nodesOf([new Task("a", f, [ref("c")]), new Task("b", f, [ref("a")]), new Task("c", f, [ref("b")]), new Task("d", f, [ref("c")])]);
  assert.throws(
    () => order(nodes),
    (e: unknown) => e instanceof CycleError && e.keys.length === 4 && e.keys[0] === e.keys[3] && new Set(e.keys).size === 3 && !e.keys.includes("d"),
  );
});

test("order reports a dependency that is not among the nodes", () => {
  assert.throws(
    () => order(nodesOf([new Task("a", f, [ref("ghost")])])),
    (e: unknown) => e instanceof MissingKeyError && e.key === "ghost" && e.dependent === "a",
  );
});

test("order works for nodes made far apart in time and for one node listed under two keys", () => {
  const early = new Task("a", f, [1]);
  for (let i = 0; i < 20_000; i++) new Task(`junk${i}`, f, []);
  const late = new Task("b", f, [ref("a")]);
  const p = order(nodesOf([late, early]));
  assert.ok(p.get("a")! < p.get("b")!);
  const shared = new Task("x", f, []);
  const twice = new Map<Key, GraphNode>([
    ["x", shared],
    ["x2", shared],
    ["y", new Task("y", f, [ref("x2")])],
  ]);
  const q = order(twice);
  assert.ok(q.get("x2")! < q.get("y")!);
  assert.equal(q.size, 3);
});
