/**
 * A CSR X with int64 indices (as scipy writes them once a matrix holds 2^31 values) against
 * the same matrix with int32 ones: one column, every 31st column and the mean per column,
 * read on the main thread (a small read) and the columns on the pool. The two stores are
 * written by benchmarks/lib/write_index_widths.py (anndata 0.8) and read from disk, so the
 * figures are the decode, pick and gather, not the network. Prints the median ms of each
 * query per store over repeats, the stores alternated.
 *
 * Run: node --import tsx benchmarks/sparse-index-width.bench.ts [repeats]   (not part of the tests)
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SparseArray } from "@zask/anndata";
import { reduction, type Array as LazyArray } from "@zask/array";
import { FileSystemStore } from "@zarrita/storage";
import * as zarr from "zarrita";
import { describeMachine } from "./lib/machine.ts";
import { median } from "./lib/stats.ts";

const REPEATS = Number(process.argv[2] ?? 41);
const WARMUPS = 10;
const dir = await mkdtemp(join(tmpdir(), "zask-index-width-"));
execFileSync("/usr/bin/python3", [join(import.meta.dirname, "lib", "write_index_widths.py"), dir]);

const every31 = Array.from({ length: 1838 }, (_, j) => j % 31 === 0);
const QUERIES: [string, boolean, (m: SparseArray) => LazyArray][] = [
  ["one column", false, (m) => m.slice(null, [77])],
  ["every 31st column", false, (m) => m.slice(null, every31)],
  ["mean per column", false, (m) => reduction(m, "mean", { axis: 0 })],
  ["every 31st column, pool", true, (m) => m.slice(null, every31)],
];

const open = async (width: string, pool: boolean): Promise<SparseArray> => {
  const group = await zarr.open(zarr.root(new FileSystemStore(join(dir, `${width}.zarr`))).resolve("X"), { kind: "group" });
  return SparseArray.open(group, pool ? { smallReadBytes: 0 } : {});
};

console.log(`${describeMachine()}\n`);
console.log("query                      int32 ms  int64 ms  int64 / int32");
for (const [name, pool, query] of QUERIES) {
  const matrices = { int32: await open("int32", pool), int64: await open("int64", pool) };
  const ms: Record<string, number[]> = { int32: [], int64: [] };
  const sums: Record<string, number> = {};
  for (let r = 0; r < WARMUPS + REPEATS; r++) {
    for (const width of r % 2 === 0 ? ["int32", "int64"] : ["int64", "int32"]) {
      const t0 = performance.now();
      const out = await query(matrices[width as "int32"]).compute();
      const t = performance.now() - t0;
      if (r >= WARMUPS) ms[width]!.push(t);
      let sum = 0;
      for (const v of out.data as Float32Array) sum += v;
      sums[width] = sum;
    }
  }
  if (sums.int32 !== sums.int64) throw new Error(`${name}: the two stores disagree (${sums.int32} vs ${sums.int64})`);
  const [a, b] = [median(ms.int32!), median(ms.int64!)];
  console.log(`${name.padEnd(26)} ${a.toFixed(2).padStart(8)}  ${b.toFixed(2).padStart(8)}  ${(b / a).toFixed(2).padStart(13)}`);
}
await rm(dir, { recursive: true, force: true });
process.exit(0);
