import assert from "node:assert/strict";
import { test } from "node:test";
import { Speculation } from "../../packages/scheduler/src/executors/speculation.ts";

/** Jobs a..c ran 100 ms each; `slow` started at 0 and still runs. */
function withRuns(options?: { multiplier?: number; minimum?: number }): Speculation {
  const s = new Speculation(options);
  for (const id of ["a", "b", "c", "slow"]) s.submitted(id);
  for (const id of ["a", "b", "c", "slow"]) s.started(id, 0);
  for (const id of ["a", "b", "c"]) s.ended(id, 100);
  return s;
}

test("a job running longer than multiplier x the median run and the minimum is a straggler", () => {
  const s = withRuns({ multiplier: 3, minimum: 0 });
  assert.deepEqual(s.stragglers(300), []);
  assert.deepEqual(s.stragglers(301), ["slow"]);
  assert.deepEqual(withRuns({ multiplier: 3, minimum: 1000 }).stragglers(999), []);
  assert.deepEqual(withRuns({ multiplier: 3, minimum: 1000 }).stragglers(1001), ["slow"]);
});

test("no job is a straggler while a job of the compute still waits for a worker, or before three runs", () => {
  const s = withRuns({ minimum: 0 });
  s.submitted("queued");
  assert.deepEqual(s.stragglers(10_000), []);
  s.started("queued", 10_000);
  assert.deepEqual(s.stragglers(10_000), ["slow"]);
  const fresh = new Speculation({ minimum: 0 });
  fresh.submitted("x");
  fresh.started("x", 0);
  assert.deepEqual(fresh.stragglers(10_000), []);
});

test("a job handed back by a stalled worker waits again, and its clock restarts when taken", () => {
  const s = withRuns({ minimum: 0 });
  s.requeued("slow");
  assert.deepEqual(s.stragglers(10_000), [], "it waits for a worker");
  s.started("slow", 9_900);
  assert.deepEqual(s.stragglers(10_000), []);
  assert.deepEqual(s.stragglers(10_301), ["slow"]);
});

test("speculation options are checked", () => {
  assert.throws(() => new Speculation({ multiplier: 0.5 }), RangeError);
  assert.throws(() => new Speculation({ minimum: -1 }), RangeError);
});
