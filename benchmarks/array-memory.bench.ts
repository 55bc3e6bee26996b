/**
 * Array memory benchmark: a full reduction (mean per gene, then the sum of the means) over
 * a generated on-disk zarr store whose X is 2 GiB of float32 (65536 x 8192, chunks
 * 4096 x 1024 = 16 MiB, blosc-lz4, written by zarr-python via benchmarks/lib/write_big_store.py).
 * Target: peak RSS of the whole process under 400 MB. Prints peak RSS, time,
 * requests and the machine. Not part of the tests:
 *
 *   npm run build && node --import tsx benchmarks/array-memory.bench.ts [--sync] [--http-concurrency N]
 */
import { join } from "node:path";
import { fromZarr, ZarrStore } from "@zask/array";
import { close } from "@zask/scheduler";
import { machineInfo } from "./lib/machine.ts";
import { ensureBigStore } from "./lib/memory.ts";

const dir = join(import.meta.dirname, "results", "tmp", "stores");
const big = await ensureBigStore(dir);
const args = process.argv.slice(2);
const scheduler = args.includes("--sync") ? "sync" : "threads";
const hc = args.indexOf("--http-concurrency");
const httpConcurrency = hc >= 0 ? Number(args[hc + 1]) : undefined;

let sampledPeak = 0;
const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss())), 20);
const base = process.memoryUsage.rss();

const store = new ZarrStore(big.path);
const X = await fromZarr(store, { path: "X" });
const means = X.mean({ axis: 0 });
const plan = means.plan();
const t0 = performance.now();
const result = await means.compute({ scheduler, httpConcurrency });
const seconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
await close();

let sum = 0;
for (const v of result.data as Float32Array | Float64Array) sum += v;
const peak = process.resourceUsage().maxRSS * 1024; // KiB on Linux: the whole process, workers included
const mib = (b: number) => (b / 2 ** 20).toFixed(0);
const m = machineInfo();
console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}, load ${m.load1}`);
console.log(
  `store: X ${X.shape.join(" x ")} ${X.dtype}, chunks ${X.chunks.map((c) => c[0]).join(" x ")}, ${mib(X.nbytes)} MiB decoded, ${plan.requests} chunks (plan), ${plan.tasks} tasks`,
);
console.log(`mean per gene (${scheduler}): ${seconds.toFixed(2)} s, ${store.counters.chunkRequests} chunk reads, ${mib(store.counters.bytes)} MiB read`);
console.log(`sum of means: ${sum.toPrecision(10)} (zarr-python/numpy: ${big.sums.mean_per_gene.toPrecision(10)})`);
console.log(
  `peak RSS: ${mib(peak)} MiB (sampled ${mib(sampledPeak)} MiB, at start ${mib(base)} MiB); limit 400 MB = ${mib(400e6)} MiB -> ${peak < 400e6 ? "PASS" : "FAIL"}`,
);
