import { execFileSync } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";

/** The machine a benchmark ran on, as fields. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1-minute load average when measured: figures taken under load (shared machines) are noisy. */
  load1: number;
  /**
   * What touching one fresh page of memory costs here, µs (median of three 16 MiB allocations
   * in a child process).
   * Virtual machines that hand freed pages back to their host pay far more than bare metal, and
   * every reader pays it for each page of new memory a query touches.
   */
  pageFaultMicros?: number | undefined;
}

/**
 * Describes this machine: CPU model, logical cores, memory, Node version, OS.
 *
 * @example
 * ```ts
 * machineInfo(); // { cpu: "AMD EPYC 7B13", cores: 2, memoryGiB: 7.8, node: "v20.20.2", platform: "linux x64", load1: 0.4, pageFaultMicros: 12 }
 * ```
 */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpu: (list[0]?.model ?? "unknown cpu").replace(/\s+/g, " ").trim(),
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    load1: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    pageFaultMicros: pageFaultMicros(),
  };
}

let measuredFaultMicros: number | undefined;

// Run in a child process: freeing big buffers here would change this process's allocator
// (glibc raises its mmap and trim thresholds after freeing a large mapping), and with it the
// page faults of the queries measured in this process.
const FAULT_SCRIPT = `
const perFault = [];
for (let round = 0; round < 3; round++) {
  const bytes = new Uint8Array(16 * 2 ** 20);
  const faults = process.resourceUsage().minorPageFault;
  const start = performance.now();
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = 1;
  const ms = performance.now() - start;
  const n = process.resourceUsage().minorPageFault - faults;
  if (n > 0) perFault.push((ms * 1000) / n);
}
perFault.sort((a, b) => a - b);
process.stdout.write(String(perFault[perFault.length >> 1] ?? ""));
`;

/** µs per minor page fault on fresh memory (median of three 16 MiB allocations in a child), measured once per process. */
function pageFaultMicros(): number | undefined {
  if (measuredFaultMicros !== undefined) return measuredFaultMicros;
  try {
    const out = Number(execFileSync(process.execPath, ["-e", FAULT_SCRIPT], { encoding: "utf8", timeout: 30_000 }));
    if (Number.isFinite(out) && out > 0) measuredFaultMicros = Math.round(out * 10) / 10;
  } catch {
    // not measured: the figures say so
  }
  return measuredFaultMicros;
}

/**
 * The same as one line, to print above every set of figures.
 *
 * @example
 * ```ts
 * describeMachine(); // "AMD EPYC 7B13, 2 cores, 7.8 GiB, node v20.20.2, linux x64, load 0.4, 12 µs per fresh page"
 * ```
 */
export function describeMachine(info: MachineInfo = machineInfo()): string {
  const fault = info.pageFaultMicros === undefined ? "" : `, ${info.pageFaultMicros} µs per fresh page`;
  return `${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, node ${info.node}, ${info.platform}, load ${info.load1}${fault}`;
}
