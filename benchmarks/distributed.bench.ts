/**
 * Distributed executor benchmark (issue 18), on a real redis-server and `zask worker` processes:
 *
 * 1. Overhead: 10,000 tiny cpu tasks (and one task summing them), local `threads` executor vs
 *    `bullmq()` with 2 workers; reports the extra wall time per task.
 * 2. Scale-out where I/O binds: the full scan (mean per gene) of the [2638, 5] store (368
 *    chunks) through a static server that delays every answer by 50 ms (the remote benchmark's
 *    RTT), with 1, 2 and 4 workers at a fixed per-worker concurrency; throughput vs N x one worker's,
 *    with the CPU time the run cost (this process, which also serves the store; the workers; Redis).
 *    The same with tasks that only fetch a tiny object through the same server (latency, almost
 *    no CPU) separates the executor's dispatch from the work of decoding chunks.
 * 3. Fault: the same scan on 3 workers, one killed with SIGKILL mid-scan; exact result, wall time
 *    vs the fault-free 3-worker run (backup copies of stragglers on, the executor's default), with
 *    workers locking jobs for 1 s and for 30 s (BullMQ's default).
 *
 *   npm run build && node --import tsx benchmarks/distributed.bench.ts [repeats] [worker-concurrency]
 *
 * A worker concurrency of 8 (the default) makes the 4-worker scan CPU-bound on a 2-core machine;
 * 2 keeps every run I/O-bound there, which is the case the scale-out figure is about.
 *
 * (writes benchmarks/results/distributed.md, or distributed-cN.md for another concurrency; not part of the tests)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
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
const WORKER_CONCURRENCY = Number(process.argv[3] ?? 8);
if (!Number.isInteger(WORKER_CONCURRENCY) || WORKER_CONCURRENCY < 1) throw new RangeError(`Expected a worker concurrency >= 1, got ${process.argv[3]}`);
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

/** CPU time a process has used, ms (Linux's /proc), or NaN once it is gone. */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

interface Worker {
  child: ChildProcess;
  exited: Promise<unknown>;
}

async function startWorkers(n: number, queue: string, lockDuration = 1000): Promise<Worker[]> {
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
          String(lockDuration),
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
  interface Run {
    ms: number;
    exact: boolean;
    /** CPU ms of one run: this process (client and store server), the workers, Redis. */
    cpu: { client: number; workers: number; redis: number };
  }
  const scan = async (n: number, kill: boolean, tiny = false, lockDuration = 1000): Promise<Run> => {
    const queue = `bench-${queues++}`;
    const workers = await startWorkers(n, queue, lockDuration);
    const cluster = bullmq({ connection: redis.url, queue });
    const runs: Run[] = [];
    const fetchBytes = op(OPS, "fetchBytes", { lane: "io" });
    const tinyGraph = Graph.fromNodes(
      "tiny-fetch",
      Array.from({ length: chunks }, (_, i) => new Task(`f${i}`, fetchBytes, [`${base}/c5.zarr/X/.zarray?${i}`])),
    );
    const tinyKeys = Array.from({ length: chunks }, (_, i) => `f${i}`);
    const once = async (): Promise<unknown> =>
      tiny ? compute(tinyGraph, tinyKeys, { scheduler: cluster }) : X.mean({ axis: 0 }).compute({ scheduler: cluster });
    // a first run warms the workers (imports, connections) as a long-lived cluster would be
    await once();
    for (let r = 0; r < repeats; r++) {
      const w0 = workers.map((w) => cpuMs(w.child.pid!));
      const r0 = cpuMs(redis.process.pid!);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const run = once();
      if (kill) {
        await new Promise((res) => setTimeout(res, 300));
        workers[0]!.child.kill("SIGKILL");
      }
      const value = await run;
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      // a killed worker's share is left out
      const wcpu = workers.reduce((a, w, i) => a + (cpuMs(w.child.pid!) - w0[i]! || 0), 0);
      runs.push({
        ms,
        exact: tiny ? (value as unknown[]).length === chunks : same(value as { data: Float32Array }),
        cpu: { client: (c.user + c.system) / 1000, workers: wcpu, redis: cpuMs(redis.process.pid!) - r0 },
      });
      if (kill) break;
    }
    await cluster.close();
    await stopWorkers(workers);
    const mid = [...runs].sort((a, b) => a.ms - b.ms)[runs.length >> 1]!;
    return { ...mid, exact: runs.every((r) => r.exact) };
  };
  const cpuCell = (r: Run): string => `${r.cpu.client.toFixed(0)} / ${r.cpu.workers.toFixed(0)} / ${r.cpu.redis.toFixed(0)}`;
  const table = (title: string, results: Map<number, Run>): void => {
    const one = results.get(1)!.ms;
    say(title);
    say(
      `| workers | wall (s) | tasks/s | speed-up | target (0.8 x N) | floor (s) | CPU ms: client+server / workers / redis | exact |\n| --- | --- | --- | --- | --- | --- | --- | --- |`,
    );
    for (const [n, r] of results) {
      const floor = (Math.ceil(chunks / (n * WORKER_CONCURRENCY)) * RTT_MS) / 1000;
      say(
        `| ${n} | ${(r.ms / 1000).toFixed(2)} | ${((chunks / r.ms) * 1000).toFixed(0)} | ${(one / r.ms).toFixed(2)} | ${(0.8 * n).toFixed(1)} | ${floor.toFixed(2)} | ${cpuCell(r)} | ${r.exact} |`,
      );
    }
  };
  const results = new Map<number, Run>();
  for (const n of [1, 2, 4]) results.set(n, await scan(n, false));
  table(`## Scale-out: full scan of the [2638, 5] store (${chunks} chunks), ${RTT_MS} ms per answer\n`, results);
  const tiny = new Map<number, Run>();
  for (const n of [1, 2, 4]) tiny.set(n, await scan(n, false, true));
  table(
    `\n## The same dispatch without the decoding: ${chunks} tasks that each fetch a 342-byte object (the array's .zarray), ${RTT_MS} ms per answer\n`,
    tiny,
  );
  const free3 = await scan(3, false);
  const fault = await scan(3, true);
  const faultLongLocks = await scan(3, true, false, 30_000);
  say(`\n## Fault: 3 workers, one killed with SIGKILL 300 ms into the scan (backup copies on, the executor's default)\n`);
  say(`| run | wall (s) | CPU ms: client+server / workers / redis | exact |\n| --- | --- | --- | --- |`);
  say(`| fault-free | ${(free3.ms / 1000).toFixed(2)} | ${cpuCell(free3)} | ${free3.exact} |`);
  say(`| one worker killed (locks of 1 s) | ${(fault.ms / 1000).toFixed(2)} | ${cpuCell(fault)} | ${fault.exact} |`);
  say(
    `| one worker killed (locks of 30 s, BullMQ's default) | ${(faultLongLocks.ms / 1000).toFixed(2)} | ${cpuCell(faultLongLocks)} | ${faultLongLocks.exact} |`,
  );
  say(
    `\nRatio: **${(fault.ms / free3.ms).toFixed(2)}** with locks of 1 s, **${(faultLongLocks.ms / free3.ms).toFixed(2)}** with locks of 30 s (target ≤ 1.5; without backup copies a 30 s lock alone costs ≥ 30 s).`,
  );
}

await writeFile(new URL(`./results/distributed${WORKER_CONCURRENCY === 8 ? "" : `-c${WORKER_CONCURRENCY}`}.md`, import.meta.url), `${lines.join("\n")}\n`);
await close();
server.closeAllConnections();
server.close();
await redis.stop();
