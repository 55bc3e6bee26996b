/** Runs the Python peer (benchmarks/peers/dask_http_queries.py) against a served store. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PYTHON } from "./stores.ts";
import type { QueryName } from "./results.ts";

const PEER = new URL("../peers/dask_http_queries.py", import.meta.url).pathname;

/** The JSON the peer prints. Timings in seconds. */
export interface PeerOutput {
  peer: "dask";
  versions: Record<string, string>;
  scheduler: string;
  url: string;
  shape: [number, number];
  chunks: [number, number];
  repeats: number;
  queries: Partial<Record<QueryName, { median_s: number; runs_s: number[]; sum: number }>>;
}

/**
 * Runs the peer on `storeUrl` with log marks (`peer/<query>/<run>`) so the caller can count
 * each run's requests at the server.
 *
 * @example
 * ```ts
 * const out = await runPeer(`${server.url}c5.zarr`, { repeats: 3 });
 * ```
 */
export async function runPeer(
  storeUrl: string,
  options: { repeats?: number; queries?: readonly QueryName[]; scheduler?: "threads" | "sync"; signal?: AbortSignal } = {},
): Promise<PeerOutput> {
  const { repeats = 3, queries, scheduler = "threads", signal } = options;
  const args = [PEER, storeUrl, "--mark", "--repeats", String(repeats), "--scheduler", scheduler];
  if (queries !== undefined) args.push("--queries", queries.join(","));
  const { stdout } = await promisify(execFile)(PYTHON, args, { signal, maxBuffer: 1 << 24 });
  return JSON.parse(stdout) as PeerOutput;
}
