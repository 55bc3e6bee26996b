import { Blockwise, cull, fuse, parseKey, type Graph } from "@zask/graph";
import { IoLane, projectTaskMemory, type CoalesceOptions, type MemoryPlan, type OutputBytes } from "@zask/scheduler";
import type { Array } from "./array.js";
import { finalizeGraph } from "./compute.js";
import { blocksOf, shardedLayers } from "./read-sessions.js";
import { planShardedReads, readShardIndexes } from "./shard-read-session.js";
import { outputBytesOf, wholeBytes } from "./task-memory.js";
import { ZarrStore } from "./zarr-store.js";

/** What a `from-zarr` fetch layer tells `plan()`: its store and how to name and size chunks. */
export interface ZarrLayerInfo {
  readonly store: ZarrStore;
  /** The store key of chunk `coords` (`X/0.3`). */
  chunkKey(coords: readonly number[]): string;
  /** Uncompressed bytes of one chunk. */
  readonly chunkBytes: number;
}

/** One store's part of a {@link Plan}. */
export interface StorePlan {
  /** The store's URL or path. */
  readonly store: string;
  /** Chunk requests a compute will make (chunks in a chunk cache are not requested). */
  readonly requests: number;
  /** Uncompressed bytes of those chunks. */
  readonly bytes: number;
  /** Chunks a chunk cache will serve. */
  readonly cached: number;
  /** Bytes the store will send, for sharded arrays (ranged reads, index reads included); `undefined` for whole-chunk reads. */
  readonly readBytes?: number;
}

/** The shard index reads of a {@link Plan} (sharded arrays). */
export interface IndexReads {
  /** Index requests counted in the plan's `requests` (and their bytes in `readBytes`). */
  readonly requests: number;
  readonly bytes: number;
  /** How many of them `planAsync()` made itself: their indexes are cached now, and the compute will not read them again. */
  readonly readByPlan: number;
}

/** What a compute will cost (`x.plan()`). */
export interface Plan {
  /** Tasks the scheduler will run after cull and fuse (the final assembly included). */
  readonly tasks: number;
  /** Chunk requests over all stores. */
  readonly requests: number;
  /** Uncompressed bytes of the requested chunks over all stores. */
  readonly bytes: number;
  readonly stores: readonly StorePlan[];
  /**
   * Round trips the requests will cost: per origin, the waves of at most `httpConcurrency`
   * requests in flight (stores of one origin share its bound), the largest over origins, since
   * origins are fetched in parallel. Local stores cost none. Times the round-trip time, it is
   * the least the compute can take.
   */
  readonly roundTrips: number;
  /**
   * Bytes the stores will send, where known before the compute (sharded arrays, and 0 for a
   * selection of one that reads nothing); `undefined` otherwise.
   */
  readonly readBytes?: number;
  /** Shard index reads (sharded arrays only). */
  readonly indexes?: IndexReads;
  /**
   * Whether the counts are exact. Only `plan()` of a sharded array whose shard indexes are not
   * cached is not (it then counts one request per inner chunk, uncompressed); `planAsync()`
   * reads those indexes and is exact.
   */
  readonly exact: boolean;
  /** Bytes of dense blocks made from sparse ones (an op that does not keep zeros at zero). */
  readonly densifiedBytes: number;
  /**
   * Each task's projected peak memory, bytes (`memory.tasks`, by key), and the largest
   * (`memory.largest`: key, op, bytes), which `compute({ maxTaskMemory })` checks: the values
   * of the task's inputs, plus every value its fused steps make (a fetched chunk counted at its
   * uncompressed size, the decoded block, a selection of it), from chunk shapes and dtypes.
   * Not counted: an op's scratch space beyond the values it returns, the runtime's own overhead,
   * values whose size no layer states (`memory.unsized`: string arrays, layers made outside the
   * array builders); sparse blocks are counted as dense, which bounds them.
   */
  readonly memory: MemoryPlan;
}

/** Options of `plan()`. */
export interface PlanOptions {
  /** Count tasks after fusion, as compute does by default. @default true */
  optimize?: boolean;
  /** Requests in flight per origin, as given to `compute()`, for `roundTrips`. @default 16 */
  httpConcurrency?: number;
  /** The read planner's thresholds, as given to `compute()`. */
  coalesce?: CoalesceOptions;
  /** Aborts the index reads of `planAsync()`. */
  signal?: AbortSignal;
}

/** The fetch layers of `graph` (their `zarr` annotation). */
function zarrLayers(graph: Graph): [Blockwise, ZarrLayerInfo][] {
  const out: [Blockwise, ZarrLayerInfo][] = [];
  for (const layer of graph.layers.values()) {
    const info = layer.annotations["zarr"] as ZarrLayerInfo | undefined;
    if (info !== undefined && layer instanceof Blockwise) out.push([layer, info]);
  }
  return out;
}

/** The zarr stores a graph reads. */
export function storesOf(graph: Graph): ZarrStore[] {
  return [...new Set([...zarrLayers(graph).map(([, info]) => info.store), ...shardedLayers(graph).map(([, reader]) => reader.store)])];
}

/**
 * `x.plan()`: cull the graph to what computing `x` needs and count, from metadata alone,
 * the chunks each store will be asked for and their uncompressed bytes.
 */
export function planArray(x: Array, options: PlanOptions = {}): Plan {
  const { graph, key } = finalizeGraph(x);
  return planCulled(cull(graph, [key]), key, options, undefined, outputBytesOf(graph, new Map([[key, wholeBytes(x)]])), shardedLayers(graph).length > 0);
}

/**
 * `x.planAsync()`: {@link planArray}, after reading the shard indexes the compute needs and
 * that are not cached (they are metadata; counted in the plan, and the compute does not read
 * them again): exact for sharded arrays too.
 */
export async function planArrayAsync(x: Array, options: PlanOptions = {}): Promise<Plan> {
  const { graph, key } = finalizeGraph(x);
  const culled = cull(graph, [key]);
  const layers = shardedLayers(culled);
  const read = new Map<ZarrStore, { requests: number; bytes: number; read: number }>();
  if (layers.length > 0) {
    const lane = new IoLane({ signal: options.signal });
    for (const [layer, reader] of layers) {
      const r = await readShardIndexes(reader, blocksOf(layer), lane);
      const s = read.get(reader.store) ?? { requests: 0, bytes: 0, read: 0 };
      read.set(reader.store, { requests: s.requests + r.requests, bytes: s.bytes + r.bytes, read: s.read + r.read });
    }
  }
  return planCulled(culled, key, options, read, outputBytesOf(graph, new Map([[key, wholeBytes(x)]])), shardedLayers(graph).length > 0);
}

function planCulled(
  culled: Graph,
  key: string,
  options: PlanOptions,
  indexesRead: Map<ZarrStore, { requests: number; bytes: number; read: number }> | undefined,
  outputBytes: OutputBytes,
  sharded: boolean,
): Plan {
  const perStore = new Map<ZarrStore, { requests: number; bytes: number; cached: number }>();
  for (const [layer, info] of zarrLayers(culled)) {
    let s = perStore.get(info.store);
    if (s === undefined) perStore.set(info.store, (s = { requests: 0, bytes: 0, cached: 0 }));
    for (const k of layer.keys()) {
      const coords = parseKey(k).slice(1) as number[];
      const cacheKey = info.store.location + "\u0000" + info.chunkKey(coords);
      if (info.store.cache?.has(cacheKey)) {
        s.cached++;
      } else {
        s.requests++;
        s.bytes += info.chunkBytes;
      }
    }
  }
  // sharded arrays: ranged reads planned from their shard indexes
  let exact = true;
  let indexes: { requests: number; bytes: number; readByPlan: number } | undefined;
  const readBytes = new Map<ZarrStore, number>();
  for (const [layer, reader] of shardedLayers(culled)) {
    let s = perStore.get(reader.store);
    if (s === undefined) perStore.set(reader.store, (s = { requests: 0, bytes: 0, cached: 0 }));
    const blocks = blocksOf(layer);
    const p = planShardedReads(reader, blocks, options.coalesce);
    if (p.unknownShards > 0) exact = false;
    s.requests += p.requests;
    s.bytes += blocks.length * reader.innerBytes;
    readBytes.set(reader.store, (readBytes.get(reader.store) ?? 0) + p.bytes);
    indexes ??= { requests: 0, bytes: 0, readByPlan: 0 };
    indexes.requests += p.indexRequests;
    indexes.bytes += p.indexBytes;
  }
  for (const [store, r] of indexesRead ?? []) {
    const s = perStore.get(store)!;
    s.requests += r.requests;
    readBytes.set(store, (readBytes.get(store) ?? 0) + r.bytes);
    indexes!.requests += r.requests;
    indexes!.bytes += r.bytes;
    indexes!.readByPlan += r.read;
  }
  let densifiedBytes = 0;
  for (const layer of culled.layers.values()) {
    const densify = layer.annotations["densify"] as { bytes(index: readonly number[]): number } | undefined;
    if (densify !== undefined) for (const k of layer.keys()) densifiedBytes += densify.bytes(parseKey(k).slice(1) as number[]);
  }
  const optimized = options.optimize === false ? culled : fuse(culled, [key]);
  let tasks = 0;
  for (const layer of optimized.layers.values()) tasks += layer.size;
  const stores = [...perStore].map(([store, s]) =>
    readBytes.has(store) ? { store: store.location, ...s, readBytes: readBytes.get(store)! } : { store: store.location, ...s },
  );
  const plan = {
    tasks,
    requests: stores.reduce((a, s) => a + s.requests, 0),
    bytes: stores.reduce((a, s) => a + s.bytes, 0),
    stores,
    roundTrips: roundTripsOf(stores, options.httpConcurrency ?? 16),
    exact,
    densifiedBytes,
    memory: projectTaskMemory(optimized.materialize(), outputBytes),
  };
  if (indexes !== undefined) return { ...plan, readBytes: [...readBytes.values()].reduce((a, b) => a + b, 0), indexes };
  // a selection of a sharded array that reads nothing (culled away): it is known to send no bytes
  if (sharded && plan.requests === 0) return { ...plan, readBytes: 0, indexes: { requests: 0, bytes: 0, readByPlan: 0 } };
  return plan;
}

/** Waves of requests per origin at `bound` in flight, the most of any origin. */
function roundTripsOf(stores: readonly StorePlan[], bound: number): number {
  if (!Number.isInteger(bound) || bound < 1) {
    throw new RangeError(`Expected \`httpConcurrency\` to be a positive integer, got \`${String(bound)}\` (${typeof bound})`);
  }
  const perOrigin = new Map<string, number>();
  for (const s of stores) {
    if (!/^https?:\/\//.test(s.store)) continue;
    const origin = new URL(s.store).origin;
    perOrigin.set(origin, (perOrigin.get(origin) ?? 0) + s.requests);
  }
  let waves = 0;
  for (const n of perOrigin.values()) waves = Math.max(waves, Math.ceil(n / bound));
  return waves;
}
