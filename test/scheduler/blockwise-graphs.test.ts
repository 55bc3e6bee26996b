import assert from "node:assert/strict";
import { after, test } from "node:test";
import fc from "fast-check";
import { op } from "@zask/graph";
import { close, compute } from "@zask/scheduler";
import { blockwiseGraph, blockwiseSpec, evaluate } from "../graph/random-graphs.ts";

const mix = op(new URL("./fixtures/ops.js", import.meta.url).href, "mix");

after(() => close());

// Fused Blockwise nodes run from their step arguments (inline, and written into pool messages
// with earlier steps as header refs): random chains of Blockwise layers with block indices,
// transposed reads and a contraction give the values of the graph evaluated node by node.
test("random Blockwise graphs give the same values inline, on the pool and in sync mode", async () => {
  await fc.assert(
    fc.asyncProperty(blockwiseSpec, async (spec) => {
      const { graph: plain, outputs } = blockwiseGraph(spec);
      const expected = evaluate(plain.materialize(), outputs);
      const { graph } = blockwiseGraph(spec, (seed) => [mix, [seed]]);
      for (const options of [{ scheduler: "sync" as const }, { inlineThreshold: Infinity }, { inlineThreshold: 0 }]) {
        assert.deepEqual(await compute(graph, outputs, { progress: false, ...options }), expected, JSON.stringify(options));
      }
    }),
    { numRuns: 60 },
  );
});
