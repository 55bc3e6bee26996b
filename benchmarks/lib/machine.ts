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
}

/**
 * Describes this machine: CPU model, logical cores, memory, Node version, OS.
 *
 * @example
 * ```ts
 * machineInfo(); // { cpu: "AMD EPYC 7B13", cores: 2, memoryGiB: 7.8, node: "v20.20.2", platform: "linux x64", load1: 0.4 }
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
  };
}

/**
 * The same as one line, to print above every set of figures.
 *
 * @example
 * ```ts
 * describeMachine(); // "AMD EPYC 7B13, 2 cores, 7.8 GiB, node v20.20.2, linux x64, load 0.4"
 * ```
 */
export function describeMachine(info: MachineInfo = machineInfo()): string {
  return `${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, node ${info.node}, ${info.platform}, load ${info.load1}`;
}
