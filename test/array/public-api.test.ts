import assert from "node:assert/strict";
import { test } from "node:test";
import * as pkg from "@zask/array";
import * as ops from "@zask/array/ops";

test("the public API of @zask/array is exactly this list", () => {
  assert.deepEqual(Object.keys(pkg).sort(), [
    "Array",
    "BlockShapeError",
    "BloscError",
    "ChunkCache",
    "ChunkDecodeError",
    "ChunkFetchError",
    "DEFAULT_BLOCK_NNZ",
    "DEFAULT_MISSING_STATUSES",
    "DEFAULT_SMALL_READ_BYTES",
    "HttpStore",
    "PackedStrings",
    "ShardIndexError",
    "Slice",
    "SparseArray",
    "SparseStructureError",
    "ZarrArrayError",
    "ZarrMetadataError",
    "ZarrStore",
    "arange",
    "asPackedStrings",
    "astype",
    "autoShards",
    "blockwise",
    "computeArrays",
    "concatenate",
    "countRequests",
    "decodeVlenUtf8",
    "elementwise",
    "encodeShard",
    "encodeVlenUtf8",
    "fixedItemsize",
    "fromTypedArray",
    "fromZarr",
    "full",
    "indicesProblem",
    "indptrProblem",
    "isDataType",
    "itemsize",
    "keyUrl",
    "mapBlocks",
    "normalizeChunks",
    "ones",
    "packedStringsArray",
    "readPackedStrings",
    "reduction",
    "resolveStorePath",
    "slice",
    "stack",
    "where",
    "zeros",
  ]);
});

test("the chunk-loading and selection ops are exported for workers", () => {
  for (const name of [
    "fetchChunk",
    "decodeChunk",
    "decodeStringsPacked",
    "getitem",
    "gather",
    "assemble",
    "transposeBlock",
    "reshapeBlock",
    "fullBlock",
    "arangeBlock",
    "encodeChunk",
    "writeChunk",
    "sparseGather",
    "sparseTakeMinor",
    "sparseMap",
    "sparseToDense",
    "sparseConcat",
    "sparseReduceChunk",
  ]) {
    assert.equal(typeof (ops as Record<string, unknown>)[name], "function", name);
  }
});
