/**
 * The sparse memory benchmark: zask's full mean over a ≥ 2 GB CSR X over HTTP must keep peak
 * RSS under 400 MB and take at most half the Python peer's time (anndata 0.8 read_elem of the
 * whole X + scipy's mean, the way a user without a lazy sparse reader does it). It also times
 * a column selection over the same X (every 400th gene, computed dense) against the peer's
 * read_elem + `X[:, ::400].toarray()`, both answers' sums compared. And it rewrites the store
 * lazily to local disk with other chunks for X (zask alone: the peer would hold X whole), its
 * peak RSS and time, the written X's per-gene means checked against the source's.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { memoryChildScript } from "./memory-child-script.ts";
import { PEAK_RSS_LIMIT_MIB } from "./memory.ts";
import { PYTHON, sumMatches } from "./stores.ts";

const WRITER = new URL("./write_big_sparse_store.py", import.meta.url).pathname;

/** What the writer of the big CSR store reports. */
export interface BigSparseStore {
  path: string;
  shape: [number, number];
  nnz: number;
  chunk: number;
  disk_bytes: number;
  sums: { mean_per_gene: number };
}

/** One reader's run: its time, peak RSS, and whether its answer's sum is right (undefined: nothing to check it against). */
export interface SparseRun {
  peakRssMiB: number;
  ms: number;
  sumOk: boolean | undefined;
}

/** What the sparse memory benchmark measured, zask and the peer. */
export interface SparseMemoryResult {
  store: Omit<BigSparseStore, "path">;
  zask: SparseRun;
  peer: SparseRun | undefined;
  /** Every {@link COLUMN_STEP}-th column computed dense; the sums are checked against each other's. */
  columns: { step: number; zask: SparseRun; peer: SparseRun | undefined };
  /** The store rewritten lazily to local disk, X's parts in chunks of `chunk` values (zask only). */
  rewrite: { chunk: number; zask: SparseRun };
  limitMiB: number;
}

/** The rewrite's chunk length for X's parts (the store's are 390,625). */
export const REWRITE_CHUNK = 1_000_000;

/** The column selection's step: 50 of the store's 20,000 genes. */
export const COLUMN_STEP = 400;

/** Writes `<dir>/big-csr.zarr` unless the same writer already did. */
export async function ensureBigSparseStore(dir: string, options: { signal?: AbortSignal } = {}): Promise<BigSparseStore> {
  const path = join(dir, "big-csr.zarr");
  const info = join(dir, "big-csr.json");
  const hash = createHash("sha256")
    .update(await readFile(WRITER))
    .digest("hex");
  const previous = existsSync(info) ? (JSON.parse(await readFile(info, "utf8")) as BigSparseStore & { writer?: string }) : undefined;
  if (previous?.writer === hash && existsSync(join(path, ".zmetadata"))) return previous;
  await rm(path, { recursive: true, force: true });
  const { stdout } = await promisify(execFile)(PYTHON, [WRITER, path], { signal: options.signal, maxBuffer: 1 << 20 });
  const store = JSON.parse(stdout) as BigSparseStore;
  await writeFile(info, JSON.stringify({ ...store, writer: hash }));
  return store;
}

// The peer: open the store over HTTP, read X whole with read_elem, mean per gene with scipy.
const PEER = `
import json, resource, sys, time
import numpy as np, zarr
from anndata.experimental import read_elem
t0 = time.perf_counter()
g = zarr.open_consolidated(sys.argv[1], mode="r")
m = read_elem(g["X"])
s = float(np.asarray(m.mean(axis=0)).sum())
ms = (time.perf_counter() - t0) * 1000
# VmHWM: ru_maxrss would keep the bench process's RSS from before exec
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
rss = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"sum": s, "ms": ms, "maxRssMiB": rss}))
`;

// The peer's column selection: X read whole with read_elem, every STEP-th column made dense.
const PEER_COLUMNS = `
import json, resource, sys, time
import numpy as np, zarr
from anndata.experimental import read_elem
t0 = time.perf_counter()
g = zarr.open_consolidated(sys.argv[1], mode="r")
m = read_elem(g["X"])
# scipy's column indexing refuses int64 indptr beside int32 indices; nnz fits int32 here
if m.nnz < 2**31: m.indptr = m.indptr.astype(m.indices.dtype)
s = float(m[:, ::int(sys.argv[2])].toarray().sum())
ms = (time.perf_counter() - t0) * 1000
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
rss = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"sum": s, "ms": ms, "maxRssMiB": rss}))
`;

/** What a child (zask's or the peer's) prints. */
interface Measured {
  sum: number;
  ms: number;
  maxRssMiB: number;
}

/**
 * Runs zask's full mean (a child process, so its peak RSS is the figure) and then the peer's
 * over `storeUrl`, then both readers' column selection.
 *
 * @example
 * ```ts
 * const r = await measureSparseMemory(`${server.url}big-csr.zarr`, store);
 * ```
 */
export async function measureSparseMemory(
  storeUrl: string,
  store: BigSparseStore,
  options: { signal?: AbortSignal; skipPeer?: boolean } = {},
): Promise<SparseMemoryResult> {
  const run = promisify(execFile);
  const z = JSON.parse((await run(process.execPath, [await memoryChildScript(), storeUrl], { signal: options.signal, maxBuffer: 1 << 20 })).stdout) as Measured;
  let peer: SparseMemoryResult["peer"];
  if (options.skipPeer !== true) {
    const p = JSON.parse(
      (await run(PYTHON, ["-c", PEER, storeUrl], { signal: options.signal, maxBuffer: 1 << 20 })).stdout.trim().split("\n").pop()!,
    ) as Measured;
    peer = { peakRssMiB: p.maxRssMiB, ms: p.ms, sumOk: sumMatches(p.sum, store.sums.mean_per_gene) };
  }
  const script = await memoryChildScript();
  const zc = JSON.parse(
    (await run(process.execPath, [script, storeUrl, "--columns", String(COLUMN_STEP)], { signal: options.signal, maxBuffer: 1 << 20 })).stdout,
  ) as Measured;
  let pc: Measured | undefined;
  if (options.skipPeer !== true) {
    pc = JSON.parse(
      (await run(PYTHON, ["-c", PEER_COLUMNS, storeUrl, String(COLUMN_STEP)], { signal: options.signal, maxBuffer: 1 << 20 })).stdout.trim().split("\n").pop()!,
    ) as Measured;
  }
  const dir = await mkdtemp(join(tmpdir(), "zask-rewrite-"));
  let zr: Measured;
  try {
    zr = JSON.parse(
      (
        await run(process.execPath, [script, storeUrl, "--rewrite", join(dir, "big-csr.zarr"), String(REWRITE_CHUNK)], {
          signal: options.signal,
          maxBuffer: 1 << 20,
        })
      ).stdout,
    ) as Measured;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const { path: _path, writer: _writer, ...rest } = store as BigSparseStore & { writer?: string };
  return {
    store: rest,
    zask: { peakRssMiB: z.maxRssMiB, ms: z.ms, sumOk: sumMatches(z.sum, store.sums.mean_per_gene) },
    peer,
    columns: {
      step: COLUMN_STEP,
      zask: { peakRssMiB: zc.maxRssMiB, ms: zc.ms, sumOk: pc === undefined ? undefined : sumMatches(zc.sum, pc.sum) },
      peer: pc === undefined ? undefined : { peakRssMiB: pc.maxRssMiB, ms: pc.ms, sumOk: undefined },
    },
    rewrite: { chunk: REWRITE_CHUNK, zask: { peakRssMiB: zr.maxRssMiB, ms: zr.ms, sumOk: sumMatches(zr.sum, store.sums.mean_per_gene) } },
    limitMiB: PEAK_RSS_LIMIT_MIB,
  };
}
