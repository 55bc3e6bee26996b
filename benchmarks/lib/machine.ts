import { cpus, totalmem } from "node:os";

/** The machine a benchmark ran on, as fields. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

/**
 * Describes this machine: CPU model, logical cores, memory, Node version, OS.
 *
 * @example
 * ```ts
 * machineInfo(); // { cpu: "AMD EPYC 7B13", cores: 2, memoryGiB: 7.8, node: "v20.20.2", platform: "linux x64" }
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
  };
}

/**
 * The same as one line, to print above every set of figures.
 *
 * @example
 * ```ts
 * describeMachine(); // "AMD EPYC 7B13, 2 cores, 7.8 GiB, node v20.20.2, linux x64"
 * ```
 */
export function describeMachine(info: MachineInfo = machineInfo()): string {
  return `${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, node ${info.node}, ${info.platform}`;
}
