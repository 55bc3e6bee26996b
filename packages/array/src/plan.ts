import { Blockwise, cull, fuse, parseKey, type Graph } from "@zask/graph";
import type { Array } from "./array.js";
import { finalizeGraph } from "./compute.js";
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
  /** Bytes of dense blocks made from sparse ones (an op that does not keep zeros at zero). */
  readonly densifiedBytes: number;
}

/** Options of `plan()`. */
export interface PlanOptions {
  /** Count tasks after fusion, as compute does by default. @default true */
  optimize?: boolean;
  /** Requests in flight per origin, as given to `compute()`, for `roundTrips`. @default 16 */
  httpConcurrency?: number;
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
  return [...new Set(zarrLayers(graph).map(([, info]) => info.store))];
}

/**
 * `x.plan()`: cull the graph to what computing `x` needs and count, from metadata alone,
 * the chunks each store will be asked for and their uncompressed bytes.
 */
export function planArray(x: Array, options: PlanOptions = {}): Plan {
  const { graph, key } = finalizeGraph(x);
  const culled = cull(graph, [key]);
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
  let densifiedBytes = 0;
  for (const layer of culled.layers.values()) {
    const densify = layer.annotations["densify"] as { bytes(index: readonly number[]): number } | undefined;
    if (densify !== undefined) for (const k of layer.keys()) densifiedBytes += densify.bytes(parseKey(k).slice(1) as number[]);
  }
  const optimized = options.optimize === false ? culled : fuse(culled, [key]);
  let tasks = 0;
  for (const layer of optimized.layers.values()) tasks += layer.size;
  const stores = [...perStore].map(([store, s]) => ({ store: store.location, ...s }));
  return {
    tasks,
    requests: stores.reduce((a, s) => a + s.requests, 0),
    bytes: stores.reduce((a, s) => a + s.bytes, 0),
    stores,
    roundTrips: roundTripsOf(stores, options.httpConcurrency ?? 16),
    densifiedBytes,
  };
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
