import assert from "node:assert/strict";
import { PerformanceObserver, constants } from "node:perf_hooks";
import { test } from "node:test";
import { GcBudget } from "../../packages/scheduler/dist/gc.js";

/** The kinds of the GCs that ran while `fn` did. */
async function gcKinds(fn: () => void): Promise<number[]> {
  const kinds: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) kinds.push((e.detail as { kind: number }).kind);
  });
  obs.observe({ entryTypes: ["gc"] });
  fn();
  // gc entries are delivered asynchronously
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return kinds;
}

test("a GcBudget collects only once its bytes are spent, with a full GC for 'major' and a scavenge for 'minor'", async () => {
  const major = new GcBudget(1000, "major");
  major.add(999);
  assert.deepEqual(await gcKinds(() => major.collectIfDue()), [], "not due yet");
  major.add(1);
  const full = await gcKinds(() => major.collectIfDue());
  // Node 20's gc({ type: "major" }) from another context only scavenges: this is what breaks
  assert.ok(full.includes(constants.NODE_PERFORMANCE_GC_MAJOR), `a mark-compact ran (kinds ${full.join(",")})`);
  assert.deepEqual(await gcKinds(() => major.collectIfDue()), [], "the budget starts over");

  const minor = new GcBudget(10, "minor");
  minor.add(10);
  const young = await gcKinds(() => minor.collectIfDue());
  assert.deepEqual(young, [constants.NODE_PERFORMANCE_GC_MINOR]);
});
