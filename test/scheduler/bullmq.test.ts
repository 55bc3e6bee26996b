import assert from "node:assert/strict";
import { cp, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Queue } from "bullmq";
import { Graph, Task, op, ref } from "@zask/graph";
import * as zarr from "zarrita";
import { SparseArray, readZarr } from "@zask/anndata";
import { ChunkDecodeError, HttpStore, fromZarr, type Array as LazyArray } from "@zask/array";
import { ExecutorUnavailableError, TaskError, WorkerTaskError, bullmq, close, compute, startBullmqWorker, type BullmqWorkerHandle } from "@zask/scheduler";
import { serveFixtures, type FixtureServer } from "../helpers/fixture-server.ts";
import { freePort, redisSkip as skip, startRedis, type RedisServer } from "../helpers/redis-server.ts";

if (skip) console.log(`# bullmq executor ${skip}`);

const FIXTURES = new URL("../fixtures/anndata/", import.meta.url).pathname;
const OPS = new URL("./fixtures/ops.js", import.meta.url);
const fill = op(OPS, "fill");
const add = op(OPS, "add");
const boom = op(OPS, "boom");

describe("the bullmq executor on a real redis-server", { skip }, () => {
  let redis: RedisServer;
  let server: FixtureServer;
  const workers: BullmqWorkerHandle[] = [];
  let queues = 0;
  const queueName = () => `t${process.pid}-${queues++}`;
  const startWorker = async (queue: string): Promise<BullmqWorkerHandle> => {
    const w = await startBullmqWorker({ connection: redis.url, queue, concurrency: 4 });
    workers.push(w);
    return w;
  };

  before(async () => {
    redis = await startRedis();
    server = await serveFixtures(FIXTURES);
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await close();
    await server.close();
    await redis.stop();
  });

  test("a mean over an HTTP store computed on workers equals the local result exactly", async () => {
    const queue = queueName();
    await startWorker(queue);
    await startWorker(queue);
    const cluster = bullmq({ connection: redis.url, queue });
    try {
      const adata = await readZarr(`${server.url}/pbmc-like.dense.c5.zarr`);
      const X = adata.X as LazyArray;
      const requestsBefore = server.requests.length;
      const remote = (await X.mean({ axis: 0 }).compute({ scheduler: cluster })) as unknown as { data: Float32Array; shape: number[] };
      // the workers fetched the chunks from the store themselves
      assert.ok(server.requests.length - requestsBefore >= X.numBlocks.reduce((a, b) => a * b, 1));
      const local = (await X.mean({ axis: 0 }).compute()) as unknown as { data: Float32Array; shape: number[] };
      assert.deepEqual(remote.shape, local.shape);
      assert.deepEqual(
        Buffer.from(remote.data.buffer, remote.data.byteOffset, remote.data.byteLength),
        Buffer.from(local.data.buffer, local.data.byteOffset, local.data.byteLength),
      );
    } finally {
      await cluster.close();
    }
  });

  test("sparse reductions read by chunk pair on workers equal the local results exactly", async () => {
    const queue = queueName();
    await startWorker(queue);
    await startWorker(queue);
    const cluster = bullmq({ connection: redis.url, queue });
    try {
      const group = await zarr.open(zarr.root(new HttpStore(`${server.url}/pbmc-like.csr.zarr`)).resolve("X"), { kind: "group" });
      // smallReadBytes 0: the chunk pairs' tasks are pool (here: worker) tasks, not the coordinator's
      const X = await SparseArray.open(group, { smallReadBytes: 0 });
      const cells = Array.from({ length: X.shape[0]! }, (_, i) => i % 3 === 0);
      const queries: [string, LazyArray][] = [
        ["mean per gene", X.mean({ axis: 0 })],
        ["var per gene", X.var({ axis: 0 })],
        ["max per gene", X.max({ axis: 0 })],
        ["mean per gene of a third of the cells", X.slice(cells).mean({ axis: 0 })],
        ["sum", X.sum()],
      ];
      for (const [label, q] of queries) {
        assert.ok(![...q.graph.layers.keys()].some((k) => k.startsWith("sparse-read-")), `${label}: read by chunk pair`);
        const requestsBefore = server.requests.length;
        const remote = await q.compute({ scheduler: cluster });
        // the workers fetched the data and indices chunks themselves
        assert.ok(
          server.requests.slice(requestsBefore).some((r) => /\/X\/(data|indices)\/\d+$/.test(r)),
          `${label}: chunks fetched`,
        );
        const local = await q.compute();
        assert.deepEqual(Array.from(remote.data as ArrayLike<number>), Array.from(local.data as ArrayLike<number>), label);
      }
    } finally {
      await cluster.close();
    }
  });

  test("results above resultLimit travel through the scratch directory, which is empty afterwards", async () => {
    const queue = queueName();
    await startWorker(queue);
    const scratch = await mkdtemp(join(tmpdir(), "zask-scratch-"));
    const cluster = bullmq({ connection: redis.url, queue, resultLimit: 1000, scratch });
    try {
      const nodes = [new Task("a", fill, [1000, 1.25]), new Task("b", fill, [10, 2]), new Task("c", add, [ref("a"), ref("a")])];
      let maxFiles = 0;
      const [c, b] = await compute(Graph.fromNodes("s", nodes), ["c", "b"], {
        scheduler: cluster,
        callbacks: {
          posttask: () => {
            void readdir(scratch).then((f) => (maxFiles = Math.max(maxFiles, f.length)));
          },
        },
      });
      assert.deepEqual(c, new Float64Array(1000).fill(2.5));
      assert.deepEqual(b, new Float64Array(10).fill(2));
      assert.ok(maxFiles >= 1, "the large values went to the scratch directory");
      assert.deepEqual(await readdir(scratch), []);
    } finally {
      await cluster.close();
      await rm(scratch, { recursive: true, force: true });
    }
  });

  test("a task failing on every attempt fails the compute with a TaskError naming key, op and worker", async () => {
    const queue = queueName();
    const w = await startWorker(queue);
    const cluster = bullmq({ connection: redis.url, queue, attempts: 2 });
    try {
      const g = Graph.fromNodes("f", [new Task("x", fill, [2, 1]), new Task("bad", boom, [ref("x")])]);
      await assert.rejects(compute(g, ["bad"], { scheduler: cluster }), (e: unknown) => {
        assert.ok(e instanceof TaskError);
        assert.equal(e.key, "bad");
        assert.match(e.op, /ops\.js#boom$/);
        assert.ok(e.cause instanceof WorkerTaskError);
        assert.equal(e.cause.worker, w.name);
        assert.equal(e.cause.attempts, 2);
        assert.equal(e.cause.errorName, "RangeError");
        assert.match(e.message, new RegExp(`worker ${w.name}.*boom on 2`));
        return true;
      });
    } finally {
      await cluster.close();
    }
  });

  test("a typed error thrown on a worker reaches the client with its class, fields and cause chain", async () => {
    const queue = queueName();
    const w = await startWorker(queue);
    const dir = await mkdtemp(join(tmpdir(), "zask-corrupt-"));
    const own = await serveFixtures(dir);
    const cluster = bullmq({ connection: redis.url, queue, attempts: 1 });
    try {
      await cp(new URL("../fixtures/array/dense.c3.gzip.u2.zarr", import.meta.url), join(dir, "a.zarr"), { recursive: true });
      await writeFile(join(dir, "a.zarr", "2"), "not gzip at all");
      const x = await fromZarr(`${own.url}/a.zarr`);
      await assert.rejects(x.compute({ scheduler: cluster }), (e: unknown) => {
        assert.ok(e instanceof TaskError);
        assert.match(e.key, /^\["from-zarr-[0-9a-f]+",2\]$/);
        assert.equal(e.op, "@zask/array/ops#decodeChunk");
        assert.ok(e.cause instanceof WorkerTaskError);
        assert.equal(e.cause.worker, w.name);
        assert.equal(e.cause.errorName, "ChunkDecodeError");
        const decode = e.cause.cause;
        assert.ok(decode instanceof ChunkDecodeError, "rebuilt with its class");
        assert.equal(decode.chunkKey, "2");
        assert.equal(decode.url, `${own.url}/a.zarr/2`);
        assert.match(decode.reason, /codecs refused/);
        assert.ok(decode.cause instanceof Error, "the codec's own error follows");
        return true;
      });
    } finally {
      await cluster.close();
      await own.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("aborting a compute removes its waiting jobs from the queue", async () => {
    const queue = queueName();
    // no worker: every job waits
    const cluster = bullmq({ connection: redis.url, queue });
    const q = new Queue(queue, { connection: { host: "127.0.0.1", port: redis.port } });
    try {
      const nodes = Array.from({ length: 10 }, (_, i) => new Task(`f${i}`, fill, [2, i]));
      const controller = new AbortController();
      const run = compute(
        Graph.fromNodes("a", nodes),
        nodes.map((n) => n.key),
        { scheduler: cluster, signal: controller.signal },
      );
      for (let i = 0; i < 100 && (await q.getWaitingCount()) < 10; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(await q.getWaitingCount(), 10);
      controller.abort(new Error("stop"));
      await assert.rejects(run, /stop/);
      assert.equal(await q.getWaitingCount(), 0);
    } finally {
      await q.close();
      await cluster.close();
    }
  });

  test("Redis going away fails the compute with ExecutorUnavailableError in bounded time", async () => {
    const own = await startRedis();
    const cluster = bullmq({ connection: own.url, queue: queueName(), timeout: 300 });
    try {
      const nodes = [new Task("f", fill, [2, 1])];
      const run = compute(Graph.fromNodes("r", nodes), ["f"], { scheduler: cluster });
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      await own.stop();
      await assert.rejects(run, (e: unknown) => e instanceof ExecutorUnavailableError && e.url === own.url);
      assert.ok(performance.now() - t0 < 2000);
    } finally {
      await cluster.close();
    }
  });

  test("no Redis at the URL fails the compute with ExecutorUnavailableError in bounded time", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const cluster = bullmq({ connection: url, timeout: 300 });
    const t0 = performance.now();
    await assert.rejects(compute(Graph.fromNodes("n", [new Task("f", fill, [2, 1])]), ["f"], { scheduler: cluster }), ExecutorUnavailableError);
    assert.ok(performance.now() - t0 < 2000);
    await cluster.close();
  });
});
