/**
 * Distributed executor benchmark (issue 18), on a real redis-server and `zask worker` processes:
 *
 * 1. Overhead: 10,000 tiny cpu tasks (and one task summing them), local `threads` executor vs
 *    `bullmq()` with 2 workers; reports the extra wall time per task.
 * 2. Scale-out where I/O binds: the full scan (mean per gene) of the [2638, 5] store (368
 *    chunks) through a static server that delays every answer by 50 ms (the remote benchmark's
 *    RTT), with 1, 2 and 4 workers at a fixed per-worker concurrency; throughput vs N x one worker's.
 * 3. Fault: the same scan on 3 workers, one killed with SIGKILL mid-scan; exact result, wall time
 *    vs the fault-free 3-worker run.
 *
 *   npm run build && node --import tsx benchmarks/distributed.bench.ts [repeats]
 *
 * (writes benchmarks/results/distributed.md; not part of the tests)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join, normalize } from "node:path";
import { Graph, Task, op, ref } from "@zask/graph";
import { readZarr } from "@zask/anndata";
import type { Array as LazyArray } from "@zask/array";
import { bullmq, close, compute } from "@zask/scheduler";
import { describeMachine } from "./lib/machine.ts";
import { chunkings } from "./lib/results.ts";
import { ensureStores } from "./lib/stores.ts";
import { startRedis } from "../test/helpers/redis-server.ts";

const repeats = Number(process.argv[2] ?? 3);
const BIN = new URL("../packages/cli/bin/zask.js", import.meta.url).pathname;
const STORES = new URL("./results/tmp/stores/", import.meta.url).pathname;
const OPS = new URL("../test/scheduler/fixtures/ops.js", import.meta.url);
const WORKER_CONCURRENCY = 8;
const RTT_MS = 50;

await ensureStores(
  STORES,
  chunkings().filter((c) => c.name === "c5"),
);
const redis = await startRedis();
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// a static server whose every answer waits RTT_MS, as the latency proxy does
const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
  await new Promise((r) => setTimeout(r, RTT_MS));
  try {
    const body = await readFile(join(STORES, normalize(path)));
    res.writeHead(200, { "content-length": body.length }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

interface Worker {
  child: ChildProcess;
  exited: Promise<unknown>;
}

async function startWorkers(n: number, queue: string): Promise<Worker[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const child = spawn(
        process.execPath,
        [
          BIN,
          "worker",
          "--redis",
          redis.url,
          "--queue",
          queue,
          "--concurrency",
          String(WORKER_CONCURRENCY),
          "--lock-duration",
          "1000",
          "--stalled-interval",
          "300",
          "--quiet",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      const exited = new Promise((r) => child.once("exit", r));
      await new Promise<void>((resolve) => child.stderr!.on("data", (b: Buffer) => b.toString().includes(" ready on queue ") && resolve()));
      return { child, exited };
    }),
  );
}

async function stopWorkers(ws: Worker[]): Promise<void> {
  for (const w of ws) if (w.child.exitCode === null) w.child.kill("SIGTERM");
  await Promise.all(ws.map((w) => w.exited));
}

let queues = 0;
const lines: string[] = [];
const say = (s: string): void => {
  console.log(s);
  lines.push(s);
};

say(`# Distributed executor (BullMQ on Redis)\n\n${describeMachine()}\n`);
say(`Median of ${repeats} runs; workers: \`zask worker --concurrency ${WORKER_CONCURRENCY}\`, all on this machine.\n`);

// ---- 1. overhead per task
{
  const N = 10_000;
  const fill = op(OPS, "fill");
  const sum = op(OPS, "sum");
  const nodes = Array.from({ length: N }, (_, i) => new Task(`t${i}`, fill, [1, i]));
  nodes.push(
    new Task(
      "total",
      sum,
      nodes.map((t) => ref(t.key)),
    ),
  );
  const g = Graph.fromNodes("tiny", nodes);
  const local: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await compute(g, ["total"]);
    local.push(performance.now() - t0);
  }
  const queue = `bench-${queues++}`;
  const workers = await startWorkers(2, queue);
  const cluster = bullmq({ connection: redis.url, queue, maxInFlight: 512 });
  const remote: number[] = [];
  let total: unknown;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    [total] = await compute(g, ["total"], { scheduler: cluster });
    remote.push(performance.now() - t0);
  }
  await cluster.close();
  await stopWorkers(workers);
  const [expected] = await compute(g, ["total"], { scheduler: "sync" });
  const perTask = (median(remote) - median(local)) / N;
  say(`## Overhead: ${N} tiny tasks\n`);
  say(`| executor | wall (s) | per task (ms) |\n| --- | --- | --- |`);
  say(`| local threads | ${(median(local) / 1000).toFixed(2)} | ${(median(local) / N).toFixed(3)} |`);
  say(`| bullmq, 2 workers | ${(median(remote) / 1000).toFixed(2)} | ${(median(remote) / N).toFixed(3)} |`);
  say(`\nExtra per task: **${perTask.toFixed(3)} ms** (target ≤ 1 ms). Result equal: ${total === expected}.\n`);
}

// ---- 2. scale-out, 3. fault
{
  const adata = await readZarr(`${base}/c5.zarr`);
  const X = adata.X as LazyArray;
  const chunks = X.numBlocks.reduce((a, b) => a * b, 1);
  const local = (await X.mean({ axis: 0 }).compute()) as unknown as { data: Float32Array };
  const same = (v: { data: Float32Array }): boolean =>
    Buffer.compare(
      Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength),
      Buffer.from(local.data.buffer, local.data.byteOffset, local.data.byteLength),
    ) === 0;
  const scan = async (n: number, kill: boolean): Promise<{ ms: number; exact: boolean }> => {
    const queue = `bench-${queues++}`;
    const workers = await startWorkers(n, queue);
    const cluster = bullmq({ connection: redis.url, queue, maxInFlight: 4 * WORKER_CONCURRENCY });
    const times: number[] = [];
    let exact = true;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      const run = X.mean({ axis: 0 }).compute({ scheduler: cluster }) as unknown as Promise<{ data: Float32Array }>;
      if (kill && r === 0) {
        await new Promise((res) => setTimeout(res, 300));
        workers[0]!.child.kill("SIGKILL");
      }
      exact &&= same(await run);
      times.push(performance.now() - t0);
      if (kill) break;
    }
    await cluster.close();
    await stopWorkers(workers);
    return { ms: kill ? times[0]! : median(times), exact };
  };
  const results = new Map<number, { ms: number; exact: boolean }>();
  for (const n of [1, 2, 4]) results.set(n, await scan(n, false));
  const one = results.get(1)!.ms;
  say(`## Scale-out: full scan of the [2638, 5] store (${chunks} chunks), ${RTT_MS} ms per answer\n`);
  say(`| workers | wall (s) | chunks/s | speed-up | target (0.8 x N) | exact |\n| --- | --- | --- | --- | --- | --- |`);
  for (const [n, r] of results)
    say(`| ${n} | ${(r.ms / 1000).toFixed(2)} | ${((chunks / r.ms) * 1000).toFixed(0)} | ${(one / r.ms).toFixed(2)} | ${(0.8 * n).toFixed(1)} | ${r.exact} |`);
  const free3 = await scan(3, false);
  const fault = await scan(3, true);
  say(`\n## Fault: 3 workers, one killed with SIGKILL 300 ms into the scan (lockDuration 1000 ms)\n`);
  say(`| run | wall (s) | exact |\n| --- | --- | --- |`);
  say(`| fault-free | ${(free3.ms / 1000).toFixed(2)} | ${free3.exact} |`);
  say(`| one worker killed | ${(fault.ms / 1000).toFixed(2)} | ${fault.exact} |`);
  say(`\nRatio: **${(fault.ms / free3.ms).toFixed(2)}** (target ≤ 1.5).`);
}

await writeFile(new URL("./results/distributed.md", import.meta.url), `${lines.join("\n")}\n`);
await close();
server.closeAllConnections();
server.close();
await redis.stop();
