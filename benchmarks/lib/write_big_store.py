#!/usr/bin/python3
"""Write an AnnData zarr store whose X is 2 GiB of float32, for the memory benchmark.

Usage: /usr/bin/python3 write_big_store.py OUT.zarr [N_OBS N_VARS CHUNK_OBS CHUNK_VARS]

Defaults: X 65536 x 8192 float32 (exactly 2 GiB decoded), chunks (4096, 1024) = 16 MiB,
blosc-lz4 like anndata's default. anndata 0.8 writes obs/var and the group attributes; X is
then replaced by a zarr array of the same encoding filled one chunk at a time, so the writer
never holds more than one chunk. Prints JSON with the shape, chunks and the float64 sum of
the per-gene means (the reduction's expected answer).
"""
import json
import sys

import anndata
import numpy as np
import pandas as pd
import zarr
from numcodecs import Blosc


def main(argv):
    if not argv:
        sys.exit(__doc__)
    out = argv[0]
    n_obs, n_vars, c_obs, c_vars = (int(a) for a in (argv[1:5] or (65536, 8192, 4096, 1024)))
    small = anndata.AnnData(
        X=np.zeros((n_obs, 1), dtype=np.float32),
        obs=pd.DataFrame(index=pd.Index([f"CELL{i}" for i in range(n_obs)])),
    )
    small.write_zarr(out)
    group = zarr.open_group(out, mode="a")
    del group["X"]
    group.create_dataset("var/_index", data=np.array([f"GENE{i}" for i in range(n_vars)], dtype=object),
                         object_codec=__import__("numcodecs").VLenUTF8(), overwrite=True)
    X = group.create_dataset("X", shape=(n_obs, n_vars), chunks=(c_obs, c_vars), dtype="<f4",
                             compressor=Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE))
    X.attrs.update({"encoding-type": "array", "encoding-version": "0.2.0"})
    rng = np.random.default_rng(1)
    column_sums = np.zeros(n_vars, dtype=np.float64)
    for i in range(0, n_obs, c_obs):
        for j in range(0, n_vars, c_vars):
            block = rng.standard_normal((min(c_obs, n_obs - i), min(c_vars, n_vars - j)), dtype=np.float32)
            X[i:i + block.shape[0], j:j + block.shape[1]] = block
            column_sums[j:j + block.shape[1]] += block.sum(axis=0, dtype=np.float64)
    zarr.consolidate_metadata(out)
    print(json.dumps({"path": out, "shape": [n_obs, n_vars], "chunks": [c_obs, c_vars],
                      "decoded_bytes": n_obs * n_vars * 4,
                      "sums": {"mean_per_gene": float((column_sums / n_obs).sum())}}))


if __name__ == "__main__":
    main(sys.argv[1:])
