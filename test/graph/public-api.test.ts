import { test } from "node:test";
import assert from "node:assert/strict";
import * as graph from "@zask/graph";

test("the public API of @zask/graph is exactly this list", () => {
  assert.deepEqual(Object.keys(graph).sort(), [
    "Alias",
    "Blockwise",
    "CycleError",
    "DataNode",
    "Fused",
    "FusedBlockwise",
    "FusionError",
    "Graph",
    "MaterializedLayer",
    "MissingKeyError",
    "Ref",
    "Task",
    "ZaskError",
    "blockIndex",
    "blockKey",
    "blockwiseInput",
    "cull",
    "findDependencies",
    "fuse",
    "fuseBlockwise",
    "fuseLinear",
    "isBlockKey",
    "isOpRef",
    "keyName",
    "op",
    "opName",
    "order",
    "parseKey",
    "perBlock",
    "ref",
    "simulatePeak",
    "substitute",
    "toDot",
    "tokenSymbol",
    "tokenize",
  ]);
});
