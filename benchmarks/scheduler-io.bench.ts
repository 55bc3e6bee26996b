/**
 * I/O lane benchmark: GET every chunk of an AnnData X (by default the 368 chunks of ~51 KB of
 * c5.zarr, pbmc3k-shaped) from a static server, 16 requests in flight, through four paths:
 * the lane's `get` (its own HTTP/1.1 client, http/direct-http.ts: each body read straight into its
 * buffer), the lane's `fetch` (the same, wrapped in a `Response`) and, for reference, undici's
 * `request` on a keep-alive Agent and the global `fetch`, both under the same p-queue bound.
 * Prints the median of each, the main thread's CPU time, and the machine. Without a base URL it serves the benchmark stores
 * (benchmarks/results/tmp/stores, written by `npm run bench`) with nginx itself:
 *
 *   npm run build && node --import tsx benchmarks/scheduler-io.bench.ts [base-url|-] [store] [repeats]
 *
 * (default: its own nginx, c5, 9; not part of the tests)
 */
import PQueue from "p-queue";
import { Agent } from "undici";
import { IoLane } from "@zask/scheduler";
import { describeMachine } from "./lib/machine.ts";
import { startLoggingServer } from "./lib/nginx.ts";

const own =
  process.argv[2] === undefined || process.argv[2] === "-"
    ? await startLoggingServer(new URL("./results/tmp/stores/", import.meta.url).pathname, { prefer: "nginx" })
    : undefined;
const base = own?.url ?? process.argv[2]!;
const store = process.argv[3] ?? "c5";
const repeats = Number(process.argv[4] ?? 9);
const meta = (await (await fetch(`${base}${store}.zarr/X/.zarray`)).json()) as { shape: number[]; chunks: number[] };
const grid = meta.shape.map((n, k) => Math.ceil(n / meta.chunks[k]!));
const urls: string[] = [];
for (let i = 0; i < grid[0]!; i++) for (let j = 0; j < grid[1]!; j++) urls.push(`${base}${store}.zarr/X/${i}.${j}`);

async function viaGet(): Promise<number> {
  const lane = new IoLane({ httpConcurrency: 16 });
  const all = await Promise.all(urls.map((u) => lane.get(u)));
  return all.reduce((n, r) => n + r.body!.byteLength, 0);
}

async function viaLaneFetch(): Promise<number> {
  const lane = new IoLane({ httpConcurrency: 16 });
  const all = await Promise.all(urls.map(async (u) => new Uint8Array(await (await lane.fetch(u)).arrayBuffer())));
  return all.reduce((n, b) => n + b.byteLength, 0);
}

const agent = new Agent({ connections: 16 });
async function viaUndici(): Promise<number> {
  const q = new PQueue({ concurrency: 16 });
  const all = await Promise.all(
    urls.map((u) =>
      q.add(
        async () => new Uint8Array(await (await agent.request({ origin: new URL(u).origin, path: new URL(u).pathname, method: "GET" })).body.arrayBuffer()),
      ),
    ),
  );
  return all.reduce((n, b) => n + b!.byteLength, 0);
}

async function viaGlobalFetch(): Promise<number> {
  const q = new PQueue({ concurrency: 16 });
  const all = await Promise.all(urls.map((u) => q.add(async () => new Uint8Array(await (await fetch(u)).arrayBuffer()))));
  return all.reduce((n, b) => n + b!.byteLength, 0);
}

const paths = {
  "lane.get (direct client)": viaGet,
  "lane.fetch (direct + Response)": viaLaneFetch,
  "undici.request + p-queue": viaUndici,
  "global fetch + p-queue": viaGlobalFetch,
};
const times = new Map<string, number[]>(Object.keys(paths).map((k) => [k, []]));
const cpu = new Map<string, number[]>(Object.keys(paths).map((k) => [k, []]));
let bytes = 0;
for (let r = 0; r < repeats + 1; r++) {
  for (const [name, f] of Object.entries(paths)) {
    const c = process.cpuUsage();
    const t = performance.now();
    bytes = await f();
    if (r === 0) continue; // the first round warms up
    times.get(name)!.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.get(name)!.push((used.user + used.system) / 1000);
  }
}
console.log(describeMachine());
console.log(
  `${urls.length} chunks of ${store}.zarr/X (${(bytes / urls.length / 1000).toFixed(0)} KB on average) from ${base}, 16 in flight; medians of ${repeats}`,
);
for (const [name, ts] of times) {
  ts.sort((a, b) => a - b);
  const c = cpu.get(name)!.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(34)} ${ts[ts.length >> 1]!.toFixed(1).padStart(7)} ms  (min ${ts[0]!.toFixed(1)}, max ${ts[ts.length - 1]!.toFixed(1)}); CPU ${c[c.length >> 1]!.toFixed(1)} ms`,
  );
}
await agent.close();
await own?.close();
