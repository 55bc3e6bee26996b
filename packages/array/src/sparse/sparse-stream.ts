// A lazy sparse matrix's blocks in major order, a window of consecutive blocks per compute: a
// consumer that writes each block out (a store writer) holds one window, whatever the size of
// the matrix.
import type { Graph, Key } from "@zask/graph";
import { compute as run } from "@zask/scheduler";
import type { ComputeOptions } from "../compute.js";
import { isSparseBlock, type SparseBlock } from "../ops/sparse-block.js";

/**
 * Default {@link BlockStreamOptions.windowBlocks}: with blocks of about 2^20 stored values (the
 * default `blockNnz`), a window of float32 values and int32 indices holds about 64 MiB.
 */
export const DEFAULT_WINDOW_BLOCKS = 8;

/** Options of `SparseArray.computeBlocks()`: the compute's, and the window. */
export interface BlockStreamOptions extends ComputeOptions {
  /**
   * Consecutive blocks computed together (one compute each): more shares more of the chunks
   * that neighbouring blocks straddle (each window reads such a chunk again) and keeps more
   * requests in flight; fewer holds less.
   * @default 8
   */
  windowBlocks?: number;
}

/**
 * Compute `keys` (sparse blocks of `graph`, in major order) `windowBlocks` at a time and yield
 * each block in order; a block is let go once yielded.
 */
export async function* streamBlocks(graph: Graph, keys: readonly Key[], options: BlockStreamOptions = {}): AsyncGenerator<SparseBlock> {
  const { windowBlocks = DEFAULT_WINDOW_BLOCKS, ...compute } = options;
  if (!(Number.isInteger(windowBlocks) && windowBlocks > 0)) {
    throw new RangeError(`Expected \`windowBlocks\` to be a positive integer, got \`${String(windowBlocks)}\``);
  }
  for (let at = 0; at < keys.length; at += windowBlocks) {
    const window = keys.slice(at, at + windowBlocks);
    const values = await run(graph, window, compute);
    for (let k = 0; k < values.length; k++) {
      const block = values[k];
      values[k] = undefined;
      if (!isSparseBlock(block)) throw new TypeError(`Expected block ${window[k]} to be a sparse block, got ${Object.prototype.toString.call(block)}`);
      yield block;
    }
  }
}
