import { AnnData, Categorical, DataFrame, SparseMatrix } from "@zask/anndata";
import type { NDArray } from "@zask/anndata";

/** Options of `pbmcLike`. */
export interface PbmcLikeOptions {
  /** @default 2638 */
  nObs?: number;
  /** @default 1838 */
  nVars?: number;
  /** Seed of the generator: the same seed gives the same bytes. @default 0 */
  seed?: number;
}

/** The gene the tutorial selects, placed in the first 5 genes so it sits in chunk `X/0.0`. */
export const DEMO_GENE = "C1orf86";
/** Genes with `n_cells > 1000`, as in pbmc3k_processed. */
export const GENES_ABOVE_1000 = 59;

const LOUVAIN = ["CD4 T cells", "CD14+ Monocytes", "B cells", "CD8 T cells", "NK cells", "FCGR3A+ Monocytes", "Dendritic cells", "Megakaryocytes"];
const COLORS = ["#1f77b4", "#ff7f0e", "#279e68", "#d62728", "#aa40fc", "#8c564b", "#e377c2", "#b5bd61"];
const NEIGHBORS = 10;

/**
 * A deterministic AnnData shaped like scanpy's pbmc3k_processed, for the demo: X `nObs × nVars`
 * float32 (standard normal, like the scaled original); obs with a categorical `louvain`; var
 * with `n_cells`, exactly 59 genes above 1000, and a gene named C1orf86; obsm `X_pca`,
 * `X_umap`, `X_draw_graph_fr`; varm `PCs`; obsp `distances` and `connectivities` (a 10-nearest-
 * neighbour CSR graph); nested uns. Synthetic numbers: only the shapes and encodings are real.
 *
 * @example
 * ```ts
 * const adata = pbmcLike();
 * String(adata); // "AnnData object with n_obs × n_vars = 2638 × 1838 ..."
 * ```
 */
export function pbmcLike(options: PbmcLikeOptions = {}): AnnData<NDArray | SparseMatrix> {
  const { nObs = 2638, nVars = 1838, seed = 0 } = options;
  for (const [name, value, min] of [
    ["nObs", nObs, NEIGHBORS + 1],
    ["nVars", nVars, GENES_ABOVE_1000],
  ] as const) {
    if (!Number.isInteger(value) || value < min) throw new RangeError(`Expected \`${name}\` to be an integer >= ${min}, got \`${String(value)}\``);
  }
  const rng = new Random(seed);
  const varNames = Array.from({ length: nVars }, (_, i) => (i === 3 ? DEMO_GENE : `GENE${String(i).padStart(4, "0")}`));
  const obsNames = Array.from({ length: nObs }, (_, i) => `CELL${String(i).padStart(4, "0")}-1`);

  const nCells = new Int32Array(nVars);
  for (let j = 0; j < nVars; j++) nCells[j] = rng.int(3, 1001);
  for (const j of abundantGenes(rng, nVars)) nCells[j] = rng.int(1001, Math.max(1002, nObs + 1));

  const codes = new Int8Array(nObs);
  for (let i = 0; i < nObs; i++) codes[i] = rng.int(0, LOUVAIN.length);
  const nGenes = new Int32Array(nObs);
  const percentMito = new Float32Array(nObs);
  const nCounts = new Float32Array(nObs);
  for (let i = 0; i < nObs; i++) {
    nGenes[i] = rng.int(200, 2500);
    percentMito[i] = rng.next() * 0.05;
    nCounts[i] = rng.next() * 10000;
  }

  return new AnnData<NDArray | SparseMatrix>({
    X: normal(rng, [nObs, nVars], "float32"),
    obs: new DataFrame({
      index: obsNames,
      columns: { n_genes: nGenes, percent_mito: percentMito, n_counts: nCounts, louvain: new Categorical(codes, LOUVAIN) },
    }),
    var: new DataFrame({ index: varNames, columns: { n_cells: nCells } }),
    obsm: {
      X_pca: normal(rng, [nObs, 50], "float32"),
      X_umap: normal(rng, [nObs, 2], "float32"),
      X_draw_graph_fr: normal(rng, [nObs, 2], "float64"),
    },
    varm: { PCs: normal(rng, [nVars, 50], "float64") },
    obsp: neighbourGraphs(rng, nObs),
    uns: {
      louvain: { params: { resolution: 1.0 } },
      louvain_colors: COLORS,
      neighbors: { params: { n_neighbors: NEIGHBORS, method: "umap" } },
      pca: { variance: normal(rng, [50], "float64"), variance_ratio: normal(rng, [50], "float64") },
    },
  });
}

/**
 * Where the 59 genes with `n_cells > 1000` sit: in 53 distinct groups of 5 genes, as in the real
 * pbmc3k_processed, so the tutorial's point holds (at chunks [nObs, 5], fewer than 59 requests).
 */
function abundantGenes(rng: Random, nVars: number): number[] {
  const groups = Math.floor(nVars / 5);
  const distinct = Math.min(53, groups);
  const picked = rng.sample(groups, distinct);
  const genes = new Set(picked.map((g) => g * 5 + rng.int(0, 5)));
  for (let k = 0; genes.size < GENES_ABOVE_1000; k++) {
    const g = picked[k % picked.length] as number;
    genes.add(g * 5 + rng.int(0, 5));
  }
  return [...genes];
}

/** A k-nearest-neighbour graph over random cells, as scanpy's `distances` and `connectivities`. */
function neighbourGraphs(rng: Random, n: number): Record<string, SparseMatrix> {
  const indptr = new Int32Array(n + 1);
  const indices = new Int32Array(n * NEIGHBORS);
  const distances = new Float64Array(n * NEIGHBORS);
  const connectivities = new Float32Array(n * NEIGHBORS);
  for (let i = 0; i < n; i++) {
    const picked = rng
      .sample(n - 1, NEIGHBORS)
      .map((j) => (j >= i ? j + 1 : j))
      .sort((a, b) => a - b);
    picked.forEach((j, k) => {
      const at = i * NEIGHBORS + k;
      indices[at] = j;
      distances[at] = 1 + rng.next() * 4;
      connectivities[at] = rng.next();
    });
    indptr[i + 1] = (i + 1) * NEIGHBORS;
  }
  return {
    distances: new SparseMatrix("csr", [n, n], indptr, indices, distances),
    connectivities: new SparseMatrix("csr", [n, n], indptr.slice(), indices.slice(), connectivities),
  };
}

function normal(rng: Random, shape: number[], dtype: "float32" | "float64"): NDArray {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = dtype === "float32" ? new Float32Array(size) : new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = rng.normal();
  return { data, shape, dtype } as NDArray;
}

/** mulberry32: small, fast and the same on every platform, unlike Math.random. */
class Random {
  #state: number;
  #spare: number | undefined;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }
  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.#spare !== undefined) {
      const s = this.#spare;
      this.#spare = undefined;
      return s;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** `k` distinct integers from [0, n), in random order (partial Fisher-Yates over a sparse map). */
  sample(n: number, k: number): number[] {
    const swapped = new Map<number, number>();
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      const j = this.int(i, n);
      const vj = swapped.get(j) ?? j;
      swapped.set(j, swapped.get(i) ?? i);
      out.push(vj);
    }
    return out;
  }
}
