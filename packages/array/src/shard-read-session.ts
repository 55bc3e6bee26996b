import { coalesceFor, planReads, type ByteRangeRequest, type CoalesceOptions, type ReadPlanner } from "@zask/scheduler";
import type { ShardIndex } from "./shard-index.js";
import type { IndexIo, InnerLocation, ShardedReader } from "./sharded-reader.js";
import type { ChunkIoContext } from "./zarr-store.js";

/** Options of a {@link ShardReadSession}. */
export interface ShardReadOptions {
  /** Coalescing thresholds (measured per origin when left out). */
  readonly coalesce?: CoalesceOptions | undefined;
  /** Requests in flight per origin. @default 16 */
  readonly concurrency?: number | undefined;
}

/**
 * The reads of one sharded array in one compute: which inner chunks the compute's tasks read,
 * grouped by shard. When the first task of a shard runs, the shard's index is read (or taken
 * from the cache), and every range the compute will read from that shard is declared to the
 * compute's {@link ReadPlanner} at once, so that it can dedupe and merge them before any is
 * requested; each task then reads its own range.
 *
 * State: `#byShard` (fixed) lists each shard's inner chunks in the compute, in block order;
 * `#declared` the shards already declared; `#planner` is made by the first read (it needs the
 * I/O lane). When a shard is declared, the next one is read ahead (index, first request).
 */
export class ShardReadSession {
  readonly reader: ShardedReader;
  readonly #byShard = new Map<string, InnerLocation[]>();
  /** The shard after each one, in block order. */
  readonly #next = new Map<string, string>();
  readonly #declared = new Set<string>();
  readonly #options: ShardReadOptions;
  #planner: ReadPlanner | undefined;

  constructor(reader: ShardedReader, blocks: Iterable<readonly number[]>, options: ShardReadOptions = {}) {
    this.reader = reader;
    this.#options = options;
    for (const coords of blocks) {
      const loc = reader.locate(coords);
      let list = this.#byShard.get(loc.shardKey);
      if (list === undefined) this.#byShard.set(loc.shardKey, (list = []));
      list.push(loc);
    }
    let previous: string | undefined;
    for (const key of this.#byShard.keys()) {
      if (previous !== undefined) this.#next.set(previous, key);
      previous = key;
    }
  }

  /** Inner chunk `coords`: `null` for the fill value. */
  async read(ctx: ChunkIoContext, coords: readonly number[]): Promise<Uint8Array | null> {
    const reader = this.reader;
    const loc = reader.locate(coords);
    const index = await reader.index(ctx, loc);
    const range = index?.entry(loc.entry);
    reader.countChunk(range === null || range === undefined);
    if (range === null || range === undefined) return null;
    this.#planner ??= reader.planner(ctx, { coalesce: this.#options.coalesce, concurrency: this.#options.concurrency });
    if (!this.#declared.has(loc.shardKey)) {
      this.#declared.add(loc.shardKey);
      this.#planner.declare(rangesOf(index!, this.#byShard.get(loc.shardKey) ?? []));
      this.#ahead(ctx, loc.shardKey);
    }
    return reader.readRange(this.#planner, loc, range);
  }

  /**
   * The tasks of one shard wait on its request holding their I/O slots: the next shard's index
   * is read now and its first request sent, so that the next shard is on its way meanwhile.
   */
  #ahead(ctx: ChunkIoContext, after: string): void {
    if (this.reader.store.kind === "store") return;
    const next = this.#next.get(after);
    if (next === undefined || this.#declared.has(next)) return;
    const locs = this.#byShard.get(next)!;
    this.reader.index(ctx, locs[0]!).then(
      (index) => {
        if (index === null || this.#declared.has(next) || ctx.signal.aborted) return;
        this.#declared.add(next);
        this.#planner!.declare(rangesOf(index, locs));
        this.#planner!.readAhead();
      },
      () => {}, // the shard's own tasks read the index again and report the error
    );
  }
}

function* rangesOf(index: ShardIndex, wanted: readonly InnerLocation[]): Iterable<ByteRangeRequest> {
  for (const loc of wanted) {
    const r = index.entry(loc.entry);
    if (r !== null) yield { object: loc.object, offset: r.offset, length: r.length };
  }
}

/** What reading some inner chunks of a sharded array costs (see {@link planShardedReads}). */
export interface ShardedReadPlan {
  /** Requests in all, index reads included. */
  requests: number;
  /** Bytes the store sends, index reads included. */
  bytes: number;
  /** Index requests among them. */
  indexRequests: number;
  indexBytes: number;
  /** Shards whose index is not cached: their requests and bytes are estimates. */
  unknownShards: number;
}

function byShard(reader: ShardedReader, blocks: Iterable<readonly number[]>): Map<string, InnerLocation[]> {
  const out = new Map<string, InnerLocation[]>();
  for (const coords of blocks) {
    const loc = reader.locate(coords);
    let list = out.get(loc.shardKey);
    if (list === undefined) out.set(loc.shardKey, (list = []));
    list.push(loc);
  }
  return out;
}

/**
 * Read the indexes of the shards that `blocks` touch and that are not cached yet (they are
 * cached then, so a compute does not read them again): the requests and bytes that took.
 */
export async function readShardIndexes(
  reader: ShardedReader,
  blocks: Iterable<readonly number[]>,
  io: IndexIo,
): Promise<{ requests: number; bytes: number; read: number }> {
  const counters = reader.store.counters;
  const before = { requests: counters.requests, bytes: counters.bytes };
  const missing = [...byShard(reader, blocks)].filter(([key]) => reader.cachedIndex(key) === undefined);
  await Promise.all(missing.map(([, locs]) => reader.index(io, locs[0]!)));
  return { requests: counters.requests - before.requests, bytes: counters.bytes - before.bytes, read: missing.length };
}

/**
 * The requests and bytes a compute makes to read `blocks` (inner chunk coords) of `reader`'s
 * array, from the cached shard indexes and the coalescing thresholds in force now: exact when
 * every index is cached; an uncached shard is estimated as its index plus one request per inner
 * chunk of uncompressed size.
 */
export function planShardedReads(reader: ShardedReader, blocks: Iterable<readonly number[]>, coalesce?: CoalesceOptions): ShardedReadPlan {
  const out: ShardedReadPlan = { requests: 0, bytes: 0, indexRequests: 0, indexBytes: 0, unknownShards: 0 };
  const ranges: ByteRangeRequest[] = [];
  for (const [shardKey, locs] of byShard(reader, blocks)) {
    const index = reader.cachedIndex(shardKey);
    if (index === undefined) {
      out.unknownShards++;
      out.indexRequests++;
      out.indexBytes += reader.layout.indexSize;
      out.requests += locs.length;
      out.bytes += locs.length * reader.innerBytes;
      continue;
    }
    if (index === null) continue;
    for (const loc of locs) {
      const r = index.entry(loc.entry);
      if (r !== null) ranges.push({ object: loc.object, offset: r.offset, length: r.length });
    }
  }
  // other zarrita stores get each range alone
  const reads = reader.store.kind === "store" ? planReads(ranges, () => ({ maxGap: -1, maxBytes: 0 })) : planReads(ranges, coalesceFor(coalesce));
  out.requests += reads.length + out.indexRequests;
  out.bytes += reads.reduce((a, r) => a + r.length, 0) + out.indexBytes;
  return out;
}
