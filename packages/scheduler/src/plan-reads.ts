/** One read a task asks for: `length` bytes of `object` (an http(s) URL or a local path) from `offset`. */
export interface ByteRangeRequest {
  readonly object: string;
  readonly offset: number;
  readonly length: number;
}

/** How far ranges of one object are merged into one request. */
export interface CoalesceOptions {
  /** Merge two ranges when the bytes between them are at most this many. @default measured: round-trip time × bandwidth of the origin */
  readonly maxGap?: number;
  /** Never merge into a request longer than this (overlapping ranges excepted). @default 32 MiB */
  readonly maxBytes?: number;
  /**
   * Never merge across a gap that would make the bytes between the ranges of one request more
   * than this fraction of the bytes asked for in it (touching and overlapping ranges excepted).
   * @default 0.25
   */
  readonly maxWaste?: number;
}

/** A request the planner sends: one contiguous range of one object, serving one or more asked-for ranges. */
export interface PlannedRead {
  readonly object: string;
  readonly offset: number;
  readonly length: number;
  /** The distinct ranges it serves (identical requests appear once), in order of offset. */
  readonly parts: readonly { readonly offset: number; readonly length: number }[];
}

/** The default bound of one merged request. */
export const DEFAULT_MAX_BYTES = 32 * 2 ** 20;
/** The default bound of the bytes a merged request downloads only to skip them. */
export const DEFAULT_MAX_WASTE = 0.25;

/**
 * The requests that serve `requests`: identical ranges deduped, and ranges of one object
 * merged, in order of offset, while the gap to the next one is at most `maxGap` bytes, the
 * merged request stays within `maxBytes`, and its skipped bytes within `maxWaste` of the bytes
 * asked for; ranges that touch (gap 0) always merge within `maxBytes`, and ranges that overlap
 * always merge. Objects keep the order in which they first
 * appear. Pure: `plan()` and a compute make the same requests from the same ranges.
 *
 * @example
 * ```ts
 * planReads([{ object: "http://h/s/c/0", offset: 0, length: 10 }, { object: "http://h/s/c/0", offset: 12, length: 4 }], () => ({ maxGap: 8 }));
 * // [{ object: "http://h/s/c/0", offset: 0, length: 16, parts: [{ offset: 0, length: 10 }, { offset: 12, length: 4 }] }]
 * ```
 */
export function planReads(requests: Iterable<ByteRangeRequest>, coalesce: (object: string) => CoalesceOptions): PlannedRead[] {
  const byObject = new Map<string, Map<string, { offset: number; length: number }>>();
  for (const r of requests) {
    checkRange(r);
    let ranges = byObject.get(r.object);
    if (ranges === undefined) byObject.set(r.object, (ranges = new Map()));
    const id = `${r.offset}:${r.length}`;
    if (!ranges.has(id)) ranges.set(id, { offset: r.offset, length: r.length });
  }
  const out: PlannedRead[] = [];
  for (const [object, ranges] of byObject) {
    const { maxGap = 0, maxBytes = DEFAULT_MAX_BYTES, maxWaste = DEFAULT_MAX_WASTE } = coalesce(object);
    const sorted = [...ranges.values()].sort((a, b) => a.offset - b.offset || a.length - b.length);
    let parts = [sorted[0]!];
    let start = sorted[0]!.offset;
    let end = start + sorted[0]!.length;
    let skipped = 0;
    for (let i = 1; i < sorted.length; i++) {
      const r = sorted[i]!;
      const gap = r.offset - end;
      const merged = Math.max(end, r.offset + r.length) - start;
      const waste = skipped + Math.max(gap, 0);
      if (gap < 0 || (gap <= maxGap && merged <= maxBytes && (gap === 0 || waste <= maxWaste * (merged - waste)))) {
        parts.push(r);
        end = start + merged;
        skipped = waste;
      } else {
        out.push({ object, offset: start, length: end - start, parts });
        parts = [r];
        start = r.offset;
        end = r.offset + r.length;
        skipped = 0;
      }
    }
    out.push({ object, offset: start, length: end - start, parts });
  }
  return out;
}

function checkRange(r: ByteRangeRequest): void {
  if (typeof r.object !== "string" || r.object === "") {
    throw new TypeError(`Expected \`object\` to be a URL or a path, got \`${String(r.object)}\` (${typeof r.object})`);
  }
  if (!Number.isSafeInteger(r.offset) || r.offset < 0) {
    throw new RangeError(`Expected \`offset\` to be a non-negative integer, got \`${String(r.offset)}\` (${typeof r.offset})`);
  }
  if (!Number.isSafeInteger(r.length) || r.length < 1) {
    throw new RangeError(`Expected \`length\` to be a positive integer, got \`${String(r.length)}\` (${typeof r.length})`);
  }
}
