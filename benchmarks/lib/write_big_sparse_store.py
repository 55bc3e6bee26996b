#!/usr/bin/python3
"""Write an AnnData zarr store whose X is a ≥ 2 GB CSR matrix, for the sparse memory benchmark.

Usage: /usr/bin/python3 write_big_sparse_store.py OUT.zarr [N_OBS N_VARS PER_ROW CHUNK]

Defaults: X 200,000 x 20,000 with 1,000 stored values per row (5%): 200 million float64 values
and int32 indices, uncompressed (random values do not compress), 2.4 GB on disk, in the 1-d
chunks zarr picks by default (what anndata 0.8 writes: 390,625 values). anndata 0.8 writes obs/var and the group attributes; data/indices are then filled one
chunk at a time, so the writer never holds more than one chunk. Prints JSON with the shape,
the bytes on disk and the float64 sum of the per-gene means (the reduction's expected answer).
"""
import json
import sys

import anndata
import numpy as np
import pandas as pd
import zarr
import zarr.util


def main(argv):
    if not argv:
        sys.exit(__doc__)
    out = argv[0]
    n_obs, n_vars, per_row, chunk = (int(a) for a in (argv[1:5] or (200_000, 20_000, 1_000, 0)))
    nnz = n_obs * per_row
    chunk = chunk or zarr.util.guess_chunks((nnz,), 8)[0]
    stride = n_vars // per_row
    small = anndata.AnnData(
        X=np.zeros((n_obs, 1), dtype=np.float32),
        obs=pd.DataFrame(index=pd.Index([f"CELL{i}" for i in range(n_obs)])),
    )
    small.write_zarr(out)
    group = zarr.open_group(out, mode="a")
    del group["X"]
    group.create_dataset("var/_index", data=np.array([f"GENE{i}" for i in range(n_vars)], dtype=object),
                         object_codec=__import__("numcodecs").VLenUTF8(), overwrite=True)
    X = group.create_group("X")
    X.attrs.update({"encoding-type": "csr_matrix", "encoding-version": "0.1.0", "shape": [n_obs, n_vars]})
    data = X.create_dataset("data", shape=(nnz,), chunks=(chunk,), dtype="<f8", compressor=None)
    indices = X.create_dataset("indices", shape=(nnz,), chunks=(chunk,), dtype="<i4", compressor=None)
    X.create_dataset("indptr", data=np.arange(0, nnz + 1, per_row, dtype=np.int64), chunks=(2**20,))
    rng = np.random.default_rng(1)
    column_sums = np.zeros(n_vars, dtype=np.float64)
    base = np.arange(per_row, dtype=np.int32) * stride
    pending_v, pending_i, at = [], [], 0
    rows_per_step = max(1, chunk // per_row)
    for r in range(0, n_obs, rows_per_step):
        rows = min(rows_per_step, n_obs - r)
        idx = (base[None, :] + rng.integers(0, stride, size=(rows, per_row), dtype=np.int32)).ravel()
        val = rng.standard_normal(rows * per_row)
        column_sums += np.bincount(idx, weights=val, minlength=n_vars)
        pending_v.append(val)
        pending_i.append(idx)
        # write whole chunks only, so each chunk is written once
        have = sum(len(v) for v in pending_v)
        if have >= chunk or r + rows >= n_obs:
            v = np.concatenate(pending_v)
            i = np.concatenate(pending_i)
            n = len(v) if r + rows >= n_obs else (len(v) // chunk) * chunk
            data[at:at + n] = v[:n]
            indices[at:at + n] = i[:n]
            at += n
            pending_v, pending_i = [v[n:]], [i[n:]]
    assert at == nnz
    zarr.consolidate_metadata(out)
    print(json.dumps({"path": out, "shape": [n_obs, n_vars], "nnz": nnz, "chunk": chunk,
                      "disk_bytes": nnz * 12, "decoded_bytes": nnz * 12,
                      "sums": {"mean_per_gene": float((column_sums / n_obs).sum())}}))


if __name__ == "__main__":
    main(sys.argv[1:])
