import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { PriorityQueue } from "../../packages/scheduler/dist/priority-queue.js";

// The ready queue of a compute: tasks leave by priority (ties by index), whether they were
// seeded in order at the start or pushed as they became ready.
test("a priority queue pops by priority then index, seeded entries and pushed ones interleaved", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 60 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }),
      fc.array(fc.boolean(), { maxLength: 120 }),
      (priority, seeded, script) => {
        const n = priority.length;
        const q = new PriorityQueue(priority);
        const inSeed = Array.from({ length: n }, (_, i) => seeded[i % seeded.length]!);
        const before = (a: number, b: number): boolean => priority[a]! < priority[b]! || (priority[a] === priority[b] && a < b);
        const seed = [...Array(n).keys()].filter((i) => inSeed[i]).sort((a, b) => (before(a, b) ? -1 : 1));
        q.seed(Int32Array.from(seed));
        const model = new Set(seed);
        const toPush = [...Array(n).keys()].filter((i) => !inSeed[i]);
        // pushes and pops in the script's order, then drain
        for (const push of [...script, ...Array<boolean>(2 * n).fill(false)]) {
          if (push && toPush.length > 0) {
            const i = toPush.pop()!;
            q.push(i);
            model.add(i);
          } else {
            const expected = [...model].sort((a, b) => (before(a, b) ? -1 : 1))[0] ?? -1;
            assert.equal(q.size, model.size);
            assert.equal(q.peek(), expected);
            assert.equal(q.pop(), expected);
            model.delete(expected);
          }
        }
        assert.equal(q.size, 0);
      },
    ),
    { numRuns: 300 },
  );
});
