import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Graph, Task, op, ref } from "@zask/graph";
import { close, compute } from "@zask/scheduler";
import { startServer } from "./fixtures/server.ts";
import { RECYCLE_MAX, RECYCLE_MIN, recycleBuffer, recycledBytes, takeBuffer } from "@zask/scheduler/buffers";

const ops = new URL("./fixtures/ops.js", import.meta.url).href;
const fillTaken = op(ops, "fillTaken");
const head = op(ops, "head");
const sum = op(ops, "sum");
const heldForReuse = op(ops, "heldForReuse");
const getBytes = op(ops, "getBytes", { lane: "io" });
const fillTakenFrom = op(ops, "fillTakenFrom");
const wrapHead = op(ops, "wrapHead");

after(() => close());

/**
 * The value of chain `key` (`<kind>-<k>`) over n values of k: `s-` their sum, `h-` the first 4,
 * `w-` the whole chunk, or with `wrapped` the first 4 inside a class; `m-` the whole chunk.
 */
function assertChainValue(key: string, v: unknown, n: number, { wrapped = false } = {}): void {
  const k = Number(key.slice(2));
  if (key.startsWith("s-")) assert.equal(v, n * k, key);
  else if (key.startsWith("h-")) assert.deepEqual([...(v as Float64Array)], [k, k, k, k], key);
  else if (key.startsWith("w-") && wrapped) assert.deepEqual([...(v as { values: Float64Array }).values], [k, k, k, k], key);
  else {
    const a = v as Float64Array;
    assert.equal(a.length, n, key);
    assert.ok(
      a.every((x) => x === k),
      `${key} holds ${k} everywhere`,
    );
  }
}

describe("takeBuffer and recycleBuffer", () => {
  test("a buffer comes back to the next take of its size, once, and only if takeBuffer gave it out", () => {
    const size = RECYCLE_MIN + 8;
    const a = takeBuffer(size);
    assert.equal(a.byteLength, size);
    assert.equal(recycleBuffer(new ArrayBuffer(size)), false, "a buffer takeBuffer did not give out is not kept");
    const before = recycledBytes();
    assert.equal(recycleBuffer(a), true);
    assert.equal(recycleBuffer(a), false, "a buffer is kept once");
    assert.equal(recycledBytes(), before + size);
    assert.equal(takeBuffer(size + 8) === a, false, "only a take of the same size gets it");
    assert.equal(takeBuffer(size), a);
    assert.equal(recycledBytes(), before);
  });

  test("small and big buffers are not kept, nor more than 4 of a size", () => {
    assert.equal(recycleBuffer(takeBuffer(RECYCLE_MIN - 1)), false);
    assert.equal(recycleBuffer(takeBuffer(RECYCLE_MAX)), false);
    const size = RECYCLE_MIN + 16;
    const kept = Array.from({ length: 5 }, () => takeBuffer(size)).map((b) => recycleBuffer(b));
    assert.deepEqual(kept, [true, true, true, true, false]);
    for (let k = 0; k < 4; k++) takeBuffer(size);
  });

  test("a decoded chunk of 2 MB (5000 × 100 float32) is kept for the next decode of its size", () => {
    const chunk = takeBuffer(5000 * 100 * 4);
    assert.equal(recycleBuffer(chunk), true);
    assert.equal(takeBuffer(5000 * 100 * 4), chunk);
  });

  test("at most 8 MiB is kept in all", () => {
    const size = 2 ** 20 - 8; // just under 1 MiB: 8 fit under 8 MiB, 4 per size
    const sizes = [size, size - 8, size - 16];
    const kept = sizes.flatMap((s) => Array.from({ length: 4 }, () => takeBuffer(s))).map((b) => recycleBuffer(b));
    assert.equal(kept.filter(Boolean).length, 8);
    assert.ok(recycledBytes() <= 8 * 2 ** 20);
    for (const s of sizes) for (let k = 0; k < 4; k++) takeBuffer(s);
  });
});

describe("workers recycle the buffers of values that die with a request", () => {
  const n = (4 * RECYCLE_MIN) / 8; // 256 KiB of float64
  test("results stay intact whether they are reduced, viewed in part, viewed whole or returned", async () => {
    // per k a fused chain on the pool: fillTaken → (sum | head of 4 | head of all | nothing).
    // The reduced chunks and those viewed in part (the view is copied into the reply) die on
    // the worker, and their buffers are handed out again to later chains; a chunk viewed
    // whole leaves with the reply, though the step that made it is not exported
    const nodes: Task[] = [];
    const keys: string[] = [];
    for (let k = 0; k < 48; k++) {
      nodes.push(new Task(`m-${k}`, fillTaken, [n, k]));
      if (k % 4 === 0) {
        nodes.push(new Task(`s-${k}`, sum, [ref(`m-${k}`)]));
        keys.push(`s-${k}`);
      } else if (k % 4 === 1) {
        nodes.push(new Task(`h-${k}`, head, [ref(`m-${k}`), 4]));
        keys.push(`h-${k}`);
      } else if (k % 4 === 2) {
        nodes.push(new Task(`w-${k}`, head, [ref(`m-${k}`), n]));
        keys.push(`w-${k}`);
      } else {
        keys.push(`m-${k}`);
      }
    }
    for (let round = 0; round < 2; round++) {
      const values = await compute(Graph.fromNodes(`recycle-${round}`, nodes), keys, { inlineThreshold: 0, progress: false });
      // returned whole (m-) or viewed whole (w-): n values of k
      keys.forEach((key, j) => assertChainValue(key, values[j], n));
    }
    // a compute whose chunks all die on the workers (the ones returned whole above took
    // recycled buffers away with them): the workers keep some of their buffers, at most 4 of
    // this size each
    const reduced = nodes.filter((t) => /^[ms]-/.test(t.key) && Number(t.key.slice(2)) % 4 === 0);
    await compute(
      Graph.fromNodes("reduced", reduced),
      reduced.filter((t) => t.key.startsWith("s-")).map((t) => t.key),
      { inlineThreshold: 0, progress: false },
    );
    const probes = Array.from({ length: 8 }, (_, p) => new Task(`held-${p}`, heldForReuse, [p]));
    const held = (await compute(
      Graph.fromNodes("held", probes),
      probes.map((t) => t.key),
      { inlineThreshold: 0, progress: false },
    )) as number[];
    assert.ok(
      held.some((b) => b >= n * 8),
      `a worker holds a recycled buffer (${held.join(", ")})`,
    );
    assert.ok(held.every((b) => b <= 4 * n * 8));
  });
});

describe("the main thread recycles the buffers of a fused node's inner values", () => {
  // 192 KiB of float64: a size the tests above left no buffer of on this thread
  const n = (3 * RECYCLE_MIN) / 8;
  test("values stay intact whether the chunk is reduced, viewed in part, wrapped or returned", async () => {
    // per k a chain fused into one node of two lanes, all run inline: fetch (io) → fillTakenFrom
    // (a decode into a takeBuffer buffer) → (sum | head of 4 | head in a class | nothing). The
    // reduced chunk dies inside its node and its buffer is handed out to a later decode; the
    // chunks a result views (in part, or inside an object the scheduler cannot see into) stay
    const server = await startServer((req, res) => res.end(Buffer.from([Number(req.url!.slice(1))])));
    try {
      const nodes: Task[] = [];
      const keys: string[] = [];
      for (let k = 0; k < 40; k++) {
        nodes.push(new Task(`g-${k}`, getBytes, [new URL(`/${k}`, server.url).href]));
        nodes.push(new Task(`m-${k}`, fillTakenFrom, [ref(`g-${k}`), n]));
        const kind = ["s", "h", "w", "m"][k % 4]!;
        if (kind === "s") nodes.push(new Task(`s-${k}`, sum, [ref(`m-${k}`)]));
        if (kind === "h") nodes.push(new Task(`h-${k}`, head, [ref(`m-${k}`), 4]));
        if (kind === "w") nodes.push(new Task(`w-${k}`, wrapHead, [ref(`m-${k}`), 4]));
        keys.push(`${kind}-${k}`);
      }
      const results: unknown[][] = [];
      for (let round = 0; round < 3; round++) {
        results.push(await compute(Graph.fromNodes(`inline-recycle-${round}`, nodes), keys, { inlineThreshold: Infinity, progress: false }));
      }
      // a compute whose chunks all die in their nodes leaves the last one's buffer for reuse
      // (in the mixed ones above, a later decode takes it out again)
      const reduced = nodes.filter((t) => Number(t.key.slice(2)) % 4 === 0);
      const held0 = recycledBytes();
      await compute(
        Graph.fromNodes("inline-reduced", reduced),
        reduced.filter((t) => t.key.startsWith("s-")).map((t) => t.key),
        { inlineThreshold: Infinity, progress: false },
      );
      assert.ok(recycledBytes() >= held0 + n * 8, `the main thread holds a recycled chunk (${recycledBytes()} bytes, ${held0} before)`);
      // checked after every round ran: a buffer handed out again while a result viewed it
      // would now hold a later chunk's values
      for (const values of results) {
        keys.forEach((key, j) => assertChainValue(key, values[j], n, { wrapped: true }));
      }
    } finally {
      await server.close();
    }
  });
});
