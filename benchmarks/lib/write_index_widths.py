#!/usr/bin/python3
"""Write one random CSR matrix twice, with int32 and with int64 indices and indptr, for the
sparse index-width benchmark (benchmarks/sparse-index-width.bench.ts), with anndata 0.8.

Usage: /usr/bin/python3 write_index_widths.py OUT_DIR

X is 2638 x 1838 float32 at 10% (fixed seed), `data`/`indices` in 8 chunks each, as the
benchmark's pbmc-shaped CSR store. scipy keeps int32 indices while a matrix holds fewer than
2^31 values; the int64 copy has them widened, as scipy writes them past that.
"""
import os
import sys

import numpy as np
import zarr
from anndata._io.specs import write_elem
from scipy import sparse

out = sys.argv[1]
rng = np.random.default_rng(0)
m = sparse.random(2638, 1838, density=0.1, format="csr", dtype=np.float32, random_state=rng)
chunk = -(-m.nnz // 8)
for name, width in (("int32", np.int32), ("int64", np.int64)):
    x = m.copy()
    x.indices = x.indices.astype(width)
    x.indptr = x.indptr.astype(width)
    g = zarr.open_group(os.path.join(out, f"{name}.zarr"), mode="w")
    write_elem(g, "X", x, dataset_kwargs=dict(chunks=(chunk,)))
    assert g["X"]["indices"].dtype == width, g["X"]["indices"].dtype
print(m.nnz)
