import { Blockwise, Graph, MaterializedLayer, Task, blockKey, blockwiseInput, op, ref, cull, fuse, order, type Key } from "@zask/graph";
import { compute } from "@zask/scheduler";
const BLOCKS = 20_000, BLOCK = 10, SPLIT_EVERY = 4;
const ops = new URL("./fixtures/ops.js", import.meta.url).href;
const ones = op(ops, "ones"), chunkSum = op(ops, "chunkSum"), combine = op(ops, "combine");
function treeSum(): { graph: Graph; key: Key; tasks: number } {
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
const { graph, key } = treeSum();
const mode = (process.env.MODE ?? "sync") as "sync";
const optimize = process.env.OPT === "1";
for (let r = 0; r < 6; r++) {
  const t = performance.now();
  await compute(graph, [key], { scheduler: mode, optimize, progress: false, inlineThreshold: Number(process.env.TH ?? 65536) });
  console.log((performance.now() - t).toFixed(1));
}
