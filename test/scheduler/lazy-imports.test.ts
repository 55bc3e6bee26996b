import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { sep } from "node:path";
import { after, test } from "node:test";
import { Graph, Task, op } from "@zask/graph";
import { IoLane, close, compute } from "@zask/scheduler";
import { startServer } from "./fixtures/server.ts";

// Packages a process may never need are loaded on first use: undici on the first request the
// direct HTTP/1.1 client does not send, piscina with the first worker pool, cli-progress with
// the first progress bar. This file imports nothing else that loads them (each test file runs
// in its own process), and its tests run in order.

const cache = createRequire(import.meta.url).cache;
const loaded = (pkg: string): boolean => Object.keys(cache).some((k) => k.includes(`${sep}node_modules${sep}${pkg}${sep}`));

after(() => close());

test("plain-http GETs leave undici unloaded; the first request that needs it loads it", async () => {
  const server = await startServer((_req, res) => res.end("ok"));
  try {
    const lane = new IoLane({ httpConcurrency: 4, retries: 0, retryDelay: 1, timeout: 5000 });
    const got = await Promise.all([1, 2, 3].map((k) => lane.fetch(`${server.url}/x${k}`)));
    assert.deepEqual(await Promise.all(got.map((r) => r.text())), ["ok", "ok", "ok"]);
    assert.equal(loaded("undici"), false, "undici was imported for plain-http GETs");
    // a POST goes through undici; two at once share one import and one agent
    const posted = await Promise.all([1, 2].map((k) => lane.fetch(`${server.url}/p${k}`, { method: "POST", body: "x" })));
    assert.deepEqual(await Promise.all(posted.map((r) => r.text())), ["ok", "ok"]);
    assert.equal(loaded("undici"), true);
  } finally {
    await server.close();
  }
});

test("piscina is loaded with the first compute that sends a task to the pool, cli-progress never without a bar", async () => {
  const sum = op(new URL("./fixtures/ops.js", import.meta.url).href, "sum");
  const nodes = [new Task("a", sum, [1, 2]), new Task("b", sum, [3, 4])];
  assert.deepEqual(await compute(Graph.fromNodes("inline", nodes), ["a", "b"], { inlineThreshold: Infinity, progress: false }), [3, 7]);
  assert.equal(loaded("piscina"), false, "piscina was imported for a compute that ran inline");
  assert.deepEqual(await compute(Graph.fromNodes("pooled", nodes), ["a", "b"], { inlineThreshold: 0, progress: false }), [3, 7]);
  assert.equal(loaded("piscina"), true);
  assert.equal(loaded("cli-progress"), false);
});
