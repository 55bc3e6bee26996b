/**
 * Pool speedup benchmark: per-column sums of blosc-lz4 chunks decoded with numcodecs' wasm blosc,
 * 368 chunks of 2638 x 5 float32, 74 of 2638 x 25 and 37 of 2638 x 50 (the shapes of pbmc3k's
 * X at chunks (2638, 5), (2638, 25) and (2638, 50)): the same bytes in light tasks (~0.4 ms of
 * decode each), where the cost of a message shows, and in CPU-heavy ones (~2 and ~4 ms). The same graph
 * runs in sync mode (all on the main thread) and in threads mode with the decodes on the
 * worker pool, in blocks of runs per mode, the blocks interleaved round by round; prints the
 * medians and the speedups (medians of per-round ratios), with the machine and its load.
 * Beside them, the machine's own ceiling for the same work: a plain decode loop on two worker
 * threads against one (no scheduler), measured in the same rounds; what 2 cores give here.
 *
 * Each workload runs twice: with its compressed chunks in shared memory (a SharedArrayBuffer:
 * a message carries them at no cost, as it moves the bodies the I/O lane fetched, the product's
 * path) and in ordinary memory (graph literals the graph keeps, so every message copies them).
 *
 * Run: npm run build && node --import tsx benchmarks/scheduler-pool.bench.ts [repeats]
 * (not part of the tests).
 */
import { DataNode, Graph, Task, op, ref } from "@zask/graph";
import { close, compute, type ComputeOptions } from "@zask/scheduler";
import { describeMachine } from "./lib/machine.ts";
import { once } from "node:events";
import { loadavg } from "node:os";
import { Worker } from "node:worker_threads";
import { median } from "./lib/stats.ts";

const REPEATS = Number(process.argv[2] ?? 6);
const ROWS = 2638;
const codecOps = new URL("../test/scheduler/fixtures/codec-ops.js", import.meta.url).href;
const { bloscEncode } = (await import(codecOps)) as { bloscEncode: (a: Float32Array) => Promise<Uint8Array> };
const decode = op(codecOps, "bloscDecode");
const colSums = op(codecOps, "colSums");

/** `chunks` blosc chunks of ROWS x `cols` float32, each decoded and summed per column, then one total. */
async function workload(chunks: number, cols: number, shared: boolean): Promise<{ graph: Graph; compressed: number; bodies: Uint8Array[] }> {
  // sparse, count-like data (10% non-zero), as in an AnnData X; fixed seed
  let seed = 42;
  const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const nodes = [];
  const bodies: Uint8Array[] = [];
  let compressed = 0;
  for (let c = 0; c < chunks; c++) {
    const a = new Float32Array(ROWS * cols);
    for (let i = 0; i < a.length; i++) a[i] = random() < 0.1 ? Math.round(random() * 50) / 10 : 0;
    const bytes = await bloscEncode(a);
    compressed += bytes.byteLength;
    bodies.push(inSharedMemory(bytes));
    nodes.push(new DataNode(`raw-${c}`, shared ? inSharedMemory(bytes) : bytes));
    nodes.push(new Task(`dec-${c}`, decode, [ref(`raw-${c}`)]));
    nodes.push(new Task(`sum-${c}`, colSums, [ref(`dec-${c}`), ROWS, cols]));
  }
  nodes.push(
    new Task(
      "all",
      (...parts: Float64Array[]) => parts.reduce((s, p) => s + p.reduce((a, b) => a + b, 0), 0),
      Array.from({ length: chunks }, (_, c) => ref(`sum-${c}`)),
    ),
  );
  return { graph: Graph.fromNodes("pool-bench", nodes), compressed, bodies };
}

function inSharedMemory(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  out.set(bytes);
  return out;
}

/**
 * The machine's own ceiling for this work: the same decodes and column sums in a plain loop on
 * one worker thread, and split between two (no scheduler, no messages but one per thread and
 * run; the chunks in shared memory). Two workers, started once, take either part.
 */
class Ceiling {
  readonly #workers: Worker[] = [];

  async start(): Promise<void> {
    const source = `
      const { parentPort, workerData } = require("node:worker_threads");
      import(workerData).then((ops) => {
        parentPort.on("message", async ({ bodies, rows, cols }) => {
          const t0 = performance.now();
          for (const b of bodies) ops.colSums(await ops.bloscDecode(b), rows, cols);
          parentPort.postMessage(performance.now() - t0);
        });
        parentPort.postMessage("ready");
      });`;
    for (let w = 0; w < 2; w++) {
      const worker = new Worker(source, { eval: true, workerData: codecOps });
      await once(worker, "message");
      this.#workers.push(worker);
    }
  }

  /** Wall time, ms, of decoding `bodies` on `threads` workers (chunks dealt in turn). */
  async run(bodies: readonly Uint8Array[], cols: number, threads: 1 | 2): Promise<number> {
    const t0 = performance.now();
    await Promise.all(
      this.#workers.slice(0, threads).map((worker, w) => {
        worker.postMessage({ bodies: bodies.filter((_, c) => c % threads === w), rows: ROWS, cols });
        return once(worker, "message");
      }),
    );
    return performance.now() - t0;
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

const modes: [string, ComputeOptions][] = [
  ["sync (main thread only)", { scheduler: "sync" }],
  ["threads, default inline threshold", { scheduler: "threads" }],
  ["threads, every decode on the pool", { scheduler: "threads", inlineThreshold: 0 }],
];

async function run(graph: Graph, options: ComputeOptions): Promise<number> {
  const t0 = performance.now();
  await compute(graph, ["all"], { progress: false, ...options });
  return performance.now() - t0;
}

console.log(
  `machine: ${describeMachine()}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
const ceiling = new Ceiling();
await ceiling.start();
for (const [chunks, cols, shared] of [
  [368, 5, true],
  [74, 25, true],
  [37, 50, true],
  [368, 5, false],
  [74, 25, false],
  [37, 50, false],
] as const) {
  const { graph, compressed, bodies } = await workload(chunks, cols, shared);
  const where = shared ? "in shared memory" : "in ordinary memory (copied into every message)";
  console.log(
    `\nworkload: ${chunks} blosc-lz4 chunks of ${ROWS} x ${cols} float32 (${(compressed / chunks / 1024).toFixed(1)} KiB compressed on average) ${where}, decode + column sums; ${REPEATS} rounds of a block of 3 runs per mode (the first not timed), the blocks interleaved`,
  );
  // three warm-ups per mode: with the default threshold the first runs the decodes inline and
  // learns they are slow, the second starts the workers (and their wasm), and the JIT tiers up
  for (const [, options] of modes) for (let w = 0; w < 3; w++) await run(graph, options);
  // rounds of blocks: per mode one run to settle (a run right after another mode meets idle
  // workers, or the sync run's garbage) and two measured, the blocks in each order of the 3
  // modes in turn, so that a slow phase of the host falls on all of them alike; the speedups
  // are medians of per-round ratios of the blocks' means
  const orders = [
    [0, 1, 2],
    [1, 2, 0],
    [2, 0, 1],
    [0, 2, 1],
    [2, 1, 0],
    [1, 0, 2],
  ];
  const times: number[][] = modes.map(() => []);
  const rounds: number[][] = [];
  const ceilings: number[] = [];
  for (let w = 0; w < 3; w++) for (const threads of [1, 2] as const) await ceiling.run(bodies, cols, threads);
  for (let r = 0; r < REPEATS; r++) {
    const round: number[] = [];
    for (const m of orders[r % orders.length]!) {
      await run(graph, modes[m]![1]);
      const a = await run(graph, modes[m]![1]);
      const b = await run(graph, modes[m]![1]);
      times[m]!.push(a, b);
      round[m] = (a + b) / 2;
    }
    rounds.push(round);
    // the loop on one worker and on two, in the same round
    const one = (await ceiling.run(bodies, cols, 1)) + (await ceiling.run(bodies, cols, 1));
    const two = (await ceiling.run(bodies, cols, 2)) + (await ceiling.run(bodies, cols, 2));
    ceilings.push(one / two);
  }
  const ratios = (m: number): number[] => rounds.map((round) => round[0]! / round[m]!);
  modes.forEach(([label], m) => {
    const speedup = m === 0 ? "" : `  (${median(ratios(m)).toFixed(2)}x, median of per-round ratios)`;
    console.log(`${label.padEnd(44)}${median(times[m]!).toFixed(1).padStart(8)} ms${speedup}`);
  });
  const machine = median(ceilings);
  console.log(
    `${"the machine: a plain loop on 2 workers vs 1".padEnd(44)}${"".padStart(11)}  (${machine.toFixed(2)}x; the default pool reaches ${((100 * median(ratios(1))) / machine).toFixed(0)}% of it)`,
  );
}
await ceiling.close();
await close();
