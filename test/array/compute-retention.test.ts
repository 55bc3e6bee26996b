// A compute leaves nothing behind: once it has returned, its graph, execution and I/O lane are
// garbage. Node keeps a signal made by AbortSignal.any while it has an abort listener and has
// not aborted, with everything the listener reaches, so a listener left on one kept every
// compute a process ever ran (its tasks, its callbacks) for good.
import assert from "node:assert/strict";
import { setTimeout as sleep, setImmediate as tick } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { after, before, test } from "node:test";
import { fromZarr } from "@zask/array";
import { FIXTURES } from "./helpers.ts";
import { serveFixtures, type FixtureServer } from "../helpers/fixture-server.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let server: FixtureServer;
before(async () => {
  server = await serveFixtures(FIXTURES);
});
after(() => server.close());

const NAME = "dense.c5x4.blosc-lz4.f4.zarr";

/** Run one compute over HTTP with `options`, and return weak references to what it was given. */
async function computeOnce(options: { signal?: AbortSignal; scheduler: "sync" | "threads" }): Promise<WeakRef<object>[]> {
  const callbacks = { onTaskFinish() {} };
  const x = await fromZarr(`${server.url}/${NAME}`);
  const out = await x.slice(null, [0, 3, 7]).compute({ ...options, callbacks, progress: false } as never);
  assert.equal(out.shape.join(), "13,3");
  return [new WeakRef(callbacks), new WeakRef(x)];
}

for (const scheduler of ["sync", "threads"] as const) {
  for (const [label, signal] of [
    ["without a signal", undefined],
    ["with the caller's signal, which outlives it", new AbortController().signal],
  ] as const) {
    test(`a compute on the ${scheduler} scheduler ${label} is garbage once it has returned`, async () => {
      const refs: WeakRef<object>[] = [];
      for (let i = 0; i < 3; i++) refs.push(...(await computeOnce(signal === undefined ? { scheduler } : { scheduler, signal })));
      // let the sockets' and timers' callbacks of the last requests run, then collect: what a
      // finished compute leaks stays reachable for good, so waiting longer cannot hide it
      await sleep(20);
      for (let i = 0; i < 5; i++) await tick();
      gc();
      await tick();
      gc();
      const kept = refs.filter((r) => r.deref() !== undefined).length;
      assert.equal(kept, 0, `${kept} of ${refs.length} objects of finished computes are still reachable`);
    });
  }
}
