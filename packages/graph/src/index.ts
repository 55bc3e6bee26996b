/** Public API of @zask/graph: task specs, layers, graphs and the passes over them. */
export { ZaskError, MissingKeyError, CycleError } from "./errors.js";
export { blockKey, isBlockKey, parseKey, keyName } from "./key.js";
export type { Key, BlockKey } from "./key.js";
export { op, isOpRef, opName, Ref, ref, Task, DataNode, Alias, Fused, findDependencies, substitute } from "./spec.js";
export type { Lane, OpRef, OpFunction, Op, GraphNode } from "./spec.js";
export { tokenize, tokenSymbol } from "./tokenize.js";
export type { Tokenizable } from "./tokenize.js";
export type { Layer, CullResult } from "./layer.js";
export { MaterializedLayer } from "./materialized-layer.js";
export { Graph } from "./graph.js";
export type { GraphStats } from "./graph.js";
export { Blockwise, blockwiseInput, blockIndex, perBlock } from "./blockwise.js";
export type { BlockwiseOptions, BlockwiseInput, BlockIndexArg, PerBlockArg } from "./blockwise.js";
