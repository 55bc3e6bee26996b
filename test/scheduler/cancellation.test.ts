import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, test } from "node:test";
import { Graph, Task, op } from "@zask/graph";
import { close, compute } from "@zask/scheduler";
import { startServer } from "./fixtures/server.ts";

const ops = new URL("./fixtures/ops.js", import.meta.url).href;
const fetchBytes = op(ops, "fetchBytes", { lane: "io" });
const spinThread = op(ops, "spinThread");
const countedSpin = op(ops, "countedSpin");

after(() => close());

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(5);
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

describe("cancellation", () => {
  test("aborting aborts in-flight requests, never sends queued ones, and leaves no timers", async () => {
    const server = await startServer(() => {
      // never answers
    });
    try {
      const urls = Array.from({ length: 20 }, (_, i) => `${server.url}/hang/${i}`);
      const graph = Graph.fromNodes(
        "get",
        urls.map((u, i) => new Task(`get-${i}`, fetchBytes, [u])),
      );
      const keys = urls.map((_, i) => `get-${i}`);
      const before = timers();
      const ac = new AbortController();
      const running = compute(graph, keys, { signal: ac.signal, httpConcurrency: 4, progress: false });
      await until(() => server.inFlight === 4);
      const reason = new Error("stop");
      ac.abort(reason);
      await assert.rejects(running, (e) => e === reason);
      await until(() => server.inFlight === 0);
      assert.equal(server.aborted, 4, "the 4 requests in flight were closed by the client");
      assert.equal(
        [...server.hits.values()].reduce((a, b) => a + b, 0),
        4,
        "queued requests were never sent",
      );
      // undici's own timer tick may outlive the requests by up to a second; ours (the 30 s
      // request timeout, backoff waits) would stay far longer
      const deadline = performance.now() + 2500;
      while (timers() > before && performance.now() < deadline) await sleep(50);
      assert.equal(timers(), before, "no timers left behind");
    } finally {
      await server.close();
    }
  });

  test("aborting drops the pool's queued tasks without killing its workers", async () => {
    // start every worker first, so that a new thread id later can only mean a replaced worker
    const known = new Set<number>();
    for (let tries = 0; tries < 10 && known.size < availableParallelism(); tries++) {
      const warm = Array.from({ length: 8 }, (_, i) => new Task(`w-${i}`, spinThread, [20]));
      const ids = (await compute(
        Graph.fromNodes("warm", warm),
        warm.map((t) => t.key),
        { inlineThreshold: 0, progress: false },
      )) as number[];
      for (const id of ids) known.add(id);
    }
    const n = 16;
    const started = new Int32Array(new SharedArrayBuffer(4 * (n + 1)));
    const graph = Graph.fromNodes(
      "spin",
      Array.from({ length: n }, (_, i) => new Task(`s-${i}`, countedSpin, [60, started])),
    );
    const keys = Array.from({ length: n }, (_, i) => `s-${i}`);
    let done = 0;
    const ac = new AbortController();
    const running = compute(graph, keys, {
      signal: ac.signal,
      inlineThreshold: 0,
      progress: false,
      callbacks: { posttask: () => done++ },
    });
    await until(() => done >= 2);
    const doneAtAbort = done;
    ac.abort(new Error("enough"));
    await assert.rejects(running, /enough/);
    await sleep(400);
    // at the abort each worker was running at most one task, which finishes (workers are not
    // killed); nothing else starts, neither the ready tasks nor those already handed to piscina
    const startedAtAll = Atomics.load(started, 0);
    assert.ok(startedAtAll <= doneAtAbort + availableParallelism(), `${startedAtAll} tasks started, ${doneAtAbort} done at the abort`);
    assert.ok(startedAtAll < n);
    for (const id of started.slice(1, 1 + startedAtAll)) known.add(id);
    // the same workers run the next compute: none was terminated and replaced
    const again = (await compute(
      Graph.fromNodes(
        "again",
        keys.slice(0, 4).map((k) => new Task(k, spinThread, [10])),
      ),
      keys.slice(0, 4),
      { inlineThreshold: 0, progress: false },
    )) as number[];
    for (const id of again) assert.ok(known.has(id), `worker ${id} is one of ${[...known].join(", ")}`);
  });

  test("a compute with an already aborted signal rejects with its reason", async () => {
    const graph = Graph.fromNodes("spin", [new Task("s", spinThread, [1])]);
    const reason = new Error("before");
    await assert.rejects(compute(graph, ["s"], { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  });
});
