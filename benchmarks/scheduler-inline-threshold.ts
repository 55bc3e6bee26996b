/**
 * Measures where the worker pool starts to pay for a light cpu op, to set the scheduler's
 * inline threshold (DEFAULT_INLINE_THRESHOLD) and its slow-op limit (SLOW_OP_MS):
 *
 * 1. round trip: a chain of 200 tasks, each waiting for the previous, on the pool — the latency
 *    of one message to a worker and back;
 * 2. crossover: 64 independent blocks of S bytes (float64), each `a * k + b` then its sum,
 *    all inline vs all on the pool, for S from 1 KiB to 1 MiB. The threshold is the smallest S
 *    from which the pool is at least as fast.
 *
 * Run: npm run build && node --import tsx benchmarks/scheduler-inline-threshold.ts [repeats]
 * (not part of the tests).
 */
import { loadavg } from "node:os";
import { DataNode, Graph, Task, op, ref } from "@zask/graph";
import { DEFAULT_INLINE_THRESHOLD, close, compute, type ComputeOptions } from "@zask/scheduler";
import { describeMachine } from "./lib/machine.ts";

const REPEATS = Number(process.argv[2] ?? 5);
const ops = new URL("../test/scheduler/fixtures/ops.js", import.meta.url).href;
const spin = op(ops, "spin");
const affine = op(ops, "affine");
const chunkSum = op(ops, "chunkSum");

async function median(graph: Graph, keys: string[], options: ComputeOptions): Promise<number> {
  await compute(graph, keys, { progress: false, optimize: false, ...options });
  const runs: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    await compute(graph, keys, { progress: false, optimize: false, ...options });
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  return runs[Math.floor(runs.length / 2)]!;
}

console.log(
  `machine: ${describeMachine()}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}; medians of ${REPEATS}`,
);

// 1. round trip
const CHAIN = 200;
const chain = [new Task("c-0", spin, [0, 0])];
for (let i = 1; i < CHAIN; i++) chain.push(new Task(`c-${i}`, spin, [0, ref(`c-${i - 1}`)]));
const chainGraph = Graph.fromNodes("chain", chain);
const pooled = await median(chainGraph, [`c-${CHAIN - 1}`], { inlineThreshold: 0 });
const inlined = await median(chainGraph, [`c-${CHAIN - 1}`], { inlineThreshold: Infinity });
const roundTrip = ((pooled - inlined) * 1000) / CHAIN;
console.log(`round trip of one message to a worker and back: ${roundTrip.toFixed(1)} µs (chain of ${CHAIN} dependent tasks)`);

// 2. crossover
const BLOCKS = 64;
let crossover: number | undefined;
console.log(`bytes per block | inline ms | pool ms | pool / inline   (${BLOCKS} blocks: a * 2 + 1, then sum)`);
for (let bytes = 1024; bytes <= 1 << 20; bytes *= 4) {
  const nodes = [];
  for (let b = 0; b < BLOCKS; b++) {
    nodes.push(new DataNode(`x-${b}`, new Float64Array(bytes / 8).fill(b)));
    nodes.push(new Task(`y-${b}`, affine, [ref(`x-${b}`), 2, 1]));
    nodes.push(new Task(`s-${b}`, chunkSum, [ref(`y-${b}`)]));
  }
  nodes.push(
    new Task(
      "total",
      (...xs: number[]) => xs.reduce((a, b) => a + b, 0),
      Array.from({ length: BLOCKS }, (_, b) => ref(`s-${b}`)),
    ),
  );
  const graph = Graph.fromNodes("blocks", nodes);
  const inline = await median(graph, ["total"], { inlineThreshold: Infinity });
  const pool = await median(graph, ["total"], { inlineThreshold: 0 });
  if (crossover === undefined && pool <= inline) crossover = bytes;
  console.log(`${String(bytes).padStart(15)} | ${inline.toFixed(1).padStart(9)} | ${pool.toFixed(1).padStart(7)} | ${(pool / inline).toFixed(2).padStart(6)}`);
}
await close();
console.log(
  `crossover: ${crossover === undefined ? "none up to 1 MiB" : `${crossover / 1024} KiB`} (DEFAULT_INLINE_THRESHOLD is ${DEFAULT_INLINE_THRESHOLD / 1024} KiB)`,
);
