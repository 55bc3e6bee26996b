import { Blockwise, Graph, blockIndex, blockwiseInput, op, perBlock } from "@zask/graph";
import type { Array } from "./array.js";
import { makeArray } from "./array-factory.js";
import type { Chunks } from "./chunks.js";
import type { DataType } from "./dtype.js";
import type { ZarrChunkMeta } from "./ops/zarr.js";
import { ShardedReader } from "./sharded-reader.js";
import { shardingLayout } from "./sharding-layout.js";
import type { ZarrStore } from "./zarr-store.js";

const fetchInnerChunkOp = op("@zask/array/ops", "fetchInnerChunk", { lane: "io" });
const decodeChunkOp = op("@zask/array/ops", "decodeChunk", { lane: "cpu" });

/** What `fromZarr` knows of a sharded array when it hands it over. */
export interface ShardedSource {
  readonly store: ZarrStore;
  readonly metadata: Record<string, unknown>;
  readonly dtype: DataType;
  readonly shape: readonly number[];
  /** The store key of the shard at `coords`. */
  readonly shardKey: (coords: readonly number[]) => string;
  /** Layer names are made from it (the array's identity). */
  readonly token: string;
  /** The array's URL or path, for messages. */
  readonly where: string;
  /** The array's path inside the store (`/X`). */
  readonly path: string;
  /** Chunks of the lazy Array (the inner chunk shape cut to the array's shape). */
  readonly chunks: (chunkShape: readonly number[]) => Chunks;
}

/** The annotation of a sharded array's fetch layer, for compute (read sessions) and `plan()`. */
export const SHARDED = "sharded";

/**
 * The lazy Array of a sharded zarr v3 array: one block per inner chunk (zarr-python's `.chunks`),
 * each fetched as a byte range of its shard (index first, cached) and decoded with the inner
 * codecs on a worker. The decode layer's `shards` annotation is the shard shape.
 */
export function fromShardedZarr(src: ShardedSource): Array {
  const layout = shardingLayout(src.metadata, src.where);
  const reader = new ShardedReader(src.store, layout, src.shardKey, src.dtype, src.shape);
  const chunks = src.chunks(layout.innerShape);
  const meta: ZarrChunkMeta = { zarrFormat: 3, document: layout.innerDocument, dtype: src.dtype, path: src.path };
  const outIndex = "abcdefghijklmnopqrstuvwxyz".slice(0, src.shape.length);
  const numBlocks = chunks.map((c) => c.length);
  const fetchName = `fetch-shard-${src.token}`;
  const decodeName = `from-zarr-${src.token}`;
  const fetchLayer = new Blockwise({
    name: fetchName,
    outIndex,
    numBlocks,
    op: fetchInnerChunkOp,
    args: [reader, blockIndex()],
    annotations: { [SHARDED]: reader },
  });
  const decodeLayer = new Blockwise({
    name: decodeName,
    outIndex,
    numBlocks,
    op: decodeChunkOp,
    args: [
      blockwiseInput(fetchName, outIndex, numBlocks),
      meta,
      blockIndex(),
      perBlock((index) => index.map((b, k) => chunks[k]![b]!), { refs: false }),
      // a decode error names the shard and the inner chunk
      perBlock((index) => reader.describeInner(index), { refs: false }),
    ],
    annotations: { shards: [...layout.shardShape] },
  });
  const graph = Graph.fromLayer(fetchLayer).withLayer(decodeLayer, [fetchName]);
  return makeArray(graph, decodeName, chunks, src.dtype);
}
