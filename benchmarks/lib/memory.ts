/** The memory benchmark: a full reduction over a ≥ 2 GiB store must keep peak RSS under 400 MB. */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { PYTHON, sumMatches } from "./stores.ts";

const WRITER = new URL("./write_big_store.py", import.meta.url).pathname;
const CHILD = new URL("./memory-child.ts", import.meta.url).pathname;

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
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", CHILD, storeUrl], {
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
