/**
 * The zask side of the benchmark queries.
 *
 * Mirrors benchmarks/peers/dask_http_queries.py query by query: open with readZarr (dataframes
 * eager, X lazy), then the selections and the reduction on X, each computed to a dense array,
 * one run per call so the runner can interleave zask's runs with the peer's.
 */
import { readZarr, writeDispatched } from "@zask/anndata";
import type { AnnData } from "@zask/anndata";
import { reduction, slice } from "@zask/array";
import type { Array as LazyArray } from "@zask/array";
import type { QueryName } from "./results.ts";

/** One run of one query, timed in this process (requests are counted at the server by the caller). */
export interface QueryRun {
  ms: number;
  /** float64 sum of the result (for `open`, nObs + nVars). */
  sum: number;
  /** Minor page faults of this process during the run (fresh memory it touched, every thread). */
  faults: number;
}

/** What `plan()` predicts for one query before it runs. */
export interface Prediction {
  requests: number;
  bytes: number;
}

/** Options of `ZaskSession`. */
export interface ZaskSessionOptions {
  /** The expected answers' parameters (gene name, the cell row). */
  gene: string;
  oneCell: number;
  /** Requests in flight per origin, for the open and every compute. @default the compute's default */
  httpConcurrency?: number;
  /** Read over HTTP/2 (h2c to a plain-http URL). @default false */
  http2?: boolean;
  signal?: AbortSignal;
}

/**
 * The zask side of the benchmark, one query run per call, the same way the peer does it
 * (benchmarks/peers/dask_http_queries.py --serve), so the runner can interleave the two:
 * - `open`: readZarr(storeUrl): consolidated metadata and var eagerly, X lazy (each run opens
 *   afresh; the other queries use the last opened AnnData);
 * - `one_gene`: `X[:, var.index == gene]` computed;
 * - `genes_n_cells_gt_1000`: `X[:, var.n_cells > 1000]` computed;
 * - `rows_0_100`: `X[0:100]` computed;
 * - `one_cell`: `X[oneCell]` computed;
 * - `mean_per_gene`: `X.mean(axis 0)` computed.
 *
 * @example
 * ```ts
 * const zask = new ZaskSession(`${server.url}c5.zarr`, { gene: "C1orf86", oneCell: 1318 });
 * await zask.run("open");
 * const predicted = zask.plan("mean_per_gene"); // outside the timing
 * const { ms, sum } = await zask.run("mean_per_gene");
 * ```
 */
export class ZaskSession {
  #url: string;
  #gene: string;
  #oneCell: number;
  #signal: AbortSignal | undefined;
  #http: { httpConcurrency?: number; http2?: boolean };
  #adata: AnnData<LazyArray> | undefined;

  constructor(storeUrl: string, options: ZaskSessionOptions) {
    this.#url = storeUrl;
    this.#gene = options.gene;
    this.#oneCell = options.oneCell;
    this.#signal = options.signal;
    this.#http = {
      ...(options.httpConcurrency === undefined ? {} : { httpConcurrency: options.httpConcurrency }),
      ...(options.http2 === undefined ? {} : { http2: options.http2 }),
    };
  }

  /**
   * What `plan()` predicts for `query` on the last opened store: `undefined` for `open`, which
   * has no plan. Call it outside the timing: dask has no plan step to compare it with.
   *
   * @example
   * ```ts
   * const { requests } = zask.plan("one_gene") ?? {};
   * ```
   */
  plan(query: QueryName): Prediction | undefined {
    if (query === "open") return undefined;
    const plan = select(this.#opened(query), query, this.#gene, this.#oneCell).plan();
    return { requests: plan.requests, bytes: plan.bytes };
  }

  /**
   * Runs `query` once and returns its wall-clock time and the float64 sum of its result. As in
   * the peer's `run_query`, the time covers building the selection, computing it and summing
   * the result.
   *
   * @example
   * ```ts
   * const { ms } = await zask.run("rows_0_100");
   * ```
   */
  async run(query: QueryName): Promise<QueryRun> {
    const faults = process.resourceUsage().minorPageFault;
    const start = performance.now();
    let sum: number;
    if (query === "open") {
      this.#adata = await readZarr(this.#url, { signal: this.#signal, ...this.#http });
      sum = this.#adata.nObs + this.#adata.nVars;
    } else {
      const result = await select(this.#opened(query), query, this.#gene, this.#oneCell).compute({ signal: this.#signal, ...this.#http });
      sum = sumOf(result.data);
    }
    const ms = performance.now() - start;
    return { ms, sum, faults: process.resourceUsage().minorPageFault - faults };
  }

  #opened(query: QueryName): AnnData<LazyArray> {
    if (this.#adata === undefined)
      throw new Error(`zask's ${query} on ${this.#url} ran before open: run "open" first, the other queries use the store it opens`);
    return this.#adata;
  }
}

/** The lazy array of one benchmark query. */
function select(adata: AnnData<LazyArray>, query: Exclude<QueryName, "open">, gene: string, oneCell: number): LazyArray {
  const X = adata.X;
  if (X === undefined) throw new Error("The store has no X");
  switch (query) {
    case "one_gene":
      return X.slice(
        null,
        adata.varNames.map((name) => name === gene),
      );
    case "genes_n_cells_gt_1000": {
      const nCells = adata.var.get("n_cells");
      if (!ArrayBuffer.isView(nCells)) throw new TypeError("Expected var.n_cells to be a numeric column");
      return X.slice(null, greaterThan(nCells as ArrayLike<number> | BigInt64Array | BigUint64Array, 1000));
    }
    case "rows_0_100":
      return X.slice(slice(0, 100));
    case "one_cell":
      return X.slice(oneCell);
    case "mean_per_gene":
      return reduction(X, "mean", { axis: 0 });
  }
}

/**
 * The mask of `values > limit`, as the peer's `var["n_cells"] > 1000`. A plain loop per element
 * type: `Array.from` over an int64 column walks its iterator and boxes every value, which takes
 * longer than some of the queries it feeds.
 */
function greaterThan(values: ArrayLike<number> | BigInt64Array | BigUint64Array, limit: number): boolean[] {
  const mask = new Array<boolean>(values.length);
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    const big = BigInt(limit);
    for (let i = 0; i < values.length; i++) mask[i] = values[i]! > big;
  } else {
    for (let i = 0; i < values.length; i++) mask[i] = values[i]! > limit;
  }
  return mask;
}

/**
 * The float64 sum of a result, as the peer's `np.sum(dtype=float64)`. Float arrays take loops of
 * their own, with four running sums as numpy's unrolled sum keeps eight: one loop over every
 * result type is megamorphic in V8, and one running sum waits on each add, so the timing would
 * measure the checksum rather than the query.
 */
function sumOf(data: ArrayLike<number | bigint | string>): number {
  if (data instanceof Float32Array || data instanceof Float64Array) return sumFloats(data);
  let total = 0;
  for (let i = 0; i < data.length; i++) total += Number(data[i]);
  return total;
}

function sumFloats(data: Float32Array | Float64Array): number {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  const n = data.length - (data.length % 4);
  for (let i = 0; i < n; i += 4) {
    a += data[i]!;
    b += data[i + 1]!;
    c += data[i + 2]!;
    d += data[i + 3]!;
  }
  for (let i = n; i < data.length; i++) a += data[i]!;
  return a + b + c + d;
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

/**
 * zask's every `step`-th column of X (`X[:, ::step]`) computed dense from `storeUrl`: the sum of
 * the answer (the sparse memory benchmark's column selection).
 *
 * @example
 * ```ts
 * const sum = await zaskColumnSelection(`${server.url}big-csr.zarr`, 400);
 * ```
 */
export async function zaskColumnSelection(storeUrl: string, step: number, options: { signal?: AbortSignal } = {}): Promise<number> {
  const { signal } = options;
  const adata = await readZarr(storeUrl, { signal });
  if (adata.X === undefined) throw new Error(`${storeUrl} has no X`);
  const picked = await adata.X.slice(
    null,
    Array.from({ length: adata.nVars }, (_, j) => j % step === 0),
  ).compute({ signal });
  return sumOf(picked.data);
}

/**
 * The sparse rewrite benchmark: the store at `storeUrl` read lazily and written to the local
 * directory `out` with X's parts in chunks of `chunk` values (its sparse X streamed a window of
 * blocks at a time), then the float64 sum of the per-gene means of the written X, read back from
 * `out`, to check against the source's.
 *
 * `onWritten` is called once the rewrite is done, before the check.
 *
 * @returns the time of the rewrite alone (ms) and that sum.
 * @example
 * ```ts
 * const { ms, sum } = await zaskSparseRewrite(`${server.url}big-csr.zarr`, "/tmp/out.zarr", 1_000_000);
 * ```
 */
export async function zaskSparseRewrite(
  storeUrl: string,
  out: string,
  chunk: number,
  options: { signal?: AbortSignal; onWritten?: () => void } = {},
): Promise<{ ms: number; sum: number }> {
  const { signal } = options;
  const t0 = performance.now();
  const adata = await readZarr(storeUrl, { signal });
  await writeDispatched(out, "/", adata, (write, store, key, elem, o) => write(store, key, elem, key === "/X" ? { ...o, chunks: [chunk] } : o), {
    overwrite: true,
    ...(signal === undefined ? {} : { signal }),
  });
  const ms = performance.now() - t0;
  options.onWritten?.();
  const back = await readZarr(out, { signal });
  if (back.X === undefined) throw new Error(`${out} has no X`);
  const means = await reduction(back.X, "mean", { axis: 0 }).compute({ signal });
  return { ms, sum: sumOf(means.data) };
}
