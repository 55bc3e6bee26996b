// What a BullMQ job carries each way (JSON, as BullMQ stores it; binary payloads in base64).
import type { PlainError } from "../error-transfer.js";

/** A job's data: one task. */
export interface JobData {
  /** The task's key. */
  readonly k: string;
  /** Its (first) op's printable name. */
  readonly o: string;
  /** The encoded task, base64. */
  readonly p: string;
  /** Results larger than this many bytes go to the scratch directory (when there is one). */
  readonly l: number;
  /** The scratch directory shared by the workers, if any. */
  readonly s?: string;
}

/** A job's return value: the encoded result (base64), or where the worker wrote it. */
export type JobResult = { readonly w: string; readonly v: string } | { readonly w: string; readonly f: string; readonly n: number };

/** What a worker's failure reports (the job's failed reason, JSON). */
export interface JobFailure {
  readonly w: string;
  /** The op that threw and, in a fused task, its step's key. */
  readonly o?: string;
  readonly st?: string;
  /** What the op threw, as plain data: rebuilt on the client with its class and fields (`errorFromPlain`). */
  readonly e: PlainError;
  /** Attempts made, this one included; `final` when no attempt is left. */
  readonly a: number;
  readonly final: boolean;
}

/** A worker's name: host and process id. */
export function workerName(host: string, pid: number): string {
  return `${host}:${pid}`;
}
