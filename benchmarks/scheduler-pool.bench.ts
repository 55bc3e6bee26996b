/**
 * Pool speedup benchmark: per-column sums of 368 blosc-lz4 chunks of 2638 x 5 float32 (the
 * shape of pbmc3k's X at chunks (2638, 5)), decoded with numcodecs' wasm blosc. The same graph
 * runs in sync mode (all on the main thread) and in threads mode with the decodes on the
 * worker pool; prints both and the speedup, with the machine and its load.
 *
 * Run: npm run build && node --import tsx benchmarks/scheduler-pool.bench.ts [repeats]
 * (not part of the tests).
 */
import { DataNode, Graph, Task, op, ref } from "@zask/graph";
import { close, compute, type ComputeOptions } from "@zask/scheduler";
import { describeMachine } from "./lib/machine.ts";
import { loadavg } from "node:os";

const REPEATS = Number(process.argv[2] ?? 5);
const CHUNKS = 368;
const ROWS = 2638;
const COLS = 5;
const codecOps = new URL("../test/scheduler/fixtures/codec-ops.js", import.meta.url).href;
const { bloscEncode } = (await import(codecOps)) as { bloscEncode: (a: Float32Array) => Promise<Uint8Array> };
const decode = op(codecOps, "bloscDecode");
const colSums = op(codecOps, "colSums");

// sparse, count-like data (10% non-zero), as in an AnnData X; fixed seed
let seed = 42;
const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const nodes = [];
let compressed = 0;
for (let c = 0; c < CHUNKS; c++) {
  const a = new Float32Array(ROWS * COLS);
  for (let i = 0; i < a.length; i++) a[i] = random() < 0.1 ? Math.round(random() * 50) / 10 : 0;
  const bytes = await bloscEncode(a);
  compressed += bytes.byteLength;
  nodes.push(new DataNode(`raw-${c}`, bytes));
  nodes.push(new Task(`dec-${c}`, decode, [ref(`raw-${c}`)]));
  nodes.push(new Task(`sum-${c}`, colSums, [ref(`dec-${c}`), ROWS, COLS]));
}
nodes.push(new Task("all", (...parts: Float64Array[]) => parts.reduce((s, p) => s + p.reduce((a, b) => a + b, 0), 0), Array.from({ length: CHUNKS }, (_, c) => ref(`sum-${c}`))));
const graph = Graph.fromNodes("pool-bench", nodes);

async function median(options: ComputeOptions): Promise<number> {
  // two warm-up runs: with the default threshold the first runs the decodes inline and learns
  // they are slow, the second starts the workers (and their wasm) — neither is steady state
  await compute(graph, ["all"], { progress: false, ...options });
  await compute(graph, ["all"], { progress: false, ...options });
  const runs: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    await compute(graph, ["all"], { progress: false, ...options });
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  return runs[Math.floor(runs.length / 2)]!;
}

console.log(`machine: ${describeMachine()}, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
console.log(`workload: ${CHUNKS} blosc-lz4 chunks of ${ROWS} x ${COLS} float32 (${(compressed / CHUNKS / 1024).toFixed(1)} KiB compressed on average), decode + column sums; medians of ${REPEATS}`);
const sync = await median({ scheduler: "sync" });
const byThreshold = await median({ scheduler: "threads" });
const pool = await median({ scheduler: "threads", inlineThreshold: 0 });
await close();
console.log(`sync (main thread only)                     ${sync.toFixed(1).padStart(8)} ms`);
console.log(`threads, default inline threshold           ${byThreshold.toFixed(1).padStart(8)} ms  (${(sync / byThreshold).toFixed(2)}x)`);
console.log(`threads, every decode on the pool           ${pool.toFixed(1).padStart(8)} ms  (${(sync / pool).toFixed(2)}x)`);
