/**
 * The scheduler benchmarks' workload: the sum of 20,000 blocks of 10 ones as a tree reduction,
 * the graph dask builds for `da.ones(200000, chunks=10).sum()` (46,670 tasks).
 */
import { Blockwise, Graph, MaterializedLayer, Task, blockKey, blockwiseInput, op, ref, type Key } from "@zask/graph";

export const BLOCKS = 20_000;
export const BLOCK = 10;
export const SPLIT_EVERY = 4;
const ops = new URL("../test/scheduler/fixtures/ops.js", import.meta.url).href;
const ones = op(ops, "ones");
const chunkSum = op(ops, "chunkSum");
const combine = op(ops, "combine");

/** ones → per-block sum (two Blockwise layers) → partial sums of `SPLIT_EVERY` per level → total. */
export function treeSum(): { graph: Graph; key: Key; tasks: number } {
  let graph = Graph.fromLayer(new Blockwise({ name: "ones", outIndex: "i", numBlocks: [BLOCKS], op: ones, args: [BLOCK] }));
  graph = graph.withLayer(
    new Blockwise({ name: "sum-chunk", outIndex: "i", numBlocks: [BLOCKS], op: chunkSum, args: [blockwiseInput("ones", "i", [BLOCKS])] }),
    ["ones"],
  );
  let level = "sum-chunk";
  let n = BLOCKS;
  let depth = 0;
  while (n > 1) {
    const m = Math.ceil(n / SPLIT_EVERY);
    const name = m === 1 ? "sum-aggregate" : `sum-partial-${depth++}`;
    const tasks: Task[] = [];
    for (let j = 0; j < m; j++) {
      const parts = [];
      for (let i = j * SPLIT_EVERY; i < Math.min(n, (j + 1) * SPLIT_EVERY); i++) parts.push(ref(blockKey(level, [i])));
      tasks.push(new Task(blockKey(name, [j]), combine, [parts]));
    }
    graph = graph.withLayer(new MaterializedLayer(name, tasks), [level]);
    level = name;
    n = m;
  }
  return { graph, key: blockKey(level, [0]), tasks: graph.stats().tasks };
}
