import { SparseArray } from "@zask/anndata";
import * as zarr from "zarrita";
import { startLoggingServer } from "./benchmarks/lib/nginx.ts";
import { FetchStore } from "@zarrita/storage";
const server = await startLoggingServer("benchmarks/results/tmp/stores", { prefer: "nginx" });
const { readZarr } = await import("@zask/anndata");
const a = await readZarr(`${server.url}big-csr.zarr`);
const X0 = a.X as SparseArray;
const nnz = Number(process.argv[2]);
// reopen with another block size through the same store
const src = (SparseArray as unknown as { originOf(x: unknown): { source: unknown } }).originOf(X0).source;
const X = (SparseArray as unknown as { fromSource(s: unknown, o: unknown): SparseArray }).fromSource(src, { blockNnz: nnz });
const t = performance.now();
await X.mean({ axis: 0 }).compute();
console.log(nnz, X.chunks[0]!.length, "ms", (performance.now() - t).toFixed(0), "rss", (process.resourceUsage().maxRSS / 1024).toFixed(0));
await server.close();
