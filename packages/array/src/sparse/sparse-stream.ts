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
 * each block in order; a block is let go once yielded. The next window is computed while the
 * caller takes this one's blocks (its reads and decodes overlap the caller's work, a writer's
 * encoding), so up to two windows are held; when the caller stops early, it is cancelled.
 */
export async function* streamBlocks(graph: Graph, keys: readonly Key[], options: BlockStreamOptions = {}): AsyncGenerator<SparseBlock> {
  const { windowBlocks = DEFAULT_WINDOW_BLOCKS, signal, ...compute } = options;
  if (!(Number.isInteger(windowBlocks) && windowBlocks > 0)) {
    throw new RangeError(`Expected \`windowBlocks\` to be a positive integer, got \`${String(windowBlocks)}\``);
  }
  const stop = new AbortController();
  const own = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
  const windows: Key[][] = [];
  for (let at = 0; at < keys.length; at += windowBlocks) windows.push(keys.slice(at, at + windowBlocks));
  const start = (w: readonly Key[]): Promise<unknown[]> => {
    const p = run(graph, w, { ...compute, signal: own });
    // awaited later: its failure must not count as unhandled meanwhile
    p.catch(() => {});
    return p;
  };
  let next = windows.length > 0 ? start(windows[0]!) : undefined;
  try {
    for (let i = 0; i < windows.length; i++) {
      const values = await next!;
      next = i + 1 < windows.length ? start(windows[i + 1]!) : undefined;
      for (let k = 0; k < values.length; k++) {
        const block = values[k];
        values[k] = undefined;
        if (!isSparseBlock(block)) throw new TypeError(`Expected block ${windows[i]![k]} to be a sparse block, got ${Object.prototype.toString.call(block)}`);
        yield block;
      }
    }
  } finally {
    // a caller that stopped early, or failed: the window being computed is not wanted
    if (next !== undefined) stop.abort(new Error("computeBlocks was stopped"));
  }
}
