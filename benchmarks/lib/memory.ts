/** The memory benchmark: a full reduction over a ≥ 2 GiB store must keep peak RSS under 400 MB. */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { QUERIES } from "./results.ts";
import type { QueryName } from "./results.ts";
import { PYTHON, sumMatches } from "./stores.ts";
import type { Expected } from "./stores.ts";
import { memoryChildScript } from "./memory-child-script.ts";

const WRITER = new URL("./write_big_store.py", import.meta.url).pathname;
const PEER = new URL("../peers/dask_http_queries.py", import.meta.url).pathname;

/** The peak-RSS limit the memory benchmark checks, in MiB (400 MB). */
export const PEAK_RSS_LIMIT_MIB = 400e6 / 2 ** 20;

/** What the writer of the big store reports. */
export interface BigStore {
  path: string;
  shape: [number, number];
  chunks: [number, number];
  decoded_bytes: number;
  sums: { mean_per_gene: number };
}

/** What the memory benchmark measured. */
export interface MemoryResult {
  store: Omit<BigStore, "path">;
  implemented: boolean;
  peakRssMiB: number;
  ms: number | undefined;
  sumOk: boolean | undefined;
  limitMiB: number;
}

/**
 * Writes `<dir>/big.zarr` (2 GiB of float32 X) unless the same writer already did.
 *
 * @example
 * ```ts
 * const big = await ensureBigStore("benchmarks/results/tmp/stores");
 * ```
 */
export async function ensureBigStore(dir: string, options: { signal?: AbortSignal } = {}): Promise<BigStore> {
  const path = join(dir, "big.zarr");
  const info = join(dir, "big.json");
  const hash = createHash("sha256")
    .update(await readFile(WRITER))
    .digest("hex");
  const previous = existsSync(info) ? (JSON.parse(await readFile(info, "utf8")) as BigStore & { writer?: string }) : undefined;
  if (previous?.writer === hash && existsSync(join(path, ".zmetadata"))) return previous;
  await rm(path, { recursive: true, force: true });
  const { stdout } = await promisify(execFile)(PYTHON, [WRITER, path], { signal: options.signal, maxBuffer: 1 << 20 });
  const store = JSON.parse(stdout) as BigStore;
  await writeFile(info, JSON.stringify({ ...store, writer: hash }));
  return store;
}

/**
 * Runs zask's full reduction over `storeUrl` in a child process and reports its peak RSS.
 *
 * @example
 * ```ts
 * const result = await measureMemory(`${server.url}big.zarr`, big);
 * console.log(result.peakRssMiB.toFixed(0), "MiB");
 * ```
 */
export async function measureMemory(storeUrl: string, store: BigStore, options: { signal?: AbortSignal } = {}): Promise<MemoryResult> {
  const { stdout } = await promisify(execFile)(process.execPath, [await memoryChildScript(), storeUrl], {
    signal: options.signal,
    maxBuffer: 1 << 20,
  });
  const out = JSON.parse(stdout) as { notImplemented?: true; sum?: number; ms?: number; maxRssMiB: number };
  const { path: _path, writer: _writer, ...rest } = store as BigStore & { writer?: string };
  return {
    store: rest,
    implemented: out.notImplemented !== true,
    peakRssMiB: out.maxRssMiB,
    ms: out.ms,
    sumOk: sumMatches(out.sum, store.sums.mean_per_gene),
    limitMiB: PEAK_RSS_LIMIT_MIB,
  };
}

/** One reader's session in its own process: peak RSS and each query's time. */
export interface SessionMemory {
  peakRssMiB: number;
  /** Milliseconds of the timed run of each query (after one untimed warm-up). */
  ms: Partial<Record<QueryName, number>>;
  /** zask only: milliseconds of each query's warm-up run (the first compute of the process is the first non-open one). */
  firstMs?: Partial<Record<QueryName, number>>;
  /** Queries whose result's sum disagreed with the expected one. */
  wrong: QueryName[];
}

/** What the session memory benchmark measured, per reader. */
export interface SessionMemoryResult {
  zask: SessionMemory;
  dask: SessionMemory;
  /** The peer's `num_workers`. */
  numWorkers: number | undefined;
  /** The peer again at dask's default threads (one per core), when `numWorkers` was set. */
  daskDefaultThreads?: SessionMemory | undefined;
}

/**
 * Runs every benchmark query (a warm-up and a timed run each, as the peer's batch mode does)
 * over `storeUrl` in a fresh process per reader — zask (./memory-child.ts --session) and the
 * peer (dask_http_queries.py) — and reports each process's peak RSS.
 *
 * @example
 * ```ts
 * const { zask, dask } = await measureSessionMemory(`${server.url}big-50k.zarr`, expected, { numWorkers: 16 });
 * console.log(zask.peakRssMiB <= dask.peakRssMiB);
 * ```
 */
export async function measureSessionMemory(
  storeUrl: string,
  expected: Expected,
  options: { numWorkers?: number | undefined; signal?: AbortSignal } = {},
): Promise<SessionMemoryResult> {
  const { numWorkers, signal } = options;
  const run = promisify(execFile);
  const child = await run(process.execPath, [await memoryChildScript(), storeUrl, "--session", expected.gene, String(expected.one_cell)], {
    signal,
    maxBuffer: 1 << 20,
  });
  const z = JSON.parse(child.stdout) as {
    maxRssMiB: number;
    ms: Record<QueryName, number>;
    firstMs: Record<QueryName, number>;
    sums: Record<QueryName, number>;
  };
  const wrong = (sums: Partial<Record<QueryName, number>>): QueryName[] =>
    QUERIES.filter((q) => q !== "open" && sumMatches(sums[q], expected.sums[q]) === false);
  const peer = async (workers: number | undefined): Promise<SessionMemory> => {
    const flag = workers === undefined ? [] : ["--num-workers", String(workers)];
    const out = await run(PYTHON, [PEER, storeUrl, "--repeats", "1", ...flag], { signal, maxBuffer: 1 << 20 });
    const d = JSON.parse(out.stdout) as { max_rss_mib: number; queries: Record<QueryName, { median_s: number; sum: number }> };
    return {
      peakRssMiB: d.max_rss_mib,
      ms: Object.fromEntries(Object.entries(d.queries).map(([q, f]) => [q, f.median_s * 1000])),
      wrong: wrong(Object.fromEntries(Object.entries(d.queries).map(([q, f]) => [q, f.sum]))),
    };
  };
  return {
    zask: { peakRssMiB: z.maxRssMiB, ms: z.ms, firstMs: z.firstMs, wrong: wrong(z.sums) },
    dask: await peer(numWorkers),
    numWorkers,
    ...(numWorkers === undefined ? {} : { daskDefaultThreads: await peer(undefined) }),
  };
}

/** One line for the console: both peaks and their ratio. */
export function describeSessionMemory(result: SessionMemoryResult): string {
  const { zask, dask } = result;
  const wrong = [...zask.wrong.map((q) => `zask ${q}`), ...dask.wrong.map((q) => `dask ${q}`)];
  const d2 = result.daskDefaultThreads;
  return `peak RSS zask ${zask.peakRssMiB.toFixed(0)} MiB, dask (num_workers=${result.numWorkers ?? "cores"}) ${dask.peakRssMiB.toFixed(0)} MiB, zask / dask = ${(zask.peakRssMiB / dask.peakRssMiB).toFixed(2)}${d2 === undefined ? "" : `; dask at its default threads ${d2.peakRssMiB.toFixed(0)} MiB`}${wrong.length > 0 ? `; WRONG: ${wrong.join(", ")}` : ""}`;
}
