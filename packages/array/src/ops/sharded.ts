import type { ChunkIoContext } from "../zarr-store.js";

/** Reads inner chunks of a sharded array: a `ShardedReader`, or a compute's `ShardReadSession`. */
export interface InnerChunkSource {
  read(ctx: ChunkIoContext, coords: readonly number[]): Promise<Uint8Array | null>;
}

/**
 * io op: the encoded bytes of inner chunk `coords` of a sharded zarr v3 array (`null`: the
 * fill value), through the shard's cached index and the compute's read planner. Runs on the
 * main thread so that HTTP goes through the scheduler's I/O lane.
 */
export function fetchInnerChunk(ctx: ChunkIoContext, source: InnerChunkSource, coords: readonly number[]): Promise<Uint8Array | null> {
  return source.read(ctx, coords);
}
