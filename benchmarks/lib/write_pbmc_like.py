#!/usr/bin/python3
"""Write pbmc3k_processed-shaped AnnData zarr stores for the benchmarks, with anndata 0.8.

Usage: /usr/bin/python3 write_pbmc_like.py OUT_DIR NAME=ROWSxCOLS|NAME=csr [...]

Every dense store holds the same data (fixed seed); only X's chunking differs. A `csr` store
holds X as a CSR matrix instead: the same values where a second fixed-seed draw keeps 10% of
them (the others zero), `data`/`indices` in 8 chunks each, as scanpy and CELLxGENE store X. X is 2638 x 1838
float32 (standard normal, like the scaled pbmc3k X), var has `n_cells` with exactly 59 genes
above 1000 and a gene named C1orf86, obs a categorical `louvain`, plus obsm/varm/uns the
size of the real dataset's. Metadata is consolidated. OUT_DIR/expected.json records the
answers of the benchmark queries, computed with numpy, so any reader can be checked.
"""
import json
import os
import sys

import anndata
import numpy as np
import pandas as pd
import zarr
from scipy import sparse

N_OBS, N_VARS, N_ABOVE = 2638, 1838, 59
GENE = "C1orf86"
GENE_AT = 3  # in the first chunk of any chunking, as in the tutorial's log (X/0.0)
ONE_CELL = 1318


def make_adata():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_OBS, N_VARS), dtype=np.float32)
    names = [f"GENE{i:04d}" for i in range(N_VARS)]
    names[GENE_AT] = GENE
    above = np.sort(rng.choice(N_VARS, size=N_ABOVE, replace=False))
    n_cells = rng.integers(3, 1001, size=N_VARS)
    n_cells[above] = rng.integers(1001, N_OBS + 1, size=N_ABOVE)
    var = pd.DataFrame({"n_cells": n_cells.astype(np.int64)}, index=pd.Index(names))
    louvain = pd.Categorical.from_codes(rng.integers(0, 8, size=N_OBS), categories=[
        "CD4 T cells", "CD14+ Monocytes", "B cells", "CD8 T cells",
        "NK cells", "FCGR3A+ Monocytes", "Dendritic cells", "Megakaryocytes"])
    obs = pd.DataFrame({
        "n_genes": rng.integers(200, 2500, size=N_OBS).astype(np.int64),
        "percent_mito": rng.random(N_OBS, dtype=np.float32) * 0.05,
        "n_counts": rng.random(N_OBS, dtype=np.float32) * 10000,
        "louvain": louvain,
    }, index=pd.Index([f"CELL{i:04d}-1" for i in range(N_OBS)]))
    adata = anndata.AnnData(X=X, obs=obs, var=var)
    adata.obsm["X_pca"] = rng.standard_normal((N_OBS, 50), dtype=np.float32)
    adata.obsm["X_umap"] = rng.standard_normal((N_OBS, 2), dtype=np.float32)
    adata.obsm["X_draw_graph_fr"] = rng.standard_normal((N_OBS, 2))
    adata.varm["PCs"] = rng.standard_normal((N_VARS, 50))
    adata.uns["louvain"] = {"params": {"resolution": 1.0}}
    adata.uns["pca"] = {"variance": rng.random(50), "variance_ratio": rng.random(50)}
    return adata


SPARSE_DENSITY, SPARSE_CHUNKS = 0.1, 8


def sparse_x(adata):
    """X as CSR float32: the dense values kept with probability 0.1 (fixed seed)."""
    keep = np.random.default_rng(1).random(adata.X.shape) < SPARSE_DENSITY
    return sparse.csr_matrix(np.where(keep, adata.X, np.float32(0)))


def write_sparse(adata, path):
    """Write adata with a CSR X whose data/indices are in SPARSE_CHUNKS chunks each."""
    csr = adata.copy()
    csr.X = sparse_x(adata)
    csr.write_zarr(path)
    chunk = -(-csr.X.nnz // SPARSE_CHUNKS)
    root = zarr.open_group(path, mode="a")
    for part in ("data", "indices"):
        values = root["X"][part][:]
        root["X"].create_dataset(part, data=values, chunks=(chunk,), overwrite=True)
    zarr.consolidate_metadata(path)


def expected(adata):
    out = expected_of(adata.X, adata)
    # the same queries on the CSR store's X
    out["sums_csr"] = expected_of(sparse_x(adata).toarray(), adata)["sums"]
    return out


def expected_of(X, adata):
    mask = adata.var["n_cells"].values > 1000
    gene = np.flatnonzero(adata.var.index == GENE)
    mean = X.mean(axis=0, dtype=np.float64)
    return {
        "shape": list(X.shape),
        "gene": GENE, "gene_index": int(gene[0]),
        "n_cells_above_1000": [int(i) for i in np.flatnonzero(mask)],
        "one_cell": ONE_CELL,
        # Sums in float64 of each query's result: a cheap, order-independent check.
        "sums": {
            "one_gene": float(X[:, gene].sum(dtype=np.float64)),
            "genes_n_cells_gt_1000": float(X[:, mask].sum(dtype=np.float64)),
            "rows_0_100": float(X[0:100].sum(dtype=np.float64)),
            "one_cell": float(X[ONE_CELL].sum(dtype=np.float64)),
            "mean_per_gene": float(mean.sum()),
        },
    }


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    out = argv[0]
    os.makedirs(out, exist_ok=True)
    adata = make_adata()
    written = {}
    for spec in argv[1:]:
        name, shape = spec.split("=")
        path = os.path.join(out, f"{name}.zarr")
        if shape == "csr":
            write_sparse(adata, path)
            written[name] = {"path": path, "format": "csr"}
            continue
        chunks = [int(n) for n in shape.split("x")]
        adata.write_zarr(path, chunks=chunks)
        zarr.consolidate_metadata(path)
        written[name] = {"path": path, "chunks": chunks}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({**expected(adata), "stores": written}, f, indent=1)
    print(json.dumps(written))


if __name__ == "__main__":
    main(sys.argv[1:])
