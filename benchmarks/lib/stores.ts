/** Writes the benchmark stores with the reference stack (anndata 0.8 under /usr/bin/python3). */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { chunkings } from "./results.ts";
import type { Chunking, QueryName } from "./results.ts";

export const PYTHON = "/usr/bin/python3";
const WRITER = new URL("./write_pbmc_like.py", import.meta.url).pathname;

/** What the writer records next to the stores: the answers every reader must find. */
export interface Expected {
  shape: [number, number];
  gene: string;
  gene_index: number;
  n_cells_above_1000: number[];
  one_cell: number;
  sums: Partial<Record<QueryName, number>>;
  /** The same sums on the CSR store's X. */
  sums_csr: Partial<Record<QueryName, number>>;
}

/**
 * Makes sure `dir` holds one `<name>.zarr` per chunking, all with the same data, written by
 * anndata 0.8. Stores already there are kept when the writer script has not changed since.
 *
 * @example
 * ```ts
 * const expected = await ensureStores("benchmarks/results/tmp/stores", chunkings());
 * ```
 */
export async function ensureStores(dir: string, wanted: Chunking[], options: { signal?: AbortSignal } = {}): Promise<Expected> {
  const stamp = join(dir, "writer.sha256");
  const hash = createHash("sha256")
    .update(await readFile(WRITER))
    .digest("hex");
  const current = (await readFile(stamp, "utf8").catch(() => "")) === hash;
  // Stores from another version of the writer may hold other data: drop them all.
  if (!current) for (const c of chunkings()) await rm(join(dir, `${c.name}.zarr`), { recursive: true, force: true });
  const missing = wanted.filter((c) => !current || !existsSync(join(dir, `${c.name}.zarr`, ".zmetadata")));
  const expectedFile = join(dir, "expected.json");
  if (missing.length > 0 || !existsSync(expectedFile)) {
    const todo = missing.length > 0 ? missing : wanted.slice(0, 1);
    for (const c of todo) await rm(join(dir, `${c.name}.zarr`), { recursive: true, force: true });
    await promisify(execFile)(PYTHON, [WRITER, dir, ...todo.map((c) => `${c.name}=${c.sparse ? "csr" : c.chunks.join("x")}`)], {
      signal: options.signal,
      maxBuffer: 1 << 24,
    });
    await writeFile(stamp, hash);
  }
  return JSON.parse(await readFile(expectedFile, "utf8")) as Expected;
}

/** Whether a result's sum matches the expected one (relative 1e-5: float32 sums differ in order). */
export function sumMatches(actual: number | undefined, expected: number | undefined): boolean | undefined {
  if (actual === undefined || expected === undefined) return undefined;
  return Math.abs(actual - expected) <= 1e-5 * Math.max(1, Math.abs(expected));
}

const BIG_WRITER = new URL("./write_big_store.py", import.meta.url).pathname;

/** The big store's chunking: 50,000 × 2,000 float32 X in [5000, 100] chunks (200 chunks, ~379 MB). */
export const BIG_CHUNKING: Chunking = { name: "big", chunks: [5000, 100], width: undefined };

/** The big store's directory name under the stores' directory (`big.zarr` is the memory run's 2 GiB store). */
export const BIG_STORE = "big-50k.zarr";

/**
 * Makes sure `dir` holds the big store (`BIG_STORE`): X 50,000 × 2,000 float32 in [5000, 100]
 * chunks, with pbmc3k-like obs (50,000 rows: names, a categorical, numbers) and var (`n_cells`,
 * C1orf86), written by anndata 0.8 + zarr (write_big_store.py --annotated). Kept while the
 * writer is unchanged.
 *
 * @returns the answers of the benchmark queries on it.
 * @example
 * ```ts
 * const expected = await ensureBigAnnotatedStore("benchmarks/results/tmp/stores");
 * ```
 */
export async function ensureBigAnnotatedStore(dir: string, options: { signal?: AbortSignal } = {}): Promise<Expected> {
  const path = join(dir, BIG_STORE);
  const info = join(dir, "big-50k.json");
  const hash = createHash("sha256")
    .update(await readFile(BIG_WRITER))
    .digest("hex");
  const previous = existsSync(info) ? (JSON.parse(await readFile(info, "utf8")) as Expected & { writer?: string }) : undefined;
  if (previous?.writer === hash && existsSync(join(path, ".zmetadata"))) return previous;
  await rm(path, { recursive: true, force: true });
  const [nObs, nVars] = [50_000, 2_000];
  const { stdout } = await promisify(execFile)(PYTHON, [BIG_WRITER, path, String(nObs), String(nVars), ...BIG_CHUNKING.chunks.map(String), "--annotated"], {
    signal: options.signal,
    maxBuffer: 1 << 20,
  });
  const expected = JSON.parse(stdout) as Expected;
  await writeFile(info, JSON.stringify({ ...expected, writer: hash }));
  return expected;
}
