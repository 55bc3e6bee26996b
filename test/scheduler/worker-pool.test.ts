import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Graph, Task, op, ref } from "@zask/graph";
import { close, compute, configurePool } from "@zask/scheduler";

const dir = mkdtempSync(join(tmpdir(), "zask-warm-"));
after(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

test("a compute starts its worker threads and their op imports while its first fetch is in flight", async () => {
  const log = join(dir, "imports.log");
  process.env.ZASK_TEST_IMPORT_LOG = log;
  await configurePool({ maxThreads: 2 }); // closes any running pool: the next compute starts one
  const ops = new URL("./fixtures/import-log-ops.js", import.meta.url).href;
  const wait = op(ops, "waitForImports", { lane: "io" });
  const plusOne = op(ops, "plusOne");
  const nodes = [new Task("fetch", wait, [3, 10_000]), new Task("a", plusOne, [ref("fetch")]), new Task("b", plusOne, [ref("fetch")])];
  const [imports] = await compute(Graph.fromNodes("warm", nodes), ["fetch", "a", "b"], { inlineThreshold: 0, progress: false });
  // the main thread imported the module to run the fetch; both workers while it waited (the
  // wait ends as soon as they have: the deadline is for a loaded machine's slow thread start)
  assert.equal(new Set(imports as number[]).size, 3, `imports by thread before the fetch ended: ${JSON.stringify(imports)}`);
  assert.equal(readFileSync(log, "utf8").trim().split("\n").length, 3);
});
