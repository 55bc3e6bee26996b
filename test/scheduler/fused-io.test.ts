import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Blockwise, Fused, Graph, MaterializedLayer, Task, blockKey, blockwiseInput, op, perBlock, ref, stepRef, type FusedSteps } from "@zask/graph";
import { TaskError, close, compute } from "@zask/scheduler";
import { startServer } from "./fixtures/server.ts";

const ops = new URL("./fixtures/ops.js", import.meta.url).href;
const getBytes = op(ops, "getBytes", { lane: "io" });
const getBytesAtPath = op(ops, "getBytesAtPath", { lane: "io" });
const joinText = op(ops, "joinText");
const joinTextInline = op(ops, "joinText", { lane: "inline" });
const fast = { retryDelay: 1, progress: false } as const;

after(() => close());

/** Blockwise layers `a` and `b` fetching `${url}/a/i` and `${url}/b/i`, and `c` joining their texts block by block: fused into one node per block. */
function pairGraph(url: string, n: number, second: "independent" | "dependent" = "independent"): Graph {
  const a = new Blockwise({ name: "a", outIndex: "i", numBlocks: [n], op: getBytes, args: [perBlock(([i]) => `${url}/a/${i}`)] });
  const b =
    second === "independent"
      ? new Blockwise({ name: "b", outIndex: "i", numBlocks: [n], op: getBytes, args: [perBlock(([i]) => `${url}/b/${i}`)] })
      : new Blockwise({ name: "b", outIndex: "i", numBlocks: [n], op: getBytesAtPath, args: [url, blockwiseInput("a", "i", [n])] });
  const c = new Blockwise({ name: "c", outIndex: "i", numBlocks: [n], op: joinText, args: [blockwiseInput("a", "i", [n]), blockwiseInput("b", "i", [n])] });
  return new Graph(new Map(), new Map())
    .withLayer(a)
    .withLayer(b, second === "independent" ? [] : ["a"])
    .withLayer(c, ["a", "b"]);
}

for (const [what, options] of [
  ["inline", { inlineThreshold: Infinity }],
  ["on the pool", { inlineThreshold: 0 }],
] as const) {
  test(`a fused node's two independent fetches are in flight together (${what})`, async () => {
    const server = await startServer((req, res) => setTimeout(() => res.end(req.url), 40));
    try {
      const [one] = await compute(pairGraph(server.url, 1), [blockKey("c", [0])], { httpConcurrency: 4, ...fast, ...options });
      assert.equal(one, "/a/0+/b/0");
      assert.equal(server.maxInFlight, 2, "the block's two requests together");
      server.maxInFlight = 0;
      const keys = [0, 1, 2].map((i) => blockKey("c", [i]));
      const values = await compute(pairGraph(server.url, 3), keys, { httpConcurrency: 2, ...fast, ...options });
      assert.deepEqual(values, ["/a/0+/b/0", "/a/1+/b/1", "/a/2+/b/2"]);
      assert.equal(server.maxInFlight, 2, "the bound still held");
    } finally {
      await server.close();
    }
  });
}

/**
 * `n` fused nodes made lazily from a source that counts how often their steps are built: each
 * fetches `${url}/a/i` and `${url}/b/i` and joins the two texts in an inline op.
 */
function lazyPairs(url: string, n: number): { graph: Graph; keys: string[]; built: () => number } {
  let built = 0;
  const stepArgs = (i: number, s: number): unknown[] => (s === 2 ? [stepRef(0), stepRef(1)] : [`${url}/${s === 0 ? "a" : "b"}/${i}`]);
  const source: FusedSteps = {
    stepOps: [getBytes, getBytes, joinTextInline],
    steps(i) {
      built++;
      const a = new Task(blockKey("a", [i]), getBytes, stepArgs(i, 0));
      const b = new Task(blockKey("b", [i]), getBytes, stepArgs(i, 1));
      return [a, b, new Task(blockKey("c", [i]), joinTextInline, [ref(a.key), ref(b.key)])];
    },
    stepArgs,
  };
  const keys = Array.from({ length: n }, (_, i) => blockKey("c", [i]));
  const nodes = keys.map((key, i) => new Fused(key, source, [], i));
  return { graph: Graph.fromLayer(new MaterializedLayer("c", nodes)), keys, built: () => built };
}

test("a fused node of fetches and inline steps runs as one io task: fetches together, bound held, no steps built", async () => {
  const server = await startServer((req, res) => setTimeout(() => res.end(req.url), 30));
  try {
    const { graph, keys, built } = lazyPairs(server.url, 3);
    const values = await compute(graph, keys, { httpConcurrency: 4, ...fast });
    assert.deepEqual(values, ["/a/0+/b/0", "/a/1+/b/1", "/a/2+/b/2"]);
    assert.equal(server.maxInFlight, 4, "every node's two requests together, up to the bound");
    assert.equal(built(), 0, "the nodes ran from their source's arguments");
    server.maxInFlight = 0;
    const bounded = lazyPairs(server.url, 3);
    assert.deepEqual(await compute(bounded.graph, bounded.keys, { httpConcurrency: 2, ...fast }), values);
    assert.equal(server.maxInFlight, 2, "the origin's bound still held");
  } finally {
    await server.close();
  }
});

test("a fused node of fetches and inline steps whose fetch fails names the node and the fetch", async () => {
  const server = await startServer((req, res) => {
    res.statusCode = req.url === "/b/1" ? 403 : 200;
    res.end(req.url);
  });
  try {
    const { graph, keys } = lazyPairs(server.url, 2);
    await assert.rejects(compute(graph, keys, { httpConcurrency: 4, ...fast }), (e: unknown) => {
      assert.ok(e instanceof TaskError, String(e));
      assert.equal(e.key, blockKey("c", [1]));
      assert.match(String(e.cause), /HTTP 403 for .*\/b\/1$/);
      return true;
    });
  } finally {
    await server.close();
  }
});

test("a fetch that reads an earlier fetch of its node waits for it", async () => {
  const server = await startServer((req, res) => setTimeout(() => res.end(req.url === "/a/0" ? "/next" : req.url), 20));
  try {
    const [value] = await compute(pairGraph(server.url, 1, "dependent"), [blockKey("c", [0])], { httpConcurrency: 4, ...fast });
    assert.equal(value, "/next+/next");
    assert.equal(server.maxInFlight, 1);
    assert.deepEqual([...server.hits.keys()].sort(), ["/a/0", "/next"]);
  } finally {
    await server.close();
  }
});

test("a fused node whose fetches both fail fails with one of them, and the other's failure is not left unhandled", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  const server = await startServer((req, res) => {
    res.statusCode = 403;
    // one fetch fails well before the other: whichever the node awaits second has failed unobserved
    setTimeout(() => res.end("gone"), req.url?.startsWith("/a/") ? 5 : 60);
  });
  try {
    await assert.rejects(compute(pairGraph(server.url, 1), [blockKey("c", [0])], { httpConcurrency: 4, ...fast }), (e: unknown) => {
      assert.ok(e instanceof TaskError, String(e));
      assert.match(String(e.cause), /HTTP 403 for .*\/[ab]\/0$/);
      return true;
    });
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(unhandled, []);
    assert.equal(server.hits.get("/b/0"), 1);
  } finally {
    process.off("unhandledRejection", onUnhandled);
    await server.close();
  }
});
