// The lines of a stored sparse matrix that run across a chunk boundary, carried as raw parts by
// the per-chunk-pair partials of a reduction that is not linear in the stored values (var, min,
// max, nonzero counts): a line may store an index twice, once in each chunk, and only a step
// that holds every part of the line can add the two up before folding it in. The tree's
// combine steps merge the parts and fold each line once all of it has arrived.
import type { DataType } from "../dtype.js";
import { canonicalEntries } from "./sparse-canonical.js";

/** The stored values of one line that lie in one chunk, as read there, not yet folded in. */
export interface LinePart {
  /** Which line: its position in the read (a line read twice is two lines). */
  readonly id: number;
  /** How many values the whole line stores, across its chunks. */
  readonly length: number;
  readonly indices: Int32Array;
  /** The values, exact in float64 (the pair reductions take no 64-bit integers). */
  readonly values: Float64Array;
}

/** The parts a partial carries, and what folding them needs. */
export interface LineParts {
  readonly parts: readonly LinePart[];
  readonly dtype: Exclude<DataType, "string">;
  readonly minor: number;
  /** Each value into the slot of its index (the major axis reduced), else all into one. */
  readonly byIndex: boolean;
  readonly shape: readonly number[];
}

/** A line's entries, each index once, to fold in as a chunk pair's stored values are. */
export interface LineEntries {
  readonly indices: Int32Array;
  readonly values: Float64Array;
}

/**
 * Merges the parts of `all` by line: the lines every part of which is here come back summed
 * (each index once, see canonicalEntries) in `complete`, all their entries together; the parts
 * of the others in `pending`, for a later combine step.
 *
 * @example
 * ```ts
 * // line 7 stores 4 values: 2 in one chunk, 2 in the next
 * mergeLineParts([left.lines, right.lines]); // { complete: { indices, values } of line 7 }
 * ```
 */
export function mergeLineParts(all: readonly LineParts[]): { complete?: LineEntries; pending?: LineParts } {
  const first = all[0]!;
  const lines = new Map<number, LinePart[]>();
  for (const { parts } of all) {
    for (const part of parts) {
      const line = lines.get(part.id);
      if (line === undefined) lines.set(part.id, [part]);
      else line.push(part);
    }
  }
  const done: LineEntries[] = [];
  const pending: LinePart[] = [];
  for (const parts of lines.values()) {
    const held = parts.reduce((s, p) => s + p.indices.length, 0);
    if (held < parts[0]!.length) pending.push(...parts);
    else
      done.push(
        canonicalEntries(
          parts.map((p) => p.indices),
          parts.map((p) => p.values),
          first.dtype,
        ),
      );
  }
  const out: { complete?: LineEntries; pending?: LineParts } = {};
  if (pending.length > 0) out.pending = { ...first, parts: pending };
  if (done.length > 0) {
    const n = done.reduce((s, d) => s + d.indices.length, 0);
    const indices = new Int32Array(n);
    const values = new Float64Array(n);
    let at = 0;
    for (const d of done) {
      indices.set(d.indices, at);
      values.set(d.values, at);
      at += d.indices.length;
    }
    out.complete = { indices, values };
  }
  return out;
}
