// Built-in ops of @zask/array, importable by worker threads as `@zask/array/ops`.
export * from "./elementwise-kernels.js";
export * from "./reduction-kernels.js";
export { fetchChunk, decodeChunk } from "./zarr.js";
export type { ZarrChunkMeta, ChunkRef } from "./zarr.js";
export { fetchInnerChunk } from "./sharded.js";
export type { InnerChunkSource } from "./sharded.js";
export { getitem, gather, expandIndex } from "./slicing-kernels.js";
export type { AxisIndex, GatherPiece } from "./slicing-kernels.js";
export { assemble, reshapeBlock, transposeBlock, fullBlock, arangeBlock } from "./assemble.js";
export { encodeChunk, writeChunk } from "./write.js";
export { encodeShardBlock } from "./write-shard.js";
export type { CompressorConfig, ChunkSink } from "./write.js";
