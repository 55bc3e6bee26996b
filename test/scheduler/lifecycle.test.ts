import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { test } from "node:test";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Graph, Task, op, ref } from "@zask/graph";
import { close, compute, configurePool } from "@zask/scheduler";

const ops = new URL("./fixtures/ops.js", import.meta.url).href;

test("a script that computes on the pool and returns exits on its own", async () => {
  const script = fileURLToPath(new URL("./fixtures/compute-and-exit.mjs", import.meta.url));
  // the kill timeout only turns a hang into a failure
  const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 30_000, killSignal: "SIGKILL" });
  const out = JSON.parse(stdout) as { threadId: number; length: number };
  assert.notEqual(out.threadId, 0, "the op ran on a worker thread");
  assert.equal(out.length, 1000);
});

test("close() shuts the pool down and a later compute starts a new one", async () => {
  const g = Graph.fromNodes("x", [new Task("a", op(ops, "fill"), [10, 1]), new Task("b", op(ops, "whereAmI"), [ref("a")])]);
  const [first] = (await compute(g, ["b"], { inlineThreshold: 0, progress: false })) as [{ threadId: number }];
  await close();
  const [second] = (await compute(g, ["b"], { inlineThreshold: 0, progress: false })) as [{ threadId: number }];
  assert.notEqual(first.threadId, 0);
  assert.notEqual(second.threadId, 0);
  assert.notEqual(second.threadId, first.threadId, "a new worker after close()");
  await close();
});

test("configurePool sizes the pool and lowers the workers' priority by niceIncrement (Linux)", async (t) => {
  const blocks = Array.from({ length: 6 }, (_, i) => new Task(`a-${i}`, op(ops, "fill"), [1000, i]));
  const where = blocks.map((b, i) => new Task(`w-${i}`, op(ops, "whereAmI"), [ref(b.key)]));
  const g = Graph.fromNodes("x", [...blocks, ...where]);
  const run = async (): Promise<{ threadId: number; nice: number | null }[]> =>
    (await compute(
      g,
      where.map((w) => w.key),
      { inlineThreshold: 0, progress: false },
    )) as { threadId: number; nice: number | null }[];
  const mainNice = process.platform === "linux" ? Number(readFileSync("/proc/thread-self/stat", "utf8").split(") ")[1]!.split(" ")[16]) : null;
  try {
    await configurePool({ maxThreads: 1, niceIncrement: 7 });
    const one = await run();
    assert.equal(new Set(one.map((r) => r.threadId)).size, 1, "one worker thread");
    if (mainNice === null) t.diagnostic("no /proc: nice not checked");
    else assert.deepEqual([...new Set(one.map((r) => r.nice))], [Math.min(19, mainNice + 7)]);
    await configurePool({ niceIncrement: 0 });
    const plain = await run();
    if (mainNice !== null) assert.deepEqual([...new Set(plain.map((r) => r.nice))], [mainNice]);
    await assert.rejects(configurePool({ niceIncrement: -1 }), /Expected `niceIncrement` to be an integer from 0 to 19, got `-1`/);
    await assert.rejects(configurePool({ maxThreads: 0 }), /Expected `maxThreads` to be a positive integer, got `0`/);
  } finally {
    await configurePool({ maxThreads: availableParallelism(), niceIncrement: 10 });
  }
});
