import { Blockwise, Graph, cull, type Key, type Layer } from "@zask/graph";
import type { CoalesceOptions } from "@zask/scheduler";
import { SHARDED } from "./from-sharded-zarr.js";
import { ShardReadSession } from "./shard-read-session.js";
import type { IndexIo, ShardedReader } from "./sharded-reader.js";

/** Options of {@link withReadSessions}. */
export interface ReadSessionOptions {
  readonly coalesce?: CoalesceOptions | undefined;
  readonly httpConcurrency?: number | undefined;
  /**
   * How to read the first shards' indexes at once, while the compute is prepared and before
   * its I/O lane exists (see {@link ShardReadSession.prefetch}); left out, the tasks read them.
   */
  readonly prefetch?: (() => IndexIo) | undefined;
}

/** Whether `graph` reads a sharded array. */
export function readsShards(graph: Graph): boolean {
  for (const layer of graph.layers.values()) if (layer.annotations[SHARDED] !== undefined) return true;
  return false;
}

/** The blocks (inner chunk coords) a culled sharded fetch layer reads. */
export function blocksOf(layer: Blockwise): number[][] {
  const out: number[][] = [];
  for (const lin of layer.linearIndices()) out.push(layer.unravel(lin, []));
  return out;
}

/** The culled sharded fetch layers of `graph`, with their readers. */
export function shardedLayers(graph: Graph): [Blockwise, ShardedReader][] {
  const out: [Blockwise, ShardedReader][] = [];
  for (const layer of graph.layers.values()) {
    const reader = layer.annotations[SHARDED] as ShardedReader | undefined;
    if (reader !== undefined && layer instanceof Blockwise) out.push([layer, reader]);
  }
  return out;
}

/**
 * `graph` culled to `keys`, with each sharded array's fetch layer reading through a
 * {@link ShardReadSession} made for this compute from the inner chunks the culled graph reads,
 * so that the compute's read planner sees every range of a shard before it requests any.
 * A graph that reads no shards is returned as it is.
 */
export function withReadSessions(graph: Graph, keys: readonly Key[], options: ReadSessionOptions = {}): Graph {
  if (!readsShards(graph)) return graph;
  const culled = cull(graph, keys);
  const layers = new Map<string, Layer>(culled.layers);
  let io: IndexIo | undefined;
  for (const [layer, reader] of shardedLayers(culled)) {
    const session = new ShardReadSession(reader, blocksOf(layer), { coalesce: options.coalesce, concurrency: options.httpConcurrency });
    if (options.prefetch !== undefined) session.prefetch((io ??= options.prefetch()));
    const args = layer.args.map((a) => (a === reader ? session : a));
    const replaced = new Blockwise(
      { name: layer.name, outIndex: layer.outIndex, numBlocks: layer.numBlocks, op: layer.op, args, annotations: layer.annotations },
      layer.linearIndices(),
    );
    layers.set(layer.name, replaced);
  }
  return new Graph(layers, culled.dependencies);
}

/**
 * A compute of `graph` (made by {@link withReadSessions}) has succeeded: its sessions give
 * their planners' shared bodies back. Only after success: a failed compute may leave a worker
 * still reading its part.
 */
export function releaseReadSessions(graph: Graph): void {
  for (const [layer] of shardedLayers(graph)) for (const a of layer.args) if (a instanceof ShardReadSession) a.release();
}
