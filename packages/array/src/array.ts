import { blockKey, type Graph, type Key } from "@zask/graph";
import type { Chunks } from "./chunks.js";
import { itemsize, type DataType } from "./dtype.js";

/**
 * A lazy chunked n-d array (dask.array's Array): a task graph whose top layer, named
 * `name`, has one task per block, `chunks` giving the block sizes along each axis.
 * Nothing runs until `compute()`.
 */
export class Array {
  /** The task graph that produces the blocks. */
  readonly graph: Graph;
  /** The name of the top layer; block keys are `blockKey(name, index)`. */
  readonly name: string;
  /** Block sizes along each axis. */
  readonly chunks: Chunks;
  readonly dtype: DataType;
  readonly shape: readonly number[];

  constructor(graph: Graph, name: string, chunks: Chunks, dtype: DataType) {
    this.graph = graph;
    this.name = name;
    this.chunks = chunks;
    this.dtype = dtype;
    this.shape = chunks.map((c) => c.reduce((a, b) => a + b, 0));
  }

  /** Number of axes. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Blocks along each axis. */
  get numBlocks(): number[] {
    return this.chunks.map((c) => c.length);
  }

  /** Bytes of the whole array in memory (0 for strings). */
  get nbytes(): number {
    return this.size * itemsize(this.dtype);
  }

  /** The key of block `index`. */
  key(index: readonly number[]): Key {
    return blockKey(this.name, index);
  }
}
