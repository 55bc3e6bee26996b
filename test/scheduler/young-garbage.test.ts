// A compute leaves nothing that keeps its objects alive once its caller drops the result: V8's
// young-generation collection (a scavenge) frees the result's buffer, with an abort signal too.
// An arrow function made in a constructor or method and kept on the instance (the value store's
// lookup, the I/O lane's and the run's abort listeners) kept whole runs alive until a full
// collection, so each run's objects went to the old generation and its buffers' memory came back
// late.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, it } from "node:test";
import { Graph, Task } from "@zask/graph";
import { compute } from "@zask/scheduler";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as (options?: { type?: "minor" | "major" }) => void;

const BYTES = 1 << 20;
const make = (): Float32Array => new Float32Array(BYTES / 4);

/**
 * The bytes of ArrayBuffers a scavenge frees once `run`'s result is dropped (V8 frees young
 * buffers' memory on a helper thread: waited for). The best of three tries.
 */
async function freedByScavenge(run: () => Promise<unknown>): Promise<number> {
  let best = 0;
  for (let attempt = 0; attempt < 3 && best < BYTES; attempt++) {
    await (async () => void (await run()))();
    await sleep(5);
    const before = process.memoryUsage().arrayBuffers;
    gc({ type: "minor" });
    await sleep(50);
    best = Math.max(best, before - process.memoryUsage().arrayBuffers);
    gc();
  }
  return best;
}

describe("a dropped result is young garbage", () => {
  for (const scheduler of ["sync", "threads"] as const) {
    for (const withSignal of [false, true]) {
      it(`a task's result (${scheduler}${withSignal ? ", an abort signal given" : ""}): freed by a scavenge`, async () => {
        const signal = withSignal ? new AbortController().signal : undefined;
        const run = () => compute(Graph.fromNodes("k", [new Task("k", make, [])]), ["k"], { scheduler, signal, progress: false });
        for (let i = 0; i < 10; i++) await run();
        assert.ok((await freedByScavenge(run)) >= BYTES, "the result's 1 MiB was freed by a young-generation GC");
      });
    }
  }
});
