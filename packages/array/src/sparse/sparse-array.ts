import { DataNode, Graph, MaterializedLayer } from "@zask/graph";
import { compute as run } from "@zask/scheduler";
import { Array as LazyArray } from "../array.js";
import type { ComputeOptions } from "../compute.js";
import { withRepr, type ComputedArray } from "../computed-array.js";
import type { DataType, NDArray } from "../dtype.js";
import { castScalar, type Operand } from "../elementwise.js";
import type { SparseBlock, SparseFormat } from "../ops/sparse-block.js";
import type { SparseMapOp } from "../ops/sparse-elementwise.js";
import { minorMap } from "../ops/sparse-select.js";
import { checkScalarFits, floatFor, kindOf, resultType } from "../promote.js";
import { reduction, type ReductionKind, type ReductionOptions } from "../reductions.js";
import { normalizeSelector, type Selector } from "../selection.js";
import { sparseRead, type SparseReadOptions, type SparseSource } from "./sparse-read.js";
import { checkSparseSource } from "./sparse-checks.js";
import { streamBlocks, type BlockStreamOptions } from "./sparse-stream.js";
import { sparseFinal, sparseMapLayer, sparseTakeMinorLayer, sparseToDenseLayer, type SparseParts } from "./sparse-layers.js";

/** Where a plain read's blocks come from: the source, the major positions read, the block size. */
export interface ReadOrigin {
  readonly source: SparseSource;
  /** Source major positions in output order (null: all). */
  readonly major: Int32Array | null;
  readonly options: SparseReadOptions;
}

const SPARSE_REDUCTIONS = new Set<ReductionKind>(["sum", "mean", "var", "std", "min", "max", "countNonzero", "any", "all"]);

/**
 * A lazy compressed sparse matrix (CSR or CSC): an {@link LazyArray} whose blocks are
 * sparse blocks along the major axis (row blocks of CSR, column blocks of CSC), passed between
 * tasks as `indptr`/`indices`/`data` typed arrays. Selections, zero-preserving elementwise ops
 * (`mul` by a scalar or a row/column vector, `div` by a scalar, `pow` > 0, `abs`, `neg`,
 * `sqrt`, `log1p`, `expm1`) and the reductions `sum mean var std min max countNonzero any all`
 * run on the sparse blocks; any other operation first makes the blocks dense (`todense()`,
 * counted in `plan().densifiedBytes`). `compute()` densifies only the answer;
 * `computeSparse()` returns it compressed.
 *
 * @example
 * ```ts
 * const X = SparseArray.fromSource(source);           // see sparseRead's SparseSource
 * const g = await X.slice(null, [7]).compute();        // one column, dense
 * const m = await (X.slice(slice(0, 100)) as SparseArray).computeSparse(); // rows 0-99 as CSR
 * const mu = await X.mean({ axis: 0 }).compute();     // float64 accumulation, zeros counted
 * ```
 */
export class SparseArray extends LazyArray {
  /** `csr`: row blocks; `csc`: column blocks. */
  readonly format: SparseFormat;
  readonly #origin: ReadOrigin | undefined;

  protected constructor(parts: SparseParts, origin: ReadOrigin | undefined) {
    super(parts.graph, parts.name, parts.chunks, parts.dtype);
    this.format = parts.format;
    this.#origin = origin;
  }

  /** The lazy matrix of a stored one: blocks of about `options.blockNnz` stored values. */
  static fromSource(source: SparseSource, options: SparseReadOptions = {}): SparseArray {
    checkSparseSource(source);
    const origin = { source, major: null, options };
    return new SparseArray({ ...sparseRead(source, null, options), dtype: source.data.dtype, format: source.format }, origin);
  }

  /** The read behind `x` when it is a plain read (its major selections rebuild blocks from it). */
  protected static originOf(x: SparseArray): ReadOrigin | undefined {
    return x.#origin;
  }

  /**
   * A new array of the same class from parts (subclasses return their own class).
   * @internal
   */
  protected derive(parts: SparseParts, origin: ReadOrigin | undefined): SparseArray {
    return new SparseArray(parts, origin);
  }

  get #parts(): SparseParts {
    return { graph: this.graph, name: this.name, chunks: this.chunks, dtype: this.dtype, format: this.format };
  }

  get #majorAxis(): 0 | 1 {
    return this.format === "csr" ? 0 : 1;
  }

  /** The same values in dense blocks (the same chunks): what every non-sparse operation runs on. */
  todense(): LazyArray {
    const { graph, name } = sparseToDenseLayer(this.#parts);
    return new LazyArray(graph, name, this.chunks, this.dtype);
  }

  /**
   * Select as {@link LazyArray.slice}. Along the major axis of a matrix read from a store, the
   * blocks are rebuilt over the selected positions (reading only their ranges of `data` and
   * `indices`); along the minor axis each block keeps the stored values of selected positions.
   * An integer selector gives a dense result without that axis.
   */
  override slice(...selectors: Selector[]): LazyArray {
    if (selectors.length > 2) return this.todense().slice(...selectors);
    const sels = [0, 1].map((d) => normalizeSelector(selectors[d] ?? null, d, this.shape[d]!));
    const majorSel = sels[this.#majorAxis]!;
    const minorSel = sels[1 - this.#majorAxis]!;
    let out: SparseArray = this;
    const origin = this.#origin;
    if (!majorSel.full && origin === undefined) return this.todense().slice(...selectors);
    if (origin !== undefined && !(majorSel.full && minorSel.full)) {
      // a plain read: rebuild its blocks over the selected positions, selecting columns while gathering
      const major = majorSel.full ? origin.major : origin.major === null ? majorSel.positions : majorSel.positions.map((p) => origin.major![p]!);
      const map = minorSel.full ? undefined : minorMap(minorSel.positions, this.shape[1 - this.#majorAxis]!);
      const read = sparseRead(origin.source, major, origin.options, map);
      out = this.derive({ ...read, dtype: this.dtype, format: this.format }, map === undefined ? { ...origin, major } : undefined);
    } else if (!minorSel.full) {
      const minor = this.shape[1 - this.#majorAxis]!;
      out = this.derive(sparseTakeMinorLayer(this.#parts, minorMap(minorSel.positions, minor), minorSel.positions), undefined);
    }
    if (sels.some((s) => s.drop)) {
      return out.todense().reshape(out.shape.filter((_, d) => !sels[d]!.drop));
    }
    return out;
  }

  #map(name: SparseMapOp, out: DataType, operand?: number | bigint, vector?: { array: LazyArray; axis: 0 | 1 }): SparseArray {
    return this.derive(sparseMapLayer(this.#parts, name, out, operand, vector), undefined);
  }

  /**
   * `name` by the scalar `s` into `out`, as the dense path takes it: refused when it does not fit
   * `promoted` (numpy's OverflowError), then cast into `out`'s arithmetic.
   */
  #mapScalar(name: "mul" | "div" | "pow", promoted: DataType, out: DataType, s: number | boolean): SparseArray {
    checkScalarFits(s, promoted);
    return this.#map(name, out, castScalar(s, out));
  }

  /** Whether stored values are bigints, which the sparse kernels leave to the dense ones. */
  get #wide(): boolean {
    return this.dtype === "int64" || this.dtype === "uint64";
  }

  /** `this * other`: sparse for a scalar, a row vector (`[cols]`, `[1, cols]`) or a column vector (`[rows, 1]`). */
  override mul(other: Operand): LazyArray {
    if (this.#wide || other instanceof SparseArray) return this.todense().mul(other);
    if (typeof other === "number" || typeof other === "boolean") {
      const out = resultType([this.dtype], [other]);
      return this.#mapScalar("mul", out, out, other);
    }
    if (other instanceof LazyArray && other.dtype !== "string") {
      const [rows, cols] = this.shape as [number, number];
      const s = other.shape;
      const out = resultType([this.dtype, other.dtype]);
      if (kindOf(out) === "float" || kindOf(out) === kindOf(this.dtype)) {
        if ((s.length === 1 && s[0] === cols) || (s.length === 2 && s[0] === 1 && s[1] === cols && cols !== 1)) {
          // along the major axis the vector follows the blocks; along the minor axis each block takes it whole
          const row = (s.length === 1 ? other.reshape([1, cols]) : other).rechunk([[1], this.format === "csc" ? [...this.chunks[1]!] : [cols]]);
          return this.#map("mul", out, undefined, { array: row, axis: 1 });
        }
        if (s.length === 2 && s[0] === rows && s[1] === 1) {
          const col = other.rechunk([this.format === "csr" ? [...this.chunks[0]!] : [rows], [1]]);
          return this.#map("mul", out, undefined, { array: col, axis: 0 });
        }
      }
    }
    return this.todense().mul(other);
  }

  /** `this / other`: sparse for a nonzero scalar. */
  override div(other: Operand): LazyArray {
    if (!this.#wide && typeof other === "number" && other !== 0) {
      const promoted = resultType([this.dtype], [other]);
      return this.#mapScalar("div", promoted, kindOf(promoted) === "float" ? promoted : "float64", other);
    }
    return this.todense().div(other);
  }

  /** `this ** other`: sparse for a scalar exponent > 0. */
  override pow(other: Operand): LazyArray {
    if (!this.#wide && typeof other === "number" && other > 0 && (kindOf(this.dtype) === "float" || Number.isInteger(other))) {
      const out = resultType([this.dtype], [other]);
      return this.#mapScalar("pow", out, out, other);
    }
    return this.todense().pow(other);
  }

  override abs(): LazyArray {
    return this.#wide ? this.todense().abs() : this.#map("abs", this.dtype);
  }
  override neg(): LazyArray {
    return this.#wide || this.dtype === "bool" ? this.todense().neg() : this.#map("neg", this.dtype);
  }
  override sqrt(): LazyArray {
    return this.#wide ? this.todense().sqrt() : this.#map("sqrt", floatFor(this.dtype));
  }
  override log1p(): LazyArray {
    return this.#wide ? this.todense().log1p() : this.#map("log1p", floatFor(this.dtype));
  }
  /** `e ** this - 1` (keeps zeros at zero, so stays sparse). */
  expm1(): LazyArray {
    return this.#wide ? this.todense().exp().sub(1) : this.#map("expm1", floatFor(this.dtype));
  }

  #reduce(kind: ReductionKind, options?: ReductionOptions): LazyArray {
    if (options?.dtype !== undefined || !SPARSE_REDUCTIONS.has(kind)) return reduction(this.todense(), kind, options);
    return reduction(this, kind, options);
  }

  override sum(options?: ReductionOptions): LazyArray {
    return this.#reduce("sum", options);
  }
  override mean(options?: ReductionOptions): LazyArray {
    return this.#reduce("mean", options);
  }
  override var(options?: ReductionOptions): LazyArray {
    return this.#reduce("var", options);
  }
  override std(options?: ReductionOptions): LazyArray {
    return this.#reduce("std", options);
  }
  override min(options?: ReductionOptions): LazyArray {
    return this.#reduce("min", options);
  }
  override max(options?: ReductionOptions): LazyArray {
    return this.#reduce("max", options);
  }
  override countNonzero(options?: ReductionOptions): LazyArray {
    return this.#reduce("countNonzero", options);
  }
  override any(options?: ReductionOptions): LazyArray {
    return this.#reduce("any", options);
  }
  override all(options?: ReductionOptions): LazyArray {
    return this.#reduce("all", options);
  }

  /** The dense answer: blocks stay sparse until one last task writes the dense array. */
  override async compute(options: ComputeOptions = {}): Promise<ComputedArray> {
    const { graph, key } = sparseFinal(this.#parts, this.keys(), this.shape as [number, number], true);
    const [value] = await run(graph, [key], options);
    return withRepr(value as NDArray);
  }

  /** The answer as one compressed block (`format`, `shape`, `indptr`, `indices`, `data`, `dtype`). */
  async computeSparse(options: ComputeOptions = {}): Promise<SparseBlock> {
    const { graph, key } = sparseFinal(this.#parts, this.keys(), this.shape as [number, number], false);
    const [value] = await run(graph, [key], options);
    return value as SparseBlock;
  }

  /**
   * The blocks in major order (row blocks of CSR, column blocks of CSC), computed
   * `windowBlocks` consecutive blocks at a time, the next window while the caller takes this
   * one's, so a caller that writes each block out holds at most two windows however large the
   * matrix. A `data`/`indices` chunk that two windows share is read by both.
   *
   * @example
   * ```ts
   * let nnz = 0;
   * for await (const b of X.computeBlocks({ windowBlocks: 4 })) nnz += b.indptr[b.indptr.length - 1]!;
   * ```
   */
  computeBlocks(options: BlockStreamOptions = {}): AsyncGenerator<SparseBlock> {
    return streamBlocks(this.graph, this.keys(), options);
  }

  /** Compute every block and keep them, sparse. */
  override async persist(options: ComputeOptions = {}): Promise<SparseArray> {
    const keys = this.keys();
    const values = await run(this.graph, keys, options);
    const nodes = keys.map((k, i) => new DataNode(k, values[i]));
    const graph = Graph.fromLayer(new MaterializedLayer(this.name, nodes, { persisted: true }));
    return this.derive({ ...this.#parts, graph }, undefined);
  }
}

// Every other operation runs on the dense blocks.
const dense = [
  "add",
  "sub",
  "exp",
  "log",
  "gt",
  "lt",
  "ge",
  "le",
  "eq",
  "ne",
  "where",
  "astype",
  "argmin",
  "argmax",
  "rechunk",
  "transpose",
  "reshape",
  "toZarr",
] as const;
for (const m of dense) {
  Object.defineProperty(SparseArray.prototype, m, {
    value: function (this: SparseArray, ...args: unknown[]) {
      const d = this.todense() as unknown as Record<string, (...a: unknown[]) => unknown>;
      return d[m]!.apply(d, args);
    },
    writable: true,
    configurable: true,
  });
}
Object.defineProperty(SparseArray.prototype, "T", {
  get(this: SparseArray) {
    return this.todense().T;
  },
  configurable: true,
});
