/**
 * The zask side of the benchmark queries.
 *
 * Mirrors benchmarks/peers/dask_http_queries.py query by query: open with readZarr (dataframes
 * eager, X lazy), then the selections and the reduction on X, each computed to a dense array.
 */
import { readZarr } from "@zask/anndata";
import type { AnnData } from "@zask/anndata";
import { reduction, slice } from "@zask/array";
import type { Array as LazyArray } from "@zask/array";
import type { QueryName } from "./results.ts";
import { timeRepeated } from "./stats.ts";

/** One query's figures as measured in process (requests are counted at the server by the caller). */
export interface ZaskQueryRun {
  medianMs: number;
  runsMs: number[];
  /** float64 sum of the result of the last run. */
  sum: number;
  /** What `plan()` predicted for this query before it ran. */
  predictedRequests?: number;
  predictedBytes?: number;
}

export interface ZaskRunOptions {
  repeats: number;
  queries: readonly QueryName[];
  /** The expected answers' parameters (gene name, the cell row). */
  gene: string;
  oneCell: number;
  /**
   * Must be awaited after each timed run, outside the timing, with the label
   * `zask/<query>/<run>` (run counted from 0): it cuts the server's access log so the runner
   * can count that run's requests. Call `mark("zask/start")` once before the first query.
   */
  mark: (label: string) => Promise<void>;
  signal?: AbortSignal;
}

/**
 * Runs the benchmark queries with zask against `storeUrl`, the same way the peer does
 * (benchmarks/peers/dask_http_queries.py), and returns per query the median time, the sum
 * of the result and plan's prediction.
 *
 * The queries, each once untimed (warm-up) and then `repeats` times in this order (every run of `open` opens afresh; the
 * other queries use the last opened AnnData):
 * - `open`: readZarr(storeUrl): consolidated metadata and var eagerly, X lazy;
 * - `one_gene`: `X[:, var.index == gene]` computed;
 * - `genes_n_cells_gt_1000`: `X[:, var.n_cells > 1000]` computed;
 * - `rows_0_100`: `X[0:100]` computed;
 * - `one_cell`: `X[oneCell]` computed;
 * - `mean_per_gene`: `X.mean(axis 0)` computed.
 *
 * @returns per query: median and runs in ms, the float64 sum of the result, plan's prediction.
 * @example
 * ```ts
 * const run = await runZaskQueries(`${server.url}c5.zarr`, { repeats: 3, queries: QUERIES, gene: "C1orf86", oneCell: 1318, mark });
 * ```
 */
export async function runZaskQueries(storeUrl: string, options: ZaskRunOptions): Promise<Partial<Record<QueryName, ZaskQueryRun>> | undefined> {
  const { repeats, queries, gene, oneCell, mark, signal } = options;
  let adata: AnnData<LazyArray> | undefined;
  const out: Partial<Record<QueryName, ZaskQueryRun>> = {};
  await mark("zask/start");
  for (const query of queries) {
    let prediction: { requests: number; bytes: number } | undefined;
    if (query !== "open") {
      if (adata === undefined) throw new Error("open must run before the other queries");
      // Planned once, outside the timing: dask has no plan step to compare it with.
      const plan = select(adata, query, gene, oneCell).plan();
      prediction = { requests: plan.requests, bytes: plan.bytes };
    }
    let sum = Number.NaN;
    const run = async (): Promise<void> => {
      if (query === "open") {
        adata = await readZarr(storeUrl, { signal });
        sum = adata.nObs + adata.nVars;
        return;
      }
      const result = await select(adata as AnnData<LazyArray>, query, gene, oneCell).compute({ signal });
      sum = sumOf(result.data);
    };
    // One untimed warm-up run per query, as the peer does (JIT, worker start-up, wasm tier-up).
    await run();
    await mark(`zask/${query}/warmup`);
    const timing = await timeRepeated(run, { repeats, between: (i) => mark(`zask/${query}/${i}`) });
    out[query] = {
      medianMs: timing.medianMs,
      runsMs: timing.runsMs,
      sum,
      ...(prediction === undefined ? {} : { predictedRequests: prediction.requests, predictedBytes: prediction.bytes }),
    };
  }
  return out;
}

/** The lazy array of one benchmark query. */
function select(adata: AnnData<LazyArray>, query: Exclude<QueryName, "open">, gene: string, oneCell: number): LazyArray {
  const X = adata.X;
  if (X === undefined) throw new Error("The store has no X");
  switch (query) {
    case "one_gene":
      return X.slice(null, adata.varNames.map((name) => name === gene));
    case "genes_n_cells_gt_1000": {
      const nCells = adata.var.get("n_cells");
      if (!ArrayBuffer.isView(nCells)) throw new TypeError("Expected var.n_cells to be a numeric column");
      return X.slice(null, Array.from(nCells as ArrayLike<number | bigint>, (n) => Number(n) > 1000));
    }
    case "rows_0_100":
      return X.slice(slice(0, 100));
    case "one_cell":
      return X.slice(oneCell);
    case "mean_per_gene":
      return reduction(X, "mean", { axis: 0 });
  }
}

function sumOf(data: ArrayLike<number | bigint | string>): number {
  let total = 0;
  for (let i = 0; i < data.length; i++) total += Number(data[i]);
  return total;
}

/**
 * The memory benchmark's reduction: the mean per gene over all of X of the (≥ 2 GiB) store at
 * `storeUrl`, with zask. Runs in its own process (./memory-child.ts) so that process's peak
 * RSS is the figure.
 *
 * @returns the float64 sum of the per-gene means, to check against the writer's.
 * @example
 * ```ts
 * const sum = await zaskFullReduction(`${server.url}big.zarr`, {});
 * ```
 */
export async function zaskFullReduction(storeUrl: string, options: { signal?: AbortSignal } = {}): Promise<number | undefined> {
  const { signal } = options;
  const adata = await readZarr(storeUrl, { signal });
  if (adata.X === undefined) throw new Error(`${storeUrl} has no X`);
  const means = await reduction(adata.X, "mean", { axis: 0 }).compute({ signal });
  return sumOf(means.data);
}
