/**
 * zask's timed runs of the sharded rows of `npm run bench`, in a process of its own, as
 * zarrita's are (benchmarks/peers/zarrita_sharded.ts): both readers start each query with a
 * fresh process, so neither has code the JIT compiled for an earlier query.
 *
 *   node --import tsx benchmarks/lib/zask-sharded-child.ts URL QUERY WARMUPS REPEATS MASK_JSON
 *
 * Each run opens the array afresh (no shard index cached), untimed, then times `compute()`;
 * after the warm-ups, after each open and after each timed run it sends a marker request
 * (`/__zask_mark__/zask-warm`, `zask-open-R`, `zask-run-R`) so the server's log tells the runs
 * apart. Prints one JSON line: { runsMs, sums }.
 */
import { fromZarr, type Array as ZaskArray } from "@zask/array";
import { close } from "@zask/scheduler";

const [url = "", query = "", warmupsArg = "1", repeatsArg = "3", maskArg = "[]"] = process.argv.slice(2);
const columns = JSON.parse(maskArg) as number[];
const origin = new URL(url).origin;
const GENE = 3; // C1orf86 in pbmcLike

function select(x: ZaskArray): ZaskArray {
  if (query === "one_gene") return x.slice(null, [GENE]);
  if (query === "genes_n_cells_gt_1000") return x.slice(null, columns);
  if (query === "mean_per_gene") return x.mean({ axis: 0 });
  throw new RangeError(`Expected a query, got ${query}`);
}

const mark = async (label: string): Promise<void> => {
  await (await fetch(`${origin}/__zask_mark__/${encodeURIComponent(label)}`)).arrayBuffer();
};

try {
  for (let w = 0; w < Number(warmupsArg); w++) await select(await fromZarr(url)).compute({ progress: false });
  await mark("zask-warm");
  const runsMs: number[] = [];
  const sums: number[] = [];
  for (let r = 0; r < Number(repeatsArg); r++) {
    const q = select(await fromZarr(url));
    await mark(`zask-open-${r}`);
    const t0 = performance.now();
    const out = await q.compute({ progress: false });
    runsMs.push(performance.now() - t0);
    let sum = 0;
    for (const v of out.data as Float32Array | Float64Array) sum += v;
    sums.push(sum);
    await mark(`zask-run-${r}`);
  }
  console.log(JSON.stringify({ runsMs, sums }));
} finally {
  await close();
}
