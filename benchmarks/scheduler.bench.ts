/**
 * Scheduler overhead benchmark: the sum of 20,000 blocks of 10 ones as a tree reduction
 * (46,670 tasks, the same graph shape as dask's `da.ones(200000, chunks=10).sum()`), computed
 * in sync mode, threads mode (tiny cpu ops run inline by the threshold) and threads mode with
 * every cpu op forced onto the worker pool. Prints µs per task (wall time of `compute()`,
 * optimization included, over the 46,670 tasks of the unoptimized graph, as for dask), and
 * dask's figures side by side when /usr/bin/python3 has dask (benchmarks/peers/dask_overhead.py).
 *
 * Run: npm run build && node --import tsx benchmarks/scheduler.bench.ts [repeats]
 * (not part of the tests).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Blockwise, Graph, MaterializedLayer, Task, blockKey, blockwiseInput, op, ref, type Key } from "@zask/graph";
import { close, compute, type ComputeOptions } from "@zask/scheduler";
import { describeMachine } from "./lib/machine.ts";

const REPEATS = Number(process.argv[2] ?? 3);
const BLOCKS = 20_000;
const BLOCK = 10;
const SPLIT_EVERY = 4;
const ops = new URL("../test/scheduler/fixtures/ops.js", import.meta.url).href;
const ones = op(ops, "ones");
const chunkSum = op(ops, "chunkSum");
const combine = op(ops, "combine");

/** ones → per-block sum (two Blockwise layers) → partial sums of `SPLIT_EVERY` per level → total. */
function treeSum(): { graph: Graph; key: Key; tasks: number } {
  let graph = Graph.fromLayer(new Blockwise({ name: "ones", outIndex: "i", numBlocks: [BLOCKS], op: ones, args: [BLOCK] }));
  graph = graph.withLayer(
    new Blockwise({ name: "sum-chunk", outIndex: "i", numBlocks: [BLOCKS], op: chunkSum, args: [blockwiseInput("ones", "i", [BLOCKS])] }),
    ["ones"],
  );
  let level = "sum-chunk";
  let n = BLOCKS;
  let depth = 0;
  while (n > 1) {
    const m = Math.ceil(n / SPLIT_EVERY);
    const name = m === 1 ? "sum-aggregate" : `sum-partial-${depth++}`;
    const tasks: Task[] = [];
    for (let j = 0; j < m; j++) {
      const parts = [];
      for (let i = j * SPLIT_EVERY; i < Math.min(n, (j + 1) * SPLIT_EVERY); i++) parts.push(ref(blockKey(level, [i])));
      tasks.push(new Task(blockKey(name, [j]), combine, [parts]));
    }
    graph = graph.withLayer(new MaterializedLayer(name, tasks), [level]);
    level = name;
    n = m;
  }
  return { graph, key: blockKey(level, [0]), tasks: graph.stats().tasks };
}

async function time(options: ComputeOptions): Promise<{ medianMs: number; runs: number[] }> {
  const { graph, key } = treeSum();
  const [warm] = await compute(graph, [key], { progress: false, ...options });
  if (warm !== BLOCKS * BLOCK) throw new Error(`wrong sum ${String(warm)}`);
  const runs: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    await compute(graph, [key], { progress: false, ...options });
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  return { medianMs: runs[Math.floor(runs.length / 2)]!, runs };
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
console.log(`workload: sum of ${BLOCKS.toLocaleString("en")} blocks of ${BLOCK} ones, tree reduction splitEvery ${SPLIT_EVERY}: ${built.tasks.toLocaleString("en")} tasks (graph built in ${buildMs.toFixed(0)} ms, not counted); medians of ${REPEATS}`);
const modes: [string, ComputeOptions][] = [
  ["zask sync", { scheduler: "sync" }],
  ["zask threads (tiny cpu ops inline by threshold)", { scheduler: "threads" }],
  ["zask threads, every cpu op on the pool", { scheduler: "threads", inlineThreshold: 0 }],
];
const ours: Record<string, number> = {};
for (const [label, options] of modes) {
  const { medianMs } = await time(options);
  ours[label] = (medianMs * 1000) / built.tasks;
  console.log(`${label.padEnd(50)} ${medianMs.toFixed(1).padStart(8)} ms  ${ours[label]!.toFixed(2).padStart(7)} µs/task`);
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
