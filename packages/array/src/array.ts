import { inspect } from "node:util";
import { blockKey, type Graph, type Key } from "@zask/graph";
import type { Chunks } from "./chunks.js";
import { itemsize, type DataType } from "./dtype.js";
import { astype, elementwise, where, type Operand } from "./elementwise.js";
import { reduction, type ReductionOptions } from "./reductions.js";
import type { Selector } from "./selection.js";
import { sliceArray } from "./slicing.js";
import { computeArray, persistArray, type ComputeOptions } from "./compute.js";
import type { ComputedArray } from "./computed-array.js";
import { planArray, planArrayAsync, type Plan, type PlanOptions } from "./plan.js";
import { reprArray } from "./repr.js";
import { visualizeArray, type VisualizeOptions } from "./visualize.js";
import { rechunkArray, type ChunksSpec } from "./rechunk.js";
import { transposeArray } from "./transpose.js";
import { reshapeArray } from "./reshape.js";
import { toZarrArray, type ToZarrOptions, type ToZarrResult } from "./to-zarr.js";
import type { ZarrStore } from "./zarr-store.js";
import { storesOf } from "./plan.js";
import { installArrayClass } from "./array-factory.js";
import { denseBlockBytes, recordBlockBytes } from "./block-bytes.js";

/**
 * A lazy chunked n-d array (dask.array's Array): a task graph whose top layer, named
 * `name`, has one task per block, `chunks` giving the block sizes along each axis.
 * Nothing runs until `compute()`.
 *
 * @example
 * ```ts
 * const x = await fromZarr("http://127.0.0.1:8080/pbmc.zarr", { path: "X" });
 * console.log(String(x)); // dtype, shape, chunks, bytes, "368 chunks in 2 graph layers"
 * const genes = await x.slice(null, [0, 5, 9]).compute(); // { data: Float32Array, shape: [2638, 3], dtype: "float32" }
 * ```
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
    // the plan's task memory sizes each block of the top layer from its shape and dtype
    recordBlockBytes(graph.layers.get(name), denseBlockBytes(chunks, dtype));
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

  /** Keys of every block, in row-major block order. */
  keys(): Key[] {
    const nb = this.numBlocks;
    const total = nb.reduce((a, b) => a * b, 1);
    const out: Key[] = [];
    const idx = new globalThis.Array<number>(nb.length).fill(0);
    for (let t = 0; t < total; t++) {
      out.push(this.key(idx));
      for (let k = nb.length - 1; k >= 0; k--) {
        if (++idx[k]! < nb[k]!) break;
        idx[k] = 0;
      }
    }
    return out;
  }

  /** The zarr stores this array reads (with their request counters). */
  get stores(): ZarrStore[] {
    return storesOf(this.graph);
  }

  /**
   * Select with one selector per axis (missing trailing axes: all): `null`, an integer
   * (negative from the end; drops the axis), `slice(start, stop, step)`, a `boolean[]` mask,
   * or integer indices (`number[]` or an integer typed array, any order, repeats allowed).
   * Selectors apply per axis independently (dask/zarr orthogonal indexing). Only the
   * blocks the selection touches are referenced. Throws RangeError/TypeError naming the axis.
   *
   * @example
   * ```ts
   * x.slice(slice(0, 100), [3, 1, 3]); // rows 0-99, columns 3, 1, 3
   * x.slice(-1);                        // the last row, 1-d
   * ```
   */
  slice(...selectors: Selector[]): Array {
    return sliceArray(this, selectors);
  }

  /** `this + other` (numpy broadcasting and promotion). */
  add(other: Operand): Array {
    return elementwise("add", this, other);
  }
  /** `this - other`. */
  sub(other: Operand): Array {
    return elementwise("sub", this, other);
  }
  /** `this * other`. */
  mul(other: Operand): Array {
    return elementwise("mul", this, other);
  }
  /** `this / other` (true division: a float result). */
  div(other: Operand): Array {
    return elementwise("div", this, other);
  }
  /** `this ** other`. */
  pow(other: Operand): Array {
    return elementwise("pow", this, other);
  }
  /** `-this`. */
  neg(): Array {
    return elementwise("neg", this);
  }
  /** `|this|`. */
  abs(): Array {
    return elementwise("abs", this);
  }
  /** Square root. */
  sqrt(): Array {
    return elementwise("sqrt", this);
  }
  /** `e ** this`. */
  exp(): Array {
    return elementwise("exp", this);
  }
  /** Natural logarithm. */
  log(): Array {
    return elementwise("log", this);
  }
  /** `log(1 + this)`, accurate near 0. */
  log1p(): Array {
    return elementwise("log1p", this);
  }
  /** `this > other` (bool). */
  gt(other: Operand): Array {
    return elementwise("gt", this, other);
  }
  /** `this < other` (bool). */
  lt(other: Operand): Array {
    return elementwise("lt", this, other);
  }
  /** `this >= other` (bool). */
  ge(other: Operand): Array {
    return elementwise("ge", this, other);
  }
  /** `this <= other` (bool). */
  le(other: Operand): Array {
    return elementwise("le", this, other);
  }
  /** `this == other` (bool). */
  eq(other: Operand): Array {
    return elementwise("eq", this, other);
  }
  /** `this != other` (bool). */
  ne(other: Operand): Array {
    return elementwise("ne", this, other);
  }
  /** `this ? x : y` elementwise (this is the condition). */
  where(x: Operand, y: Operand): Array {
    return where(this, x, y);
  }
  /** Cast to `dtype`. */
  astype(dtype: DataType): Array {
    return astype(this, dtype);
  }

  /** Sum over `axis` (all axes when omitted). */
  sum(options?: ReductionOptions): Array {
    return reduction(this, "sum", options);
  }
  /** Mean (float32 accumulates in float64, as numpy). */
  mean(options?: ReductionOptions): Array {
    return reduction(this, "mean", options);
  }
  /** Minimum. */
  min(options?: ReductionOptions): Array {
    return reduction(this, "min", options);
  }
  /** Maximum. */
  max(options?: ReductionOptions): Array {
    return reduction(this, "max", options);
  }
  /** Variance (`ddof` as numpy). */
  var(options?: ReductionOptions): Array {
    return reduction(this, "var", options);
  }
  /** Standard deviation. */
  std(options?: ReductionOptions): Array {
    return reduction(this, "std", options);
  }
  /** Count of non-zero elements. */
  countNonzero(options?: ReductionOptions): Array {
    return reduction(this, "countNonzero", options);
  }
  /** Whether any element is truthy. */
  any(options?: ReductionOptions): Array {
    return reduction(this, "any", options);
  }
  /** Whether every element is truthy. */
  all(options?: ReductionOptions): Array {
    return reduction(this, "all", options);
  }
  /** Index of the minimum. */
  argmin(options?: ReductionOptions): Array {
    return reduction(this, "argmin", options);
  }
  /** Index of the maximum. */
  argmax(options?: ReductionOptions): Array {
    return reduction(this, "argmax", options);
  }

  /**
   * The same values in other blocks: a block size per axis (`-1`/`null`: whole axis),
   * one number for every axis, or explicit per-axis sizes.
   */
  rechunk(chunks: ChunksSpec): Array {
    return rechunkArray(this, chunks);
  }

  /** Permute the axes (reversed when `axes` is omitted). */
  transpose(axes?: readonly number[]): Array {
    return transposeArray(this, axes);
  }

  /** The transpose (axes reversed). */
  get T(): Array {
    return transposeArray(this);
  }

  /** The same values in C order with another shape (one `-1` is inferred). */
  reshape(shape: readonly number[]): Array {
    return reshapeArray(this, shape);
  }

  /**
   * Run the graph and return the values as one C-order array (`string[]` for strings).
   *
   * @example
   * ```ts
   * const { data, shape } = await x.slice(slice(0, 10)).compute({ httpConcurrency: 8 });
   * ```
   */
  compute(options: ComputeOptions = {}): Promise<ComputedArray> {
    return computeArray(this, options);
  }

  /** Compute every block and return an Array backed by them (same name, chunks, dtype). */
  persist(options: ComputeOptions = {}): Promise<Array> {
    return persistArray(this, options);
  }

  /**
   * What a compute will cost, from metadata alone: tasks after optimization, chunk
   * requests and uncompressed chunk bytes, in total and per store, and the round trips they
   * take at `httpConcurrency` requests in flight per origin.
   */
  plan(options: PlanOptions = {}): Plan {
    return planArray(this, options);
  }

  /**
   * {@link plan}, exact for sharded arrays too: it first reads the shard indexes the compute
   * needs that are not cached (one ranged request each, counted in the plan's `requests` and
   * `indexes.readByPlan`; the compute then finds them cached).
   *
   * @example
   * ```ts
   * const p = await x.slice(null, [7]).planAsync(); // { requests: 2, readBytes, indexes: { requests: 1, readByPlan: 1, … }, exact: true, … }
   * ```
   */
  planAsync(options: PlanOptions = {}): Promise<Plan> {
    return planArrayAsync(this, options);
  }

  /** The shard shape of a sharded zarr v3 array read by `fromZarr` (its `chunks` are the inner chunks); `undefined` otherwise. */
  get shards(): readonly number[] | undefined {
    return this.graph.layers.get(this.name)?.annotations["shards"] as readonly number[] | undefined;
  }

  /**
   * Write to a zarr store (one task per output chunk): zarr v2 by default, readable by
   * zarr-python 2; `{ format: 3, shards }` writes zarr v3, sharded (index at the end with crc32c).
   */
  toZarr(dest: Parameters<typeof toZarrArray>[1], options: ToZarrOptions = {}): Promise<ToZarrResult> {
    return toZarrArray(this, dest, options);
  }

  /**
   * A picture of the task graph (dask's `visualize`): SVG text drawn by Graphviz's WebAssembly
   * build, PNG bytes (with the optional `@resvg/resvg-js`), or the DOT source; by default of
   * the graph `compute()` would run (culled, fused).
   *
   * @example
   * ```ts
   * import { ones } from "@zask/array";
   * await ones([100, 100], { chunks: 50 }).mean({ axis: 0 }).visualize({ filename: "mean.svg" });
   * ```
   */
  visualize(options: VisualizeOptions & { format: "png" }): Promise<Uint8Array>;
  visualize(options?: VisualizeOptions & { format?: "svg" | "dot" }): Promise<string>;
  visualize(options: VisualizeOptions = {}): Promise<string | Uint8Array> {
    return visualizeArray(this, options);
  }

  /** dask's summary: dtype, shape, chunk shape, bytes, "N chunks in M graph layers". */
  toString(): string {
    return reprArray(this);
  }

  [inspect.custom](): string {
    return reprArray(this);
  }
}

installArrayClass(Array);
