import { join } from "node:path";
import { readFileSync } from "node:fs";
import { startLoggingServer } from "./nginx.ts";
import { ZaskSession } from "./zask-queries.ts";
import { close } from "@zask/scheduler";
import { median } from "./stats.ts";
const STORES = join(new URL("../results/", import.meta.url).pathname, "tmp", "stores");
const server = await startLoggingServer(STORES, { prefer: "nginx" });
const query = (process.argv[2] ?? "one_gene") as never;
const s = new ZaskSession(`${server.url}${process.env.STORE ?? "csr"}.zarr`, { gene: "C1orf86", oneCell: 1318 });
await s.run("open");
for (let i = 0; i < Number(process.env.WARM ?? 5); i++) await s.run(query);
if (process.env.PAUSE) { console.log("PAUSED"); await new Promise((r) => setTimeout(r, 1500)); }
const faults = (): number => Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[7]);
const { Session } = await import("node:inspector/promises"); const session = new Session(); session.connect(); if (process.env.PROF) { await session.post("Profiler.enable"); await session.post("Profiler.start"); }
if (process.env.HEAPP) { await session.post("HeapProfiler.enable"); await session.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }); }
const ms: number[] = []; let f = 0;
if (process.env.SNAPMID) {
  const v8 = await import("node:v8");
  const p = s.run(query);
  await new Promise((r) => setTimeout(r, Number(process.env.SNAPMID)));
  v8.writeHeapSnapshot("/tmp/mid.heapsnapshot");
  await p;
  v8.writeHeapSnapshot("/tmp/after.heapsnapshot");
}
const runs = Number(process.argv[3] ?? 30); globalThis.__dec = 0; globalThis.__gat = 0;
const dd: number[] = [], gg: number[] = [];
for (let i = 0; i < runs; i++) { const f0 = faults(); const d0 = globalThis.__dec, g0 = globalThis.__gat; globalThis.__tl = []; const t0 = performance.now(); ms.push((await s.run(query)).ms); globalThis.__ff=(globalThis.__ff??[]); globalThis.__ff.push(faults()-f0); const t1 = performance.now(); const tl = globalThis.__tl; const sends = tl.filter((e) => e[0] === "send").map((e) => e[1] - t0), dones = tl.filter((e) => e[0] === "done").map((e) => e[1] - t0); if (process.env.TL) console.log(`run ${(t1 - t0).toFixed(1)} sends ${sends.length} first ${sends[0]?.toFixed(1)} last ${sends.at(-1)?.toFixed(1)}; dones first ${dones[0]?.toFixed(1)} last ${dones.at(-1)?.toFixed(1)}; dec ${(globalThis.__dec - d0).toFixed(1)} gat ${(globalThis.__gat - g0).toFixed(1)}`); dd.push(globalThis.__dec - d0); gg.push(globalThis.__gat - g0); f += faults() - f0; await new Promise((r) => setTimeout(r, 20)); }
if (process.env.HEAPP) { const { profile } = await session.post("HeapProfiler.stopSampling"); (await import("node:fs")).writeFileSync(process.env.HEAPP, JSON.stringify(profile)); }
if (process.env.PROF) { const { profile } = await session.post("Profiler.stop"); (await import("node:fs")).writeFileSync(process.env.PROF, JSON.stringify(profile)); }
console.log(`dec ${median(dd).toFixed(2)} gat ${median(gg).toFixed(2)}; dec runs ${dd.map((x) => x.toFixed(1)).join(" ")}`);
console.log(`csr ${query}: median ${median(ms).toFixed(1)} ms, ${(f / runs).toFixed(0)} faults/run; runs ${ms.map((x,i) => x.toFixed(0)+'/'+globalThis.__ff[i]).join(" ")}`);
await server.close(); await close();
