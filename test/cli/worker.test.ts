import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join, normalize } from "node:path";
import { after, before, describe, test } from "node:test";
import { Queue } from "bullmq";
import { readZarr } from "@zask/anndata";
import type { Array as LazyArray } from "@zask/array";
import { Graph, Task, op } from "@zask/graph";
import { bullmq, close, compute } from "@zask/scheduler";
import { redisSkip as skip, startRedis, type RedisServer } from "../helpers/redis-server.ts";

const BIN = new URL("../../packages/cli/bin/zask.js", import.meta.url).pathname;
const FIXTURES = new URL("../fixtures/anndata/", import.meta.url).pathname;

test("zask worker --help prints its usage", () => {
  const r = spawnSync(process.execPath, [BIN, "worker", "--help"], { encoding: "utf8" });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^Usage: zask worker --redis URL/);
  assert.match(r.stdout, /--concurrency N/);
});

test("zask worker without a redis:// URL is a usage error", () => {
  const r = spawnSync(process.execPath, [BIN, "worker", "--redis", "localhost:6379"], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /Expected `--redis` to be a redis:\/\/ URL, got `localhost:6379`/);
});

interface Spawned {
  readonly child: ChildProcess;
  readonly lines: string[];
  exited: Promise<number | null>;
}

/** Start `zask worker` and wait for its ready line. */
async function spawnWorker(redis: string, queue: string, lockDuration = 1000): Promise<Spawned> {
  const child = spawn(
    process.execPath,
    [BIN, "worker", "--redis", redis, "--queue", queue, "--concurrency", "2", "--lock-duration", String(lockDuration), "--stalled-interval", "300"],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    let buf = "";
    child.stderr!.on("data", (b: Buffer) => {
      buf += b.toString();
      const parts = buf.split("\n");
      buf = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        if (/ ready on queue /.test(l)) resolve();
      }
    });
    void exited.then((code) => reject(new Error(`worker exited with ${code}: ${lines.join("\n")}`)));
  });
  return { child, lines, exited };
}

/** Kill, with SIGKILL, the first worker seen holding an active job of `q`; its job's id. */
async function killBusyWorker(q: Queue, workers: readonly Spawned[]): Promise<{ victim: Spawned; job: string }> {
  for (let i = 0; i < 400; i++) {
    for (const job of await q.getActive()) {
      const w = workers.find((s) => job.processedBy?.endsWith(`:${s.child.pid}`));
      if (w !== undefined) {
        w.child.kill("SIGKILL");
        return { victim: w, job: job.id ?? "" };
      }
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("no worker took a job");
}

describe("zask worker processes on a real redis-server", { skip }, () => {
  let redis: RedisServer;
  let server: Server;
  let url = "";
  const delayed = new Set<string>();
  before(async () => {
    redis = await startRedis();
    // a static server whose chunk answers take a while, so that a worker can die mid-job
    server = createServer(async (req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      const file = join(FIXTURES, normalize(path));
      if (/\/X\/\d+\.\d+$/.test(path)) {
        delayed.add(path);
        await new Promise((r) => setTimeout(r, 150));
      }
      try {
        const body = await readFile(file);
        res.writeHead(200, { "content-length": body.length }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await redis.stop();
  });

  test("a compute survives a worker killed mid-job and equals the local result exactly", async () => {
    const queue = `kill${process.pid}`;
    const workers = await Promise.all([0, 1, 2].map(() => spawnWorker(redis.url, queue)));
    // no backup copies: BullMQ's stalled-job check alone hands the job on
    const cluster = bullmq({ connection: redis.url, queue, speculation: false });
    const q = new Queue(queue, { connection: { host: "127.0.0.1", port: redis.port } });
    try {
      const adata = await readZarr(`${url}/pbmc-like.dense.c5.zarr`);
      const X = adata.X as LazyArray;
      const run = X.mean({ axis: 0 }).compute({ scheduler: cluster }) as unknown as Promise<{ data: Float32Array }>;
      // the first worker seen holding an active job is killed while its chunk request waits
      const { victim, job: victimJob } = await killBusyWorker(q, workers);
      const remote = await run;
      const local = (await X.mean({ axis: 0 }).compute()) as unknown as { data: Float32Array };
      assert.deepEqual(
        Buffer.from(remote.data.buffer, remote.data.byteOffset, remote.data.byteLength),
        Buffer.from(local.data.buffer, local.data.byteOffset, local.data.byteLength),
      );
      // the killed worker never finished that job: another one did
      assert.ok(!victim.lines.some((l) => l.includes(` job ${victimJob} `)));
      const survivors = workers.filter((w) => w !== victim);
      assert.ok(survivors.some((w) => w.lines.some((l) => l.includes(` job ${victimJob} `) && / ok [\d.]+ ms /.test(l))));
      // SIGTERM: each survivor finishes, logs that it stopped, and exits with 0
      for (const w of survivors) w.child.kill("SIGTERM");
      for (const w of survivors) {
        assert.equal(await w.exited, 0);
        assert.match(w.lines.at(-1)!, / stopped$/);
      }
    } finally {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
      await q.close();
      await cluster.close();
    }
  });

  test("a killed worker's job runs again as a backup copy long before its lock expires", async () => {
    const queue = `backup${process.pid}`;
    // locks of 30 s: without a backup copy the killed worker's job would wait that long
    const workers = await Promise.all([0, 1, 2].map(() => spawnWorker(redis.url, queue, 30_000)));
    const cluster = bullmq({ connection: redis.url, queue, speculation: { minimum: 200 } });
    const q = new Queue(queue, { connection: { host: "127.0.0.1", port: redis.port } });
    try {
      const adata = await readZarr(`${url}/pbmc-like.dense.c5.zarr`);
      const X = adata.X as LazyArray;
      const t0 = performance.now();
      const run = X.mean({ axis: 0 }).compute({ scheduler: cluster }) as unknown as Promise<{ data: Float32Array }>;
      const { victim, job } = await killBusyWorker(q, workers);
      const remote = await run;
      assert.ok(performance.now() - t0 < 15_000, `finished in ${Math.round(performance.now() - t0)} ms`);
      const local = (await X.mean({ axis: 0 }).compute()) as unknown as { data: Float32Array };
      assert.deepEqual(
        Buffer.from(remote.data.buffer, remote.data.byteOffset, remote.data.byteLength),
        Buffer.from(local.data.buffer, local.data.byteOffset, local.data.byteLength),
      );
      // the copy of the killed worker's job ran on a survivor
      const survivors = workers.filter((w) => w !== victim);
      assert.ok(survivors.some((w) => w.lines.some((l) => l.includes(` job ${job}-b `) && / ok [\d.]+ ms /.test(l))));
    } finally {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
      await Promise.all(workers.map((w) => w.exited));
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
      await cluster.close();
    }
  });

  test("a worker whose Redis went away still exits on SIGTERM, in bounded time", async () => {
    const own = await startRedis();
    const w = await spawnWorker(own.url, `gone${process.pid}`);
    try {
      await own.stop();
      const t0 = performance.now();
      w.child.kill("SIGTERM");
      assert.equal(await w.exited, 0, `signal ${w.child.signalCode}; the worker said:\n${w.lines.join("\n")}`);
      assert.ok(performance.now() - t0 < 8000, `exited after ${Math.round(performance.now() - t0)} ms`);
      assert.match(w.lines.at(-1)!, / stopped$/);
    } finally {
      if (w.child.exitCode === null) w.child.kill("SIGKILL");
    }
  });

  test("a job whose completed event was trimmed from the event stream runs again instead of hanging", { timeout: 30_000 }, async () => {
    const queue = `trim${process.pid}`;
    const w = await spawnWorker(redis.url, queue);
    const cluster = bullmq({ connection: redis.url, queue, timeout: 300, speculation: false });
    const q = new Queue(queue, { connection: { host: "127.0.0.1", port: redis.port } });
    try {
      const fill = op(new URL("../scheduler/fixtures/ops.js", import.meta.url), "fill");
      const nodes = Array.from({ length: 6 }, (_, i) => new Task(`f${i}`, fill, [2, i]));
      const run = compute(
        Graph.fromNodes("t", nodes),
        nodes.map((n) => n.key),
        { scheduler: cluster },
      );
      for (let i = 0; i < 400 && (await q.getJobCountByTypes("waiting", "active", "completed")) + (await q.getCompletedCount()) === 0; i++) {
        await new Promise((r) => setTimeout(r, 2));
      }
      // while this process cannot read events, the worker ends the jobs and their events are trimmed
      const trimmer = spawn("sh", ["-c", `for i in $(seq 60); do redis-cli -p ${redis.port} XTRIM bull:${queue}:events MAXLEN 0 >/dev/null; sleep 0.01; done`]);
      const trimmed = new Promise((r) => trimmer.once("exit", r));
      const until = performance.now() + 500;
      while (performance.now() < until);
      await trimmed;
      assert.deepEqual(
        await run,
        nodes.map((_, i) => new Float64Array(2).fill(i)),
      );
    } finally {
      w.child.kill("SIGKILL");
      await q.close();
      await cluster.close();
    }
  });
});
