/**
 * What reads of one origin (an http(s) origin, or `file:` for local files) have shown of its
 * round-trip time and bandwidth, from which the read planner sets how large a gap between two
 * ranges is still cheaper to download than a second request.
 *
 * State: `rtt` is the shortest duration seen of a small read (queueing only lengthens a read,
 * so the minimum is the closest to the round trip); `bandwidth` a moving average of bytes per
 * second over large reads, their round trip taken off. Both change only in `record`.
 */
export class OriginStats {
  /** Milliseconds; `undefined` until a small read was seen. */
  rtt: number | undefined;
  /** Bytes per second; `undefined` until a large read was seen. */
  bandwidth: number | undefined;

  /** One read of `bytes` that took `ms`, queueing included. */
  record(ms: number, bytes: number): void {
    if (!(ms >= 0) || !(bytes >= 0)) return;
    if (bytes <= SMALL_READ) this.rtt = this.rtt === undefined ? ms : Math.min(this.rtt, ms);
    else if (bytes >= LARGE_READ) {
      const transfer = Math.max(ms - (this.rtt ?? 0), 0.01);
      const bw = (bytes / transfer) * 1000;
      this.bandwidth = this.bandwidth === undefined ? bw : 0.7 * this.bandwidth + 0.3 * bw;
    }
  }

  /**
   * The gap (bytes) that costs as much to download as one round trip, clamped to
   * [{@link MIN_GAP}, {@link MAX_GAP}] and rounded down to a power of two (so that small
   * swings of the measurements do not change plans); {@link DEFAULT_GAP} before any read.
   */
  maxGap(): number {
    if (this.rtt === undefined) return DEFAULT_GAP;
    const bytes = (this.rtt / 1000) * (this.bandwidth ?? DEFAULT_BANDWIDTH);
    const clamped = Math.min(MAX_GAP, Math.max(MIN_GAP, bytes));
    return 2 ** Math.floor(Math.log2(clamped));
  }
}

const SMALL_READ = 64 * 1024;
const LARGE_READ = 512 * 1024;
/** The gap threshold before anything was measured (zarrita's coalescing uses 32 KiB). */
export const DEFAULT_GAP = 64 * 1024;
export const MIN_GAP = 4 * 1024;
export const MAX_GAP = 8 * 2 ** 20;
const DEFAULT_BANDWIDTH = 100e6;
const MAX_ORIGINS = 256;

const origins = new Map<string, OriginStats>();

/** The origin of `object`: `scheme://host:port` of a URL, `file:` for a local path. */
export function originOf(object: string): string {
  if (/^https?:\/\//i.test(object)) return new URL(object).origin;
  return "file:";
}

/** The stats of `origin`, kept for the process (a bounded number of origins, oldest dropped). */
export function originStats(origin: string): OriginStats {
  let s = origins.get(origin);
  if (s === undefined) {
    if (origins.size >= MAX_ORIGINS) origins.delete(origins.keys().next().value!);
    origins.set(origin, (s = new OriginStats()));
  }
  return s;
}
