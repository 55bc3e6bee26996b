import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Graph, Task, op, ref } from "@zask/graph";
import { close, compute } from "@zask/scheduler";
import { startServer } from "./fixtures/server.ts";

const ops = new URL("./fixtures/ops.js", import.meta.url).href;
const { seen } = (await import(ops)) as { seen: { fetched: number; bodies: Uint8Array[] } };
const getBytesSeen = op(ops, "getBytesSeen", { lane: "io" });
const keptBytes = op(ops, "keptBytes", { lane: "io" });
const spinLength = op(ops, "spinLength");
const getBytesBounded = op(ops, "getBytesBounded", { lane: "io" });
const MB = 1 << 20;

after(() => close());

/** n fused tasks: fetch url/i, then a cpu op that spins `ms` on the pool. */
function loadAndSpin(url: string, n: number, ms: number): { graph: Graph; keys: string[] } {
  const nodes: Task[] = [];
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    nodes.push(new Task(`load-${i}`, getBytesSeen, [`${url}/c/${i}`]));
    nodes.push(new Task(`spin-${i}`, spinLength, [ref(`load-${i}`), ms]));
    keys.push(`spin-${i}`);
  }
  return { graph: Graph.fromNodes("load", nodes), keys };
}

describe("staging: fetched bytes waiting for the pool", () => {
  test("big chunks are fetched only a few ahead of the workers, not as fast as the I/O lane allows", async () => {
    const body = Buffer.alloc(8 * MB, 1);
    const server = await startServer((_req, res) => res.end(body));
    seen.fetched = 0;
    seen.bodies.length = 0;
    let done = 0;
    let ahead = 0;
    try {
      const { graph, keys } = loadAndSpin(server.url, 24, 60);
      const values = await compute(graph, keys, {
        inlineThreshold: 0,
        progress: false,
        callbacks: {
          posttask: () => {
            done++;
            ahead = Math.max(ahead, seen.fetched - done);
          },
        },
      });
      assert.deepEqual(
        values,
        keys.map(() => 8 * MB),
      );
      // 32 MiB of staged bytes (4 chunks) plus one running per worker, and a little slack; the
      // I/O lane alone would let 32 fetches run ahead
      assert.ok(ahead <= 8, `${ahead} chunks fetched ahead of the decodes`);
    } finally {
      seen.bodies.length = 0;
      await server.close();
    }
  });

  test("small chunks still keep httpConcurrency requests in flight", async () => {
    const body = Buffer.alloc(50_000, 1);
    const server = await startServer((_req, res) => setTimeout(() => res.end(body), 20));
    try {
      const { graph, keys } = loadAndSpin(server.url, 100, 0);
      await compute(graph, keys, { inlineThreshold: 0, httpConcurrency: 8, progress: false });
      assert.equal(server.maxInFlight, 8);
    } finally {
      seen.bodies.length = 0;
      await server.close();
    }
  });

  test("the first wave fills every request slot at once when the requests declare their bodies' bound", async () => {
    const body = Buffer.alloc(50_000, 1);
    // answers are held until 16 requests wait or 300 ms pass: a start-up round trip shows as fewer
    const held: (() => void)[] = [];
    let firstWave = 0;
    let timer: NodeJS.Timeout | undefined;
    const release = (): void => {
      clearTimeout(timer);
      if (firstWave === 0) firstWave = held.length;
      for (const answer of held.splice(0)) answer();
    };
    const server = await startServer((_req, res) => {
      held.push(() => res.end(body));
      if (firstWave > 0 || held.length >= 16) release();
      else timer ??= setTimeout(release, 300);
    });
    try {
      const nodes: Task[] = [];
      const keys: string[] = [];
      for (let i = 0; i < 64; i++) {
        nodes.push(new Task(`load-${i}`, getBytesBounded, [`${server.url}/c/${i}`, 65_536 + 50_000]));
        nodes.push(new Task(`spin-${i}`, spinLength, [ref(`load-${i}`), 0]));
        keys.push(`spin-${i}`);
      }
      const values = await compute(Graph.fromNodes("load", nodes), keys, { inlineThreshold: 0, httpConcurrency: 16, progress: false });
      assert.deepEqual(
        values,
        keys.map(() => 50_000),
      );
      assert.equal(firstWave, 16, "requests in flight before the first answer");
      assert.equal(server.maxInFlight, 16);
    } finally {
      clearTimeout(timer);
      await server.close();
    }
  });

  test("a body fetched by an io step is moved into the worker that decodes it, not copied", async () => {
    const server = await startServer((_req, res) => res.end(Buffer.alloc(100_000, 2)));
    seen.bodies.length = 0;
    try {
      const { graph, keys } = loadAndSpin(server.url, 3, 0);
      const values = await compute(graph, keys, { inlineThreshold: 0, progress: false });
      assert.deepEqual(values, [100_000, 100_000, 100_000]);
      assert.deepEqual(
        seen.bodies.map((b) => b.byteLength),
        [0, 0, 0],
        "the bodies were transferred (detached here)",
      );
    } finally {
      seen.bodies.length = 0;
      await server.close();
    }
  });

  test("a buffer an io op keeps (not fresh) is copied to the worker, never moved", async () => {
    seen.bodies.length = 0;
    const graph = Graph.fromNodes("kept", [new Task("load", keptBytes, []), new Task("spin", spinLength, [ref("load"), 0])]);
    const [n] = await compute(graph, ["spin"], { inlineThreshold: 0, progress: false });
    assert.equal(n, 4096);
    assert.equal(seen.bodies[0]!.byteLength, 4096, "the op's own buffer is intact");
    seen.bodies.length = 0;
  });
});
