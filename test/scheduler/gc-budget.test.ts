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

const MiB = 2 ** 20;

test("a GcBudget scavenges once its bytes are spent and runs a full GC once its big buffers' bytes are", async () => {
  const budget = new GcBudget({ minor: 4 * MiB, major: 3 * MiB });
  budget.add(MiB - 1); // small: counts toward the scavenge only
  assert.deepEqual(await gcKinds(() => budget.collectIfDue()), [], "not due yet");
  budget.add(MiB - 1);
  budget.add(2 * MiB);
  budget.add(2);
  const young = await gcKinds(() => budget.collectIfDue());
  assert.deepEqual(young, [constants.NODE_PERFORMANCE_GC_MINOR], "4 MiB in all, 2 MiB of big ones: a scavenge");
  assert.deepEqual(await gcKinds(() => budget.collectIfDue()), [], "the scavenge budget starts over");
  budget.add(MiB);
  const full = await gcKinds(() => budget.collectIfDue());
  // Node 20's gc({ type: "major" }) from another context only scavenges: this is what would break
  assert.ok(full.includes(constants.NODE_PERFORMANCE_GC_MAJOR), `a mark-compact ran (kinds ${full.join(",")})`);
  assert.deepEqual(await gcKinds(() => budget.collectIfDue()), [], "both budgets start over after a full GC");
});

test("a GcBudget without a major limit never runs a full GC", async () => {
  const budget = new GcBudget({ minor: MiB });
  budget.add(64 * MiB);
  assert.deepEqual(await gcKinds(() => budget.collectIfDue()), [constants.NODE_PERFORMANCE_GC_MINOR]);
});
