/**
 * The zask side of the benchmark queries.
 *
 * >>> NOT IMPLEMENTED YET: fill `runZaskQueries` once @zask/anndata can read a store over HTTP. <<<
 *
 * Until then it returns `undefined` and `npm run bench` reports the Python peer alone,
 * saying so in the results' notes.
 */
import type { QueryName } from "./results.ts";

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
 * The queries, each `repeats` times in this order (every run of `open` opens afresh; the
 * other queries use the last opened AnnData):
 * - `open`: readZarr(storeUrl): consolidated metadata and var eagerly, X lazy;
 * - `one_gene`: `X[:, var.index == gene]` computed;
 * - `genes_n_cells_gt_1000`: `X[:, var.n_cells > 1000]` computed;
 * - `rows_0_100`: `X[0:100]` computed;
 * - `one_cell`: `X[oneCell]` computed;
 * - `mean_per_gene`: `X.mean(axis 0)` computed.
 *
 * @returns `undefined` while zask cannot read AnnData yet.
 * @example
 * ```ts
 * const run = await runZaskQueries(`${server.url}c5.zarr`, { repeats: 3, queries: QUERIES, gene: "C1orf86", oneCell: 1318, mark });
 * ```
 */
export async function runZaskQueries(storeUrl: string, options: ZaskRunOptions): Promise<Partial<Record<QueryName, ZaskQueryRun>> | undefined> {
  // TODO(zask anndata): implement with readZarr + Array.slice/mean + plan + compute, using
  // timeRepeated from ./stats.ts with `between: (run) => options.mark(`zask/${query}/${run}`)`.
  void storeUrl;
  void options;
  return undefined;
}

/**
 * The memory benchmark's reduction: the mean per gene over all of X of the (≥ 2 GiB) store at
 * `storeUrl`, with zask. Runs in its own process (./memory-child.ts) so that process's peak
 * RSS is the figure.
 *
 * >>> NOT IMPLEMENTED YET: returns `undefined` until @zask/anndata reads stores. <<<
 *
 * @returns the float64 sum of the per-gene means, to check against the writer's.
 * @example
 * ```ts
 * const sum = await zaskFullReduction(`${server.url}big.zarr`, {});
 * ```
 */
export async function zaskFullReduction(storeUrl: string, options: { signal?: AbortSignal } = {}): Promise<number | undefined> {
  // TODO(zask anndata): readZarr(storeUrl), X.mean(axis 0).compute(), sum the means in float64.
  void storeUrl;
  void options;
  return undefined;
}
