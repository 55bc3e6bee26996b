import assert from "node:assert/strict";
import { test } from "node:test";
import { Alias, DataNode, Fused, Task, op, ref, type GraphNode } from "@zask/graph";
import { TaskMemoryError, checkTaskMemory, errorFromPlain, errorToPlain, projectTaskMemory } from "@zask/scheduler";

const double = op("@zask/array/ops", "double");
const sum = op("@zask/array/ops", "sum");
const nodes = (list: GraphNode[]) => new Map(list.map((n) => [n.key, n]));

test("projectTaskMemory counts a task's inputs and output, data at their size, aliases as their target", () => {
  const g = nodes([
    new DataNode("a", new Float64Array(10)), // 80 B
    new Alias("b", "a"),
    new Task("c", double, [ref("b")]),
    new Fused("e", [new Task("d", double, [ref("a")]), new Task("e", sum, [ref("d"), ref("c")])]),
  ]);
  const sizes: Record<string, number> = { c: 80, d: 80, e: 8 };
  const m = projectTaskMemory(g, (k) => sizes[k]);
  // c: its input (the alias of a, 80 B) and its 80 B; e: inputs a and c, then d and e alive at once
  assert.deepEqual(
    [...m.tasks],
    [
      ["c", 160],
      ["e", 80 + 80 + 80 + 8],
    ],
  );
  assert.deepEqual(m.largest, { key: "e", op: "@zask/array/ops#double", bytes: 248 });
  assert.equal(m.unsized, 0);
  assert.equal(projectTaskMemory(g, (k) => (k === "d" ? undefined : sizes[k])).unsized, 1);
});

test("checkTaskMemory throws a TaskMemoryError naming the largest task, and it crosses a process boundary typed", () => {
  const m = projectTaskMemory(nodes([new Task("c", double, [])]), () => 1000);
  checkTaskMemory(m, 1000);
  assert.throws(
    () => checkTaskMemory(m, 999),
    (e: unknown) => {
      assert.ok(e instanceof TaskMemoryError);
      assert.deepEqual([e.key, e.op, e.bytes, e.limit], ["c", "@zask/array/ops#double", 1000, 999]);
      const back = errorFromPlain(errorToPlain(e));
      assert.ok(back instanceof TaskMemoryError);
      assert.equal((back as TaskMemoryError).bytes, 1000);
      return true;
    },
  );
  assert.throws(() => checkTaskMemory(m, -1), RangeError);
  assert.throws(() => checkTaskMemory(m, Number.NaN), RangeError);
});
