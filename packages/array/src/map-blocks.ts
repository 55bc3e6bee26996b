import type { Op } from "@zask/graph";
import type { Array } from "./array.js";
import type { Chunks } from "./chunks.js";
import type { DataType } from "./dtype.js";

/** Options of {@link mapBlocks}. */
export interface MapBlocksOptions {
  /** dtype of the result. @default the first array's dtype */
  dtype?: DataType;
  /** Chunks of the result. @default the first array's chunks */
  chunks?: Chunks;
  /** Name prefix of the new layer. */
  name?: string;
}

/** Apply `op` to corresponding blocks of `arrays`. (stub: being written) */
export function mapBlocks(op: Op, arrays: readonly Array[], options: MapBlocksOptions = {}): Array {
  void op; void arrays; void options;
  throw new Error("mapBlocks is not written yet");
}
