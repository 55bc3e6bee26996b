import type { Callbacks, FinishInfo, TaskInfo } from "./callbacks.js";
import type { IoStats } from "./io-lane.js";

/** Totals of one lane in a {@link Profiler}'s summary. */
export interface LaneSummary {
  tasks: number;
  /** Sum of task durations, ms (tasks of one lane overlap, so this can exceed the wall time). */
  time: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Records every task of a compute (lane, start, duration, bytes in and out, bytes held) and
 * the compute's totals; `summary()` adds them up per lane.
 *
 * @example
 * ```ts
 * const prof = new Profiler();
 * await compute(graph, keys, { callbacks: [prof] });
 * console.log(prof.summary(), prof.peakHeldBytes);
 * ```
 */
export class Profiler implements Callbacks {
  /** One record per task, in completion order. */
  tasks: TaskInfo[] = [];
  /** The most bytes held by results at once. */
  peakHeldBytes = 0;
  /** Wall time of the last compute, ms. */
  elapsed = 0;
  /** I/O lane counters of the last compute. */
  io: IoStats = { requests: 0, retries: 0, bytes: 0, maxInFlight: 0 };

  start(): void {
    this.tasks = [];
  }

  posttask(_key: string, _value: unknown, info: TaskInfo): void {
    this.tasks.push(info);
  }

  finish(info: FinishInfo): void {
    this.peakHeldBytes = info.peakHeldBytes;
    this.elapsed = info.elapsed;
    this.io = { ...info.io };
  }

  /** Totals per lane (`data`, `inline`, `io`, `pool`, and fused combinations such as `io+pool`). */
  summary(): Record<string, LaneSummary> {
    const out: Record<string, LaneSummary> = {};
    for (const t of this.tasks) {
      const s = (out[t.lane] ??= { tasks: 0, time: 0, bytesIn: 0, bytesOut: 0 });
      s.tasks++;
      s.time += t.duration;
      s.bytesIn += t.bytesIn;
      s.bytesOut += t.bytesOut;
    }
    return out;
  }
}
