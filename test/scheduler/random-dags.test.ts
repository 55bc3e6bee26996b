import assert from "node:assert/strict";
import { after, test } from "node:test";
import fc from "fast-check";
import { Alias, DataNode, Fused, Graph, Task, op, ref, type GraphNode } from "@zask/graph";
import { close, compute } from "@zask/scheduler";

const ops = new URL("./fixtures/ops.js", import.meta.url).href;
const fill = op(ops, "fill");
const affine = op(ops, "affine");
const add = op(ops, "add");
const L = 8;

after(() => close());

/** One node per entry: its kind, and the earlier nodes it reads (by index). */
const dag = fc
  .array(
    fc.record({
      kind: fc.constantFrom("data", "fill", "affine", "add", "inline", "alias", "fused"),
      deps: fc.array(fc.nat(), { maxLength: 3 }),
      k: fc.integer({ min: -3, max: 3 }),
    }),
    { minLength: 1, maxLength: 30 },
  )
  .chain((spec) => fc.tuple(fc.constant(spec), fc.uniqueArray(fc.nat(spec.length - 1), { minLength: 1, maxLength: 4 })));

function build(spec: { kind: string; deps: number[]; k: number }[]): Graph {
  const nodes: GraphNode[] = [];
  spec.forEach(({ kind, deps, k }, i) => {
    const key = `n${i}`;
    const ds = i === 0 ? [] : [...new Set(deps.map((d) => d % i))].map((d) => ref(`n${d}`));
    if (ds.length === 0 || kind === "fill" || kind === "data") {
      nodes.push(kind === "data" ? new DataNode(key, new Float64Array(L).fill(k)) : new Task(key, fill, [L, k]));
    } else if (kind === "alias") {
      nodes.push(new Alias(key, ds[0]!.key));
    } else if (kind === "affine") {
      nodes.push(new Task(key, affine, [ds[0], k, 1]));
    } else if (kind === "add") {
      nodes.push(new Task(key, add, ds));
    } else if (kind === "inline") {
      nodes.push(new Task(key, (...xs: Float64Array[]) => xs.reduce((s, x) => s.map((v, j) => v + x[j]! * 2), new Float64Array(L)), ds));
    } else {
      // a fused chain: add the deps on the pool, then an inline step, then affine on the pool
      nodes.push(
        new Fused(key, [
          new Task(`${key}.a`, add, ds),
          new Task(`${key}.b`, (x: Float64Array) => x.map((v) => v - 1), [ref(`${key}.a`)]),
          new Task(key, affine, [ref(`${key}.b`), k, 0]),
        ]),
      );
    }
  });
  return Graph.fromNodes("dag", nodes);
}

test("threads mode (inline or all on the pool, optimized or not) gives the values of sync mode on random DAGs", async () => {
  await fc.assert(
    fc.asyncProperty(dag, fc.boolean(), fc.boolean(), async ([spec, wanted], toPool, optimize) => {
      const graph = build(spec);
      const keys = wanted.map((i) => `n${i}`);
      const expected = await compute(graph, keys, { scheduler: "sync", optimize: false, progress: false });
      const actual = await compute(graph, keys, { inlineThreshold: toPool ? 0 : Infinity, optimize, progress: false });
      assert.deepEqual(actual, expected);
      // the graph's literals are intact (never moved into a worker)
      for (const [i, s] of spec.entries()) {
        if (s.kind === "data") {
          const node = graph.materialize().get(`n${i}`);
          if (node instanceof DataNode) assert.equal((node.value as Float64Array).length, L);
        }
      }
    }),
    { numRuns: 40 },
  );
});
