/**
 * Scheduler overhead benchmark: the sum of 20,000 blocks of 10 ones as a tree reduction
 * (46,670 tasks, the same graph shape as dask's `da.ones(200000, chunks=10).sum()`), computed
 * in sync mode, threads mode (tiny cpu ops run inline by the threshold) and threads mode with
 * every cpu op forced onto the worker pool. Prints µs per task (wall time of `compute()`,
 * optimization included, over the 46,670 tasks of the unoptimized graph, as for dask), and
 * dask's figures side by side when /usr/bin/python3 has dask (benchmarks/peers/dask_overhead.py).
 * Each mode is warmed up by a few computes, then the modes take turns, one compute per round.
 *
 * Run: npm run build && node --import tsx benchmarks/scheduler.bench.ts [repeats]
 * (not part of the tests).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { cull, fuse, orderIndexed } from "@zask/graph";
import { close, compute, type ComputeOptions } from "@zask/scheduler";
import { describeMachine } from "./lib/machine.ts";
import { BLOCK, BLOCKS, SPLIT_EVERY, treeSum } from "./scheduler-workload.ts";

const REPEATS = Number(process.argv[2] ?? 3);

/** Computes of each mode before timing: V8 optimizes the hot code over the first few. */
const WARMUP = 3;

/**
 * The median wall time of each mode's computes. The modes take turns, one compute each per
 * round, so that a busy phase of this shared machine slows every mode alike rather than one.
 */
async function timeModes(modes: readonly (readonly [string, ComputeOptions])[]): Promise<number[]> {
  const { graph, key } = treeSum();
  const runs: number[][] = modes.map(() => []);
  for (let r = 0; r < WARMUP + REPEATS; r++) {
    for (let m = 0; m < modes.length; m++) {
      const t0 = performance.now();
      const [sum] = await compute(graph, [key], { progress: false, ...modes[m]![1] });
      const ms = performance.now() - t0;
      if (sum !== BLOCKS * BLOCK) throw new Error(`wrong sum ${String(sum)} (${modes[m]![0]})`);
      if (r >= WARMUP) runs[m]!.push(ms);
    }
  }
  return runs.map((x) => x.sort((a, b) => a - b)[Math.floor(x.length / 2)]!);
}

interface DaskOut {
  version: string;
  tasks: number;
  tasks_optimized: number;
  schedulers: Record<"threads" | "sync", { median_s: number }>;
}

async function dask(): Promise<DaskOut | string> {
  try {
    await promisify(execFile)("/usr/bin/python3", ["-c", "import dask"]);
  } catch {
    return "dask not available under /usr/bin/python3";
  }
  const script = new URL("./peers/dask_overhead.py", import.meta.url).pathname;
  const { stdout } = await promisify(execFile)("/usr/bin/python3", [script, String(REPEATS)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as DaskOut;
}

const t0 = performance.now();
const built = treeSum();
const buildMs = performance.now() - t0;
console.log(`machine: ${describeMachine()}`);
console.log(
  `workload: sum of ${BLOCKS.toLocaleString("en")} blocks of ${BLOCK} ones, tree reduction splitEvery ${SPLIT_EVERY}: ${built.tasks.toLocaleString("en")} tasks (graph built in ${buildMs.toFixed(0)} ms, not counted); medians of ${REPEATS} after ${WARMUP} warm-up computes, the modes taking turns`,
);
const modes: [string, ComputeOptions][] = [
  ["zask sync", { scheduler: "sync" }],
  ["zask threads (tiny cpu ops inline by threshold)", { scheduler: "threads" }],
  ["zask threads, every cpu op on the pool", { scheduler: "threads", inlineThreshold: 0 }],
];
// the graph passes compute() runs first (cull, fuse, materialize, number, order: @zask/graph's
// part; the scheduler's plan reuses the numbering order made)
{
  const { graph, key } = treeSum();
  const runs: number[] = [];
  for (let r = 0; r < WARMUP + REPEATS; r++) {
    const t0 = performance.now();
    orderIndexed(fuse(cull(graph, [key]), [key]).indexed());
    if (r >= WARMUP) runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  const ms = runs[Math.floor(runs.length / 2)]!;
  console.log(
    `${"of which graph passes (cull, fuse, index, order)".padEnd(50)} ${ms.toFixed(1).padStart(8)} ms  ${((ms * 1000) / built.tasks).toFixed(2).padStart(7)} µs/task`,
  );
}
const ours: Record<string, number> = {};
const medians = await timeModes(modes);
for (let m = 0; m < modes.length; m++) {
  const label = modes[m]![0];
  ours[label] = (medians[m]! * 1000) / built.tasks;
  console.log(`${label.padEnd(50)} ${medians[m]!.toFixed(1).padStart(8)} ms  ${ours[label]!.toFixed(2).padStart(7)} µs/task`);
}
await close();
const peer = await dask();
if (typeof peer === "string") {
  console.log(peer);
} else {
  console.log(`dask ${peer.version}: ${peer.tasks.toLocaleString("en")} tasks (${peer.tasks_optimized.toLocaleString("en")} after its optimization)`);
  for (const s of ["threads", "sync"] as const) {
    const us = (peer.schedulers[s].median_s * 1e6) / peer.tasks;
    console.log(`${`dask ${s}`.padEnd(50)} ${(peer.schedulers[s].median_s * 1000).toFixed(1).padStart(8)} ms  ${us.toFixed(2).padStart(7)} µs/task`);
  }
  const daskSync = (peer.schedulers.sync.median_s * 1e6) / peer.tasks;
  const daskThreads = (peer.schedulers.threads.median_s * 1e6) / peer.tasks;
  console.log(`ratio dask sync / zask sync: ${(daskSync / ours["zask sync"]!).toFixed(1)}x`);
  console.log(`ratio dask threads / zask threads: ${(daskThreads / ours["zask threads (tiny cpu ops inline by threshold)"]!).toFixed(1)}x`);
  console.log(`ratio dask threads / zask all-on-pool: ${(daskThreads / ours["zask threads, every cpu op on the pool"]!).toFixed(1)}x`);
}
