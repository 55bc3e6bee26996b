#!/usr/bin/python3
"""Write an AnnData zarr store with a big float32 X, for the memory and big-store benchmarks.

Usage: /usr/bin/python3 write_big_store.py OUT.zarr [N_OBS N_VARS CHUNK_OBS CHUNK_VARS] [--annotated]

Defaults: X 65536 x 8192 float32 (exactly 2 GiB decoded), chunks (4096, 1024) = 16 MiB,
blosc-lz4 like anndata's default. anndata 0.8 writes obs/var and the group attributes; X is
then replaced by a zarr array of the same encoding filled one chunk at a time, so the writer
never holds more than one chunk. Prints JSON with the shape, chunks and the float64 sum of
the per-gene means (the reduction's expected answer).

With --annotated, obs and var look like pbmc3k_processed's scaled up (what `npm run bench --
--only big` reads): obs has string names, a categorical `louvain`, `n_genes` (int64),
`percent_mito` and `n_counts` (float32); var has `n_cells` with exactly 59 genes above 1000
and a gene named C1orf86. The JSON then also holds the answers of every benchmark query, in
the shape of write_pbmc_like.py's expected.json.
"""
import json
import sys

import anndata
import numpy as np
import pandas as pd
import zarr
from anndata.experimental import write_elem
from numcodecs import Blosc, VLenUTF8

GENE, GENE_AT, N_ABOVE = "C1orf86", 3, 59
LOUVAIN = ["CD4 T cells", "CD14+ Monocytes", "B cells", "CD8 T cells",
           "NK cells", "FCGR3A+ Monocytes", "Dendritic cells", "Megakaryocytes"]


def annotations(n_obs, n_vars):
    """pbmc3k_processed-like obs and var of the given lengths (fixed seed)."""
    rng = np.random.default_rng(2)
    obs = pd.DataFrame({
        "n_genes": rng.integers(200, 2500, size=n_obs).astype(np.int64),
        "percent_mito": rng.random(n_obs, dtype=np.float32) * 0.05,
        "n_counts": rng.random(n_obs, dtype=np.float32) * 10000,
        "louvain": pd.Categorical.from_codes(rng.integers(0, len(LOUVAIN), size=n_obs), categories=LOUVAIN),
    }, index=pd.Index([f"CELL{i:06d}-1" for i in range(n_obs)]))
    names = [f"GENE{i:05d}" for i in range(n_vars)]
    names[GENE_AT] = GENE
    above = np.sort(rng.choice(n_vars, size=N_ABOVE, replace=False))
    n_cells = rng.integers(3, 1001, size=n_vars)
    n_cells[above] = rng.integers(1001, n_obs + 1, size=N_ABOVE)
    var = pd.DataFrame({"n_cells": n_cells.astype(np.int64)}, index=pd.Index(names))
    return obs, var


def main(argv):
    annotated = "--annotated" in argv
    argv = [a for a in argv if a != "--annotated"]
    if not argv:
        sys.exit(__doc__)
    out = argv[0]
    n_obs, n_vars, c_obs, c_vars = (int(a) for a in (argv[1:5] or (65536, 8192, 4096, 1024)))
    if annotated:
        obs, var = annotations(n_obs, n_vars)
    else:
        obs, var = pd.DataFrame(index=pd.Index([f"CELL{i}" for i in range(n_obs)])), None
    small = anndata.AnnData(X=np.zeros((n_obs, 1), dtype=np.float32), obs=obs)
    small.write_zarr(out)
    group = zarr.open_group(out, mode="a")
    del group["X"]
    if var is None:
        group.create_dataset("var/_index", data=np.array([f"GENE{i}" for i in range(n_vars)], dtype=object),
                             object_codec=VLenUTF8(), overwrite=True)
    else:
        del group["var"]
        write_elem(group, "var", var)
    X = group.create_dataset("X", shape=(n_obs, n_vars), chunks=(c_obs, c_vars), dtype="<f4",
                             compressor=Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE))
    X.attrs.update({"encoding-type": "array", "encoding-version": "0.2.0"})
    rng = np.random.default_rng(1)
    column_sums = np.zeros(n_vars, dtype=np.float64)
    mask = None if var is None else var["n_cells"].values > 1000
    sums = {"one_gene": 0.0, "genes_n_cells_gt_1000": 0.0, "rows_0_100": 0.0, "one_cell": 0.0}
    one_cell = min(1318, n_obs - 1)  # the peer's ONE_CELL (dask_http_queries.py)
    for i in range(0, n_obs, c_obs):
        for j in range(0, n_vars, c_vars):
            block = rng.standard_normal((min(c_obs, n_obs - i), min(c_vars, n_vars - j)), dtype=np.float32)
            X[i:i + block.shape[0], j:j + block.shape[1]] = block
            column_sums[j:j + block.shape[1]] += block.sum(axis=0, dtype=np.float64)
            if mask is not None:
                rows = np.arange(i, i + block.shape[0])
                cols = np.arange(j, j + block.shape[1])
                sums["genes_n_cells_gt_1000"] += float(block[:, mask[j:j + block.shape[1]]].sum(dtype=np.float64))
                if GENE_AT in cols:
                    sums["one_gene"] += float(block[:, GENE_AT - j].sum(dtype=np.float64))
                sums["rows_0_100"] += float(block[rows < 100].sum(dtype=np.float64))
                if one_cell in rows:
                    sums["one_cell"] += float(block[one_cell - i].sum(dtype=np.float64))
    zarr.consolidate_metadata(out)
    result = {"path": out, "shape": [n_obs, n_vars], "chunks": [c_obs, c_vars],
              "decoded_bytes": n_obs * n_vars * 4,
              "sums": {"mean_per_gene": float((column_sums / n_obs).sum())}}
    if mask is not None:
        result.update({"gene": GENE, "gene_index": GENE_AT,
                       "n_cells_above_1000": [int(i) for i in np.flatnonzero(mask)],
                       "one_cell": one_cell, "sums_csr": {}})
        result["sums"].update(sums)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
