import assert from "node:assert/strict";
import { test } from "node:test";
import type { NDArray, SparseMatrix } from "@zask/anndata";
import { DEMO_GENE, GENES_ABOVE_1000, pbmcLike } from "zask";

const full = pbmcLike(); // generated once: 4.8 M normals

test("pbmcLike has pbmc3k_processed's shape and elements", () => {
  const adata = full;
  assert.deepEqual(adata.shape, [2638, 1838]);
  assert.equal((adata.X as NDArray).dtype, "float32");
  assert.deepEqual(Object.keys(adata.obsm).sort(), ["X_draw_graph_fr", "X_pca", "X_umap"]);
  assert.deepEqual((adata.obsm["X_draw_graph_fr"] as NDArray).shape, [2638, 2]);
  assert.deepEqual((adata.varm["PCs"] as NDArray).shape, [1838, 50]);
  assert.equal((adata.obsp["connectivities"] as SparseMatrix).format, "csr");
  assert.ok(adata.obs.columns.includes("louvain"));
  assert.equal(adata.varNames.indexOf(DEMO_GENE), 3);
});

test("exactly 59 genes have n_cells > 1000, in 53 groups of 5 genes as in the real data", () => {
  const adata = full;
  const nCells = adata.var.get("n_cells") as Int32Array;
  const above = [...nCells.keys()].filter((j) => (nCells[j] as number) > 1000);
  assert.equal(above.length, GENES_ABOVE_1000);
  assert.equal(new Set(above.map((j) => Math.floor(j / 5))).size, 53);
});

test("the same seed gives the same data, another seed other data", () => {
  const x = (seed: number) => (pbmcLike({ nObs: 50, nVars: 80, seed }).X as NDArray).data as Float32Array;
  assert.deepEqual(x(1), x(1));
  assert.notDeepEqual(x(1), x(2));
});

test("pbmcLike refuses shapes too small for its story", () => {
  assert.throws(() => pbmcLike({ nVars: 10 }), { name: "RangeError", message: /nVars/ });
});
