/**
 * The JavaScript peer of the sharded rows of `npm run bench`: zarrita 0.7 with
 * `withRangeCoalescing` (zarrita's own blosc codec, as a zarrita user has it), in its own process.
 *
 *   node --import tsx benchmarks/peers/zarrita_sharded.ts URL QUERY WARMUPS REPEATS MASK_JSON
 *
 * QUERY is one_gene, genes_n_cells_gt_1000 or mean_per_gene; MASK_JSON the column indices of the
 * 59-gene query. Each run opens the array afresh (a new store: no index cached), untimed, then
 * times the query; after the warm-ups, after each open and after each timed run it sends a
 * marker request (`/__zask_mark__/peer-warm`, `peer-open-R`, `peer-run-R`) so the server's log
 * tells the runs apart. Prints one JSON line: { runsMs, sums }.
 */
import * as zarr from "zarrita";

const [url = "", query = "", warmupsArg = "1", repeatsArg = "3", maskArg = "[]"] = process.argv.slice(2);
const columns = JSON.parse(maskArg) as number[];
const origin = new URL(url).origin;

async function open(): Promise<zarr.Array<"float32", zarr.Readable>> {
  const store = zarr.withRangeCoalescing(new zarr.FetchStore(url));
  return (await zarr.open.v3(store, { kind: "array" })) as zarr.Array<"float32", zarr.Readable>;
}

/** One query; returns the float64 sum of its result. */
async function run(arr: zarr.Array<"float32", zarr.Readable>): Promise<number> {
  let sum = 0;
  if (query === "one_gene") {
    const r = await zarr.get(arr, [null, zarr.slice(3, 4)]);
    for (const v of r.data as Float32Array) sum += v;
  } else if (query === "genes_n_cells_gt_1000") {
    // one selection per gene, all issued at once, as zarrita's coalescing expects
    const parts = await Promise.all(columns.map((j) => zarr.get(arr, [null, zarr.slice(j, j + 1)])));
    for (const r of parts) for (const v of r.data as Float32Array) sum += v;
  } else if (query === "mean_per_gene") {
    const r = await zarr.get(arr, [null, null]);
    const [n, m] = r.shape as [number, number];
    const data = r.data as Float32Array;
    const acc = new Float64Array(m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) acc[j]! += data[i * m + j]!;
    for (let j = 0; j < m; j++) sum += acc[j]! / n;
  } else {
    throw new RangeError(`Expected a query, got ${query}`);
  }
  return sum;
}

const mark = async (label: string): Promise<void> => {
  await (await fetch(`${origin}/__zask_mark__/${encodeURIComponent(label)}`)).arrayBuffer();
};

for (let w = 0; w < Number(warmupsArg); w++) await run(await open());
await mark("peer-warm");
const runsMs: number[] = [];
const sums: number[] = [];
for (let r = 0; r < Number(repeatsArg); r++) {
  const arr = await open();
  await mark(`peer-open-${r}`);
  const t0 = performance.now();
  sums.push(await run(arr));
  runsMs.push(performance.now() - t0);
  await mark(`peer-run-${r}`);
}
console.log(JSON.stringify({ runsMs, sums }));
