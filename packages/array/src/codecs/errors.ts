import { ZaskError } from "@zask/graph";
// The light entry point: worker threads load these errors without the whole scheduler.
import { registerErrorClass } from "@zask/scheduler/error-transfer";

/**
 * A blosc chunk that cannot be decoded: truncated, corrupt, or of a format version zask does
 * not read. `offset` is the byte offset in the chunk where the problem was found.
 *
 * @example
 * ```ts
 * try { decodeBlosc(bytes); } catch (e) { if (e instanceof BloscError) console.error(e.offset, e.reason); }
 * ```
 */
export class BloscError extends ZaskError {
  override name = "BloscError" as const;
  /** Byte offset in the compressed chunk where decoding failed. */
  readonly offset: number;
  /** What was wrong there. */
  readonly reason: string;
  constructor(offset: number, reason: string, options?: { cause?: unknown }) {
    super(`Corrupt blosc chunk at byte ${offset}: ${reason}`, options);
    this.offset = offset;
    this.reason = reason;
  }
}

// Rebuilt with their class when thrown on a worker thread or another process.
registerErrorClass("BloscError", BloscError);
