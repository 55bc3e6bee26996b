#!/usr/bin/python3
"""Stores and checks for test/anndata/write-sparse-stream.test.ts (sparse matrices written a window
of blocks at a time). Run with the reference stack (/usr/bin/python3: anndata 0.8, zarr 2.13).

    write_sparse_stream.py generate DIR
        Writes DIR/wide.zarr: an AnnData whose X is a 300 x 50 CSR float64 matrix with int64
        indices and indptr (as scipy keeps them past 2^31 values), stored big endian, with empty
        rows and explicit zeros, in chunks of 97; and layers/csc, the same matrix as CSC int32.

    write_sparse_stream.py compare PAIRS.json
        PAIRS.json: [{"label": L, "reference": R, "written": W, "element": E}, ...]. Reads element E
        (e.g. "X") of both stores with anndata's read_elem and compares format, shape, dtype, the
        dtypes of indices and indptr, and every stored value bit for bit. Prints one JSON line:
        [{"label": L, "problems": [...]}, ...].
"""
import json
import sys
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import zarr
from anndata.experimental import read_elem
from scipy import sparse

warnings.simplefilter("ignore")


def generate(out):
    rng = np.random.default_rng(20261207)
    dense = rng.standard_normal((300, 50))
    dense[rng.random((300, 50)) < 0.8] = 0
    dense[40:60] = 0  # empty rows
    m = sparse.csr_matrix(dense)
    m.data[::17] = 0  # explicit zeros stay stored
    obs = pd.DataFrame(index=[f"c{i}" for i in range(300)])
    var = pd.DataFrame(index=[f"g{j}" for j in range(50)])
    a = ad.AnnData(X=m, obs=obs, var=var, layers={"csc": sparse.csc_matrix(dense.astype(np.float32))}, dtype=np.float64)
    path = f"{out}/wide.zarr"
    a.write_zarr(path, chunks=(97,))
    # X's parts rewritten big endian, as a store from a big-endian machine holds them, and its
    # indices and indptr as int64 (anndata 0.8 narrows them on write)
    g = zarr.open(path, mode="r+")
    for name in ("data", "indices", "indptr"):
        arr = g["X"][name]
        values = arr[:] if name == "data" else arr[:].astype(np.int64)
        del g["X"][name]
        g["X"].create_dataset(name, data=values.astype(values.dtype.newbyteorder(">")), chunks=(97,), compressor=arr.compressor)
    zarr.consolidate_metadata(path)
    print(path)


def compare(pairs_file):
    with open(pairs_file) as f:
        pairs = json.load(f)
    out = []
    for p in pairs:
        problems = []
        elem = lambda store: zarr.open(store, mode="r") if p["element"] in ("", "/") else zarr.open(store, mode="r")[p["element"]]
        a = read_elem(elem(p["reference"]))
        b = read_elem(elem(p["written"]))
        for what, x, y in (
            ("format", a.format, b.format),
            ("shape", a.shape, b.shape),
            ("dtype", str(a.dtype), str(b.dtype)),
            ("indices dtype", str(a.indices.dtype), str(b.indices.dtype)),
            ("indptr dtype", str(a.indptr.dtype), str(b.indptr.dtype)),
        ):
            if x != y:
                problems.append(f"{what}: {x} vs {y}")
        if not problems:
            if not np.array_equal(a.indptr, b.indptr):
                problems.append("indptr differs")
            if not np.array_equal(a.indices, b.indices):
                problems.append("indices differ")
            if a.data.tobytes() != b.data.astype(a.data.dtype).tobytes():
                problems.append("data differs")
        out.append({"label": p["label"], "problems": problems})
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2])
    elif sys.argv[1] == "compare":
        compare(sys.argv[2])
    else:
        sys.exit(f"unknown command {sys.argv[1]!r}")
