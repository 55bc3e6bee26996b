/**
 * Runs the overhead workload of benchmarks/scheduler.bench.ts a few times in one mode, for a
 * CPU profile: `node --import tsx --cpu-prof benchmarks/scheduler-profile.ts sync|threads|pool`.
 * Prints each run's wall and CPU time.
 */
import { close, compute, type ComputeOptions } from "@zask/scheduler";
import { treeSum } from "./scheduler-workload.ts";

const mode = process.argv[2] ?? "sync";
const runs = Number(process.argv[3] ?? 6);
const options: ComputeOptions = mode === "sync" ? { scheduler: "sync" } : mode === "pool" ? { inlineThreshold: 0 } : { scheduler: "threads" };
const { graph, key, tasks } = treeSum();
for (let r = 0; r < runs; r++) {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await compute(graph, [key], { progress: false, ...options });
  const wall = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  console.log(`${mode}: ${wall.toFixed(1)} ms wall (${((wall * 1000) / tasks).toFixed(2)} µs/task), ${((used.user + used.system) / 1000).toFixed(1)} ms CPU`);
}
await close();
