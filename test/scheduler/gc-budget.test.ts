import assert from "node:assert/strict";
import { PerformanceObserver, constants } from "node:perf_hooks";
import { test } from "node:test";
import { GcBudget } from "../../packages/scheduler/dist/gc.js";

/** The kinds of the GCs that ran while `fn` did. */
async function gcKinds(fn: () => void): Promise<number[]> {
  const kinds: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) kinds.push((e as unknown as { detail: { kind: number } }).detail.kind);
  });
  obs.observe({ entryTypes: ["gc"] });
  fn();
  // gc entries are delivered asynchronously
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return kinds;
}

test("a GcBudget scavenges once its bytes are spent, then starts over", async () => {
  const budget = new GcBudget(1000);
  budget.add(999);
  assert.deepEqual(await gcKinds(() => budget.collectIfDue()), [], "not due yet");
  budget.add(1);
  assert.deepEqual(await gcKinds(() => budget.collectIfDue()), [constants.NODE_PERFORMANCE_GC_MINOR]);
  assert.deepEqual(await gcKinds(() => budget.collectIfDue()), [], "the budget starts over");
});
