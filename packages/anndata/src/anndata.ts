import { DataFrame } from "./data-frame.js";
import type { Array as LazyArray } from "@zask/array";
import type { NDArray } from "./ndarray.js";
import type { SparseMatrix } from "./sparse-matrix.js";

/** A matrix-like element: a lazy array (dense or sparse-backed), an eager dense array, or an eager sparse matrix. */
export type Matrix = LazyArray | NDArray | SparseMatrix;

/** How an AnnData object is built in memory. */
export interface AnnDataInit<M = Matrix> {
  X?: M | undefined;
  /** Observations (rows): at least an index. */
  obs?: DataFrame;
  /** Variables (columns): at least an index. */
  var?: DataFrame;
  obsm?: Record<string, M>;
  varm?: Record<string, M>;
  obsp?: Record<string, M>;
  varp?: Record<string, M>;
  layers?: Record<string, M>;
  uns?: Record<string, unknown>;
  raw?: Raw<M> | undefined;
}

/** The `raw` slot: an earlier X with its own var (and varm), over the same observations. */
export interface Raw<M = Matrix> {
  readonly X: M | undefined;
  readonly var: DataFrame;
  readonly varm: Record<string, M>;
}

function rangeIndex(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i));
}

/**
 * An annotated data matrix (Python's `anndata.AnnData`): `X` of shape `nObs × nVars`, with
 * obs/var annotations, per-observation and per-variable matrices, layers, pairwise matrices,
 * unstructured `uns` and an optional `raw`. Read one with `readZarr`, or build one in memory.
 *
 * @example
 * ```ts
 * const adata = new AnnData({
 *   X: { data: new Float32Array(6), shape: [2, 3], dtype: "float32" },
 *   obs: new DataFrame({ index: ["c1", "c2"] }),
 *   var: new DataFrame({ index: ["g1", "g2", "g3"] }),
 * });
 * String(adata); // "AnnData object with n_obs × n_vars = 2 × 3"
 * ```
 */
export class AnnData<M = Matrix> {
  readonly X: M | undefined;
  readonly obs: DataFrame;
  readonly var: DataFrame;
  readonly obsm: Record<string, M>;
  readonly varm: Record<string, M>;
  readonly obsp: Record<string, M>;
  readonly varp: Record<string, M>;
  readonly layers: Record<string, M>;
  readonly uns: Record<string, unknown>;
  readonly raw: Raw<M> | undefined;

  constructor(init: AnnDataInit<M> = {}) {
    const xShape = (init.X as { shape?: readonly number[] } | undefined)?.shape;
    this.obs = init.obs ?? new DataFrame({ index: rangeIndex(xShape?.[0] ?? 0) });
    this.var = init.var ?? new DataFrame({ index: rangeIndex(xShape?.[1] ?? 0) });
    this.X = init.X;
    this.obsm = { ...init.obsm };
    this.varm = { ...init.varm };
    this.obsp = { ...init.obsp };
    this.varp = { ...init.varp };
    this.layers = { ...init.layers };
    this.uns = { ...init.uns };
    this.raw = init.raw;
    const [n, m] = [this.obs.nRows, this.var.nRows];
    const check = (what: string, shape: readonly number[] | undefined, expected: [number | undefined, number | undefined]): void => {
      if (shape === undefined) return;
      expected.forEach((e, axis) => {
        if (e !== undefined && shape[axis] !== e) {
          throw new RangeError(`Expected ${what} to have ${e} ${axis === 0 ? "rows" : "columns"}, got shape [${shape.join(", ")}]`);
        }
      });
    };
    const shapeOf = (x: unknown): readonly number[] | undefined => (x as { shape?: readonly number[] } | undefined)?.shape;
    check("X", shapeOf(this.X), [n, m]);
    for (const [k, v] of Object.entries(this.layers)) check(`layers.${k}`, shapeOf(v), [n, m]);
    for (const [k, v] of Object.entries(this.obsm)) check(`obsm.${k}`, shapeOf(v), [n, undefined]);
    for (const [k, v] of Object.entries(this.varm)) check(`varm.${k}`, shapeOf(v), [m, undefined]);
    for (const [k, v] of Object.entries(this.obsp)) check(`obsp.${k}`, shapeOf(v), [n, n]);
    for (const [k, v] of Object.entries(this.varp)) check(`varp.${k}`, shapeOf(v), [m, m]);
    if (this.raw) check("raw.X", shapeOf(this.raw.X), [n, this.raw.var.nRows]);
  }

  /** Number of observations (rows). */
  get nObs(): number {
    return this.obs.nRows;
  }

  /** Number of variables (columns). */
  get nVars(): number {
    return this.var.nRows;
  }

  /** `[nObs, nVars]`. */
  get shape(): [number, number] {
    return [this.nObs, this.nVars];
  }

  /** Observation names (the obs index). */
  get obsNames(): readonly string[] {
    return this.obs.index;
  }

  /** Variable names (the var index). */
  get varNames(): readonly string[] {
    return this.var.index;
  }

  /** Python's repr: the shape, then the keys of each non-empty part. */
  toString(): string {
    const lines = [`AnnData object with n_obs × n_vars = ${this.nObs} × ${this.nVars}`];
    const parts: [string, string[]][] = [
      ["obs", this.obs.columns],
      ["var", this.var.columns],
      ["uns", Object.keys(this.uns)],
      ["obsm", Object.keys(this.obsm)],
      ["varm", Object.keys(this.varm)],
      ["layers", Object.keys(this.layers)],
      ["obsp", Object.keys(this.obsp)],
      ["varp", Object.keys(this.varp)],
    ];
    for (const [name, keys] of parts) if (keys.length > 0) lines.push(`    ${name}: ${keys.map((k) => `'${k}'`).join(", ")}`);
    return lines.join("\n");
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
