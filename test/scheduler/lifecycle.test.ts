import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { test } from "node:test";
import { Graph, Task, op, ref } from "@zask/graph";
import { close, compute } from "@zask/scheduler";

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
