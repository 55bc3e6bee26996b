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

/** Shard indexes read ahead of the last shard a task has read from. */
const INDEXES_AHEAD = 8;

/**
 * The reads of one sharded array in one compute: which inner chunks the compute's tasks read,
 * grouped by shard. A shard's index is read (or taken from the cache) before its first task
 * runs, and every range the compute will read from that shard is declared to the compute's
 * {@link ReadPlanner} at once, so that it can dedupe and merge them before any is requested;
 * each task then reads its own range.
 *
 * State: `#byShard` (fixed) lists each shard's inner chunks in the compute, in block order, and
 * `#order` its shards in that order; `#declared` holds the shards already declared; `#planner`
 * is made by the first read (it needs the I/O lane). The indexes of the next
 * {@link INDEXES_AHEAD} shards after the furthest one a task has read from (`#reached`) are
 * read at once (`#requested`: up to where), each shard declared as its index arrives, so that
 * a compute over many shards does not wait a round trip per index; the planner sends their
 * requests ahead of the tasks within its read-ahead budget. {@link prefetch} asks for the
 * first ones before any task runs; those that arrive before the first read made the planner
 * wait in `#early`.
 */
export class ShardReadSession {
  readonly reader: ShardedReader;
  readonly #byShard = new Map<string, InnerLocation[]>();
  /** Shard keys in block order, and each one's position there. */
  readonly #order: string[];
  readonly #position = new Map<string, number>();
  readonly #declared = new Set<string>();
  /** The furthest position a task has read from (-1: prefetched only), and the end of the positions whose index was asked for. */
  #reached = -2;
  #requested = 0;
  /** Indexes that arrived before the planner was made, declared when it is. */
  readonly #early = new Map<string, ShardIndex>();
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
    this.#order = [...this.#byShard.keys()];
    this.#order.forEach((key, k) => this.#position.set(key, k));
  }

  /**
   * Ask for the indexes of the first {@link INDEXES_AHEAD} shards now, through `io`, before
   * any task runs: the compute's tasks find them read or on their way.
   */
  prefetch(io: IndexIo): void {
    this.#ahead(io, -1);
  }

  /** Inner chunk `coords`: `null` for the fill value. */
  async read(ctx: ChunkIoContext, coords: readonly number[]): Promise<Uint8Array | null> {
    const reader = this.reader;
    const loc = reader.locate(coords);
    const index = await reader.index(ctx, loc);
    const range = index?.entry(loc.entry);
    reader.countChunk(range === null || range === undefined);
    if (range === null || range === undefined) return null;
    let planner = this.#planner;
    if (planner === undefined) {
      planner = this.#planner = reader.planner(ctx, { coalesce: this.#options.coalesce, concurrency: this.#options.concurrency });
      for (const [key, early] of this.#early) this.#declare(key, early);
      this.#early.clear();
    }
    this.#declare(loc.shardKey, index!);
    this.#ahead(ctx, this.#position.get(loc.shardKey) ?? -1);
    return reader.readRange(planner, loc, range);
  }

  /**
   * The compute that read through this session has succeeded: its planner's shared bodies go
   * back for later reads to fill ({@link ReadPlanner.release}).
   */
  release(): void {
    this.#planner?.release();
  }

  /** Declare the ranges the compute reads from shard `shardKey` (once). */
  #declare(shardKey: string, index: ShardIndex): void {
    if (this.#declared.has(shardKey)) return;
    this.#declared.add(shardKey);
    this.#planner!.declare(rangesOf(index, this.#byShard.get(shardKey) ?? []));
  }

  /**
   * A task has read from the shard at position `at` (-1: none yet): the indexes of the next
   * shards are read now, and each shard is declared as its index arrives and its first
   * requests sent ahead, so that the next shards are on their way while the tasks of this one
   * wait and run.
   */
  #ahead(io: IndexIo, at: number): void {
    if (this.reader.store.kind === "store" || at <= this.#reached) return;
    this.#reached = at;
    const end = Math.min(this.#order.length, at + 1 + INDEXES_AHEAD);
    for (; this.#requested < end; this.#requested++) {
      if (this.#requested <= at) continue;
      const key = this.#order[this.#requested]!;
      if (this.#declared.has(key)) continue;
      const locs = this.#byShard.get(key)!;
      this.reader.index(io, locs[0]!).then(
        (index) => {
          if (index === null || io.signal.aborted) return;
          if (this.#planner === undefined) {
            this.#early.set(key, index);
            return;
          }
          this.#declare(key, index);
          this.#planner.readAhead();
        },
        () => {}, // the shard's own tasks read the index again and report the error
      );
    }
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
