/**
 * Graph benchmark: build, cull, fuse and order a graph of 1,000,002 tasks — three chained
 * Blockwise layers (load → inc → double) over 333,334 blocks, 1-d — as `compute()` would for
 * every block of the last layer. Prints wall and CPU seconds per step, the total, peak RSS and
 * heap, the machine and its load average (these cores are shared, so wall time varies with
 * what else runs; CPU time much less). Fused nodes build their steps when the scheduler runs
 * them; the "deferred" line shows what building all of them at once costs (not in the total).
 * Run: `npm run bench:graph` (not part of the tests). `BLOCKS=n` changes the size;
 * `UNFUSED=1` skips fusion, so order sees all 1,000,002 tasks.
 */
import os from "node:os";
import { Blockwise, Fused, Graph, blockIndex, blockKey, blockwiseInput, cull, fuse, op, order } from "@zask/graph";

const BLOCKS = Number(process.env.BLOCKS ?? 333_334);
/** UNFUSED=1: skip fusion, so order sees all 1,000,002 tasks (a second figure, not the target). */
const UNFUSED = process.env.UNFUSED === "1";
const gc = (globalThis as { gc?: () => void }).gc;

const load = op("@zask/bench/ops", "load", { lane: "io" });
const inc = op("@zask/bench/ops", "inc");
const double = op("@zask/bench/ops", "double");

let heapPeak = 0;
const steps: [name: string, wall: number, cpu: number][] = [];
function step<T>(name: string, fn: () => T): T {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const out = fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  steps.push([name, wall, (c.user + c.system) / 1e6]);
  return out;
}

gc?.();
const base = process.memoryUsage();
const loadAvg = os.loadavg();

const graph = step("build", () => {
  const a = new Blockwise({ name: "load-1", outIndex: "i", numBlocks: [BLOCKS], op: load, args: [blockIndex(), "s3://bucket/x"] });
  const b = new Blockwise({ name: "inc-2", outIndex: "i", numBlocks: [BLOCKS], op: inc, args: [blockwiseInput("load-1", "i", [BLOCKS])] });
  const c = new Blockwise({ name: "double-3", outIndex: "i", numBlocks: [BLOCKS], op: double, args: [blockwiseInput("inc-2", "i", [BLOCKS]), 2] });
  return Graph.fromLayer(a).withLayer(b, ["load-1"]).withLayer(c, ["inc-2"]);
});
const tasks = graph.stats().tasks;
const keys = step("keys", () => {
  const out = new Array<string>(BLOCKS);
  for (let i = 0; i < BLOCKS; i++) out[i] = blockKey("double-3", [i]);
  return out;
});
const culled = step("cull", () => cull(graph, keys));
const fused = step("fuse", () => (UNFUSED ? culled : fuse(culled, keys)));
const nodes = step("materialize", () => fused.materialize());
const priorities = step("order", () => order(nodes));

const total = steps.reduce((s, [, t]) => s + t, 0);
const totalCpu = steps.reduce((s, [, , c]) => s + c, 0);
const rssAtTarget = process.resourceUsage().maxRSS * 1024;

// Not part of the target: the fused nodes' steps are built when the scheduler runs each node;
// building all of them at once shows what that deferred work costs.
const deferred = UNFUSED
  ? undefined
  : (() => {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      let count = 0;
      for (const node of nodes.values()) if (node instanceof Fused) count += node.steps.length;
      const c = process.cpuUsage(c0);
      return { count, wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6 };
    })();
const rssPeak = process.resourceUsage().maxRSS * 1024;
const target = { seconds: 3, bytes: 1.5 * 2 ** 30 };
const cpu = os.cpus();
const mb = (b: number): string => (b / 2 ** 20).toFixed(0) + " MB";

console.log(`machine: ${cpu[0]?.model ?? "unknown"}, ${cpu.length} cores, Node ${process.version}, ${os.platform()} ${os.arch()}`);
console.log(
  `graph: ${tasks.toLocaleString("en")} tasks in 3 Blockwise layers over ${BLOCKS.toLocaleString("en")} blocks → ` +
    `${nodes.size.toLocaleString("en")} ${UNFUSED ? "unfused tasks" : "fused nodes"}, ${priorities.size.toLocaleString("en")} priorities`,
);
console.log(`load average before: ${loadAvg.map((l) => l.toFixed(2)).join(" ")} (other processes share these cores; CPU time is the steadier figure)`);
console.log(`${"step".padEnd(12)} ${"wall".padStart(8)} ${"cpu".padStart(8)}`);
for (const [name, wall, c] of steps) console.log(`${name.padEnd(12)} ${wall.toFixed(3).padStart(6)} s ${c.toFixed(3).padStart(6)} s`);
console.log(`${"total".padEnd(12)} ${total.toFixed(3).padStart(6)} s ${totalCpu.toFixed(3).padStart(6)} s`);
console.log(`peak RSS     ${mb(rssAtTarget)} through order (process, including Node itself)`);
if (BLOCKS === 333_334 && !UNFUSED) {
  console.log(
    `target       ${total < target.seconds && rssAtTarget < target.bytes ? "met" : "NOT met"} (< ${target.seconds} s wall, < ${mb(target.bytes)} RSS)`,
  );
}
if (deferred !== undefined) {
  console.log(
    `deferred     building all ${deferred.count.toLocaleString("en")} fused steps (done per node at run time): ` +
      `${deferred.wall.toFixed(3)} s wall, ${deferred.cpu.toFixed(3)} s cpu, peak RSS then ${mb(rssPeak)}`,
  );
}
console.log(`heap         ${mb(heapPeak)} at most after a step (${mb(heapPeak - base.heapUsed)} above the start)`);
