#!/usr/bin/python3
"""Compare stores written by zask with reference stores, part by part, using anndata 0.8.

    /usr/bin/python3 interop_check.py '[{"written": W, "reference": R, "chunks": {"X": [97, 25]}}, ...]'

Prints one JSON line: a list of {"ok": bool, "problems": [...], "repr": "..."}, one per pair;
exits 0 either way (the Node test reads the JSON and reports the problems). One process for
all pairs, because importing anndata takes seconds.
"""
import json
import sys

import anndata as ad
import numpy as np
import pandas as pd
import zarr
from scipy import sparse


def same_matrix(a, b):
    if sparse.issparse(a) != sparse.issparse(b):
        return False, f"sparse {sparse.issparse(a)} vs {sparse.issparse(b)}"
    if sparse.issparse(a):
        if a.format != b.format:
            return False, f"format {a.format} vs {b.format}"
        if a.dtype != b.dtype:
            return False, f"dtype {a.dtype} vs {b.dtype}"
        return (a != b).nnz == 0 and a.shape == b.shape, "values differ"
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype:
        return False, f"dtype {a.dtype} vs {b.dtype}"
    return a.shape == b.shape and np.array_equal(a, b), "values differ"


def same_value(a, b):
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or set(a) != set(b):
            return False
        return all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) == type(b) and a == b


def compare(written, reference, chunk_checks):
    w = ad.read_zarr(written)
    r = ad.read_zarr(reference)
    problems = []
    if w.shape != r.shape:
        problems.append(f"shape {w.shape} vs {r.shape}")
    ok, why = same_matrix(w.X, r.X)
    if not ok:
        problems.append(f"X: {why}")
    for name in ("obs", "var"):
        a, b = getattr(w, name), getattr(r, name)
        try:
            pd.testing.assert_frame_equal(a, b)
        except AssertionError as e:
            problems.append(f"{name}: {e}")
    for slot in ("obsm", "varm", "obsp", "varp", "layers"):
        a, b = getattr(w, slot), getattr(r, slot)
        if set(a.keys()) != set(b.keys()):
            problems.append(f"{slot} keys {sorted(a.keys())} vs {sorted(b.keys())}")
            continue
        for k in a.keys():
            ok, why = same_matrix(a[k], b[k])
            if not ok:
                problems.append(f"{slot}/{k}: {why}")
    if not same_value(dict(w.uns), dict(r.uns)):
        problems.append(f"uns: {dict(w.uns)!r} vs {dict(r.uns)!r}")
    if (w.raw is None) != (r.raw is None):
        problems.append("raw present in one only")
    elif w.raw is not None:
        ok, why = same_matrix(w.raw.X, r.raw.X)
        if not ok:
            problems.append(f"raw/X: {why}")
        try:
            pd.testing.assert_frame_equal(w.raw.var, r.raw.var)
        except AssertionError as e:
            problems.append(f"raw/var: {e}")
    g = zarr.open_consolidated(written, mode="r")
    for path, want in chunk_checks.items():
        if g[path].chunks != tuple(want):
            problems.append(f"{path} chunks {g[path].chunks} vs {tuple(want)}")
    return {"ok": not problems, "problems": problems, "repr": repr(w)}


pairs = json.loads(sys.argv[1])
print(json.dumps([compare(p["written"], p["reference"], p.get("chunks", {})) for p in pairs]))
