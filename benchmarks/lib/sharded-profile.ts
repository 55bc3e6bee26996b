/**
 * One sharded query in a loop, for profiles and quick comparisons (not part of `npm run bench`):
 *
 *   node --import tsx benchmarks/lib/sharded-profile.ts [s460|one] [scan|genes|gene] [RUNS] [--peer] [--threads] [--main-prof=FILE]
 *
 * Serves the sharded bench's stores (benchmarks/results/tmp/stores, written when missing) with
 * nginx and times the query on freshly opened arrays, after 3 untimed runs. Per run it also
 * reports the process's CPU time (every thread) and minor page faults. `--peer` runs zarrita +
 * withRangeCoalescing in this process too, after each zask run (the bench runs it in its own
 * process; this is for quick ratios). `--threads` prints the CPU time of each thread of the
 * process over the timed runs (from /proc: the main thread, the pool's workers, V8's helpers).
 * `--main-prof=FILE` writes the main thread's CPU profile of the timed runs (`.cpuprofile`) or
 * its sampled allocations, collected ones included (`.heapprofile`); `node --cpu-prof` profiles
 * the workers too.
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { fromZarr } from "@zask/array";
import { close } from "@zask/scheduler";
import * as zarr from "zarrita";
import { startLoggingServer } from "./nginx.ts";
import { ensureShardedStores } from "./sharded.ts";
import { median } from "./stats.ts";

const [storeArg = "s460", queryArg = "scan", runsArg = "15"] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const peer = process.argv.includes("--peer");
const profile = process.argv.find((a) => a.startsWith("--main-prof="))?.slice("--main-prof=".length);
const stores = join(new URL("../results/", import.meta.url).pathname, "tmp", "stores");
const { genes } = await ensureShardedStores(stores);
const server = await startLoggingServer(stores);
const url = `${server.url}sharded.c5.${storeArg}.zarr`;
const columns = queryArg === "gene" ? [3] : queryArg === "genes" ? genes : undefined;

/** Minor page faults of the process so far. */
const faults = (): number => Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[7]);

/** CPU ms of each thread of the process (utime + stime), minus `since`. */
function threadTimes(since?: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(tid === String(process.pid) ? "main" : `${name}#${tid}`, (Number(f[11]) + Number(f[12])) * 10); // USER_HZ 100
    } catch {
      // a thread that ended meanwhile
    }
  }
  if (since !== undefined) for (const [k, v] of since) out.set(k, (out.get(k) ?? 0) - v);
  return out;
}

interface Totals {
  ms: number[];
  cpu: number;
  faults: number;
}

/** Times `run` and adds its CPU time and page faults to `t`. */
async function measured(t: Totals, run: () => Promise<void>): Promise<void> {
  const f0 = faults();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  t.ms.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  t.cpu += (c.user + c.system) / 1000;
  t.faults += faults() - f0;
}

async function zask(t: Totals): Promise<void> {
  const x = await fromZarr(url);
  const q = columns === undefined ? x.mean({ axis: 0 }) : x.slice(null, columns);
  await measured(t, async () => void (await q.compute({ progress: false })));
}

async function zarrita(t: Totals): Promise<void> {
  const arr = (await zarr.open.v3(zarr.withRangeCoalescing(new zarr.FetchStore(url)), { kind: "array" })) as zarr.Array<"float32", zarr.Readable>;
  await measured(t, async () => {
    if (columns !== undefined) {
      await Promise.all(columns.map((j) => zarr.get(arr, [null, zarr.slice(j, j + 1)])));
      return;
    }
    const r = await zarr.get(arr, [null, null]);
    const [n, m] = r.shape as [number, number];
    const data = r.data as Float32Array;
    const acc = new Float64Array(m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) acc[j]! += data[i * m + j]!;
  });
}

const describe = (name: string, t: Totals): string =>
  `${name} ${median(t.ms).toFixed(1)} ms (per run ${(t.cpu / t.ms.length).toFixed(1)} ms CPU, ${(t.faults / t.ms.length).toFixed(0)} page faults)`;

try {
  const warm: Totals = { ms: [], cpu: 0, faults: 0 };
  for (let w = 0; w < 3; w++) {
    await zask(warm);
    if (peer) await zarrita(warm);
  }
  const session = profile === undefined ? undefined : new Session();
  if (session !== undefined) {
    session.connect();
    if (profile!.endsWith(".heapprofile")) {
      await session.post("HeapProfiler.enable");
      await session.post("HeapProfiler.startSampling", {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    } else {
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    }
  }
  const threads0 = threadTimes();
  const a: Totals = { ms: [], cpu: 0, faults: 0 };
  const b: Totals = { ms: [], cpu: 0, faults: 0 };
  for (let r = 0; r < Number(runsArg); r++) {
    await zask(a);
    if (peer) await zarrita(b);
  }
  if (process.argv.includes("--threads")) console.log(threadTimes(threads0));
  if (session !== undefined) {
    const { profile: p } = profile!.endsWith(".heapprofile") ? await session.post("HeapProfiler.stopSampling") : await session.post("Profiler.stop");
    writeFileSync(profile!, JSON.stringify(p));
  }
  const ratio = peer ? `, zask / zarrita ${(median(a.ms) / median(b.ms)).toFixed(2)}` : "";
  console.log(`${storeArg} ${queryArg}: ${describe("zask", a)}${peer ? `; ${describe("zarrita", b)}` : ""}${ratio}`);
} finally {
  await server.close();
  await close();
}
