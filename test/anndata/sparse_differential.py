#!/usr/bin/python3
"""Random sparse AnnData stores and scipy/numpy's answers to random queries on their X.

Run with the reference stack (anndata 0.8, zarr 2.13, scipy, numpy, from Debian):

    /usr/bin/python3 test/anndata/sparse_differential.py SEED OUTDIR

With numpy's default_rng(SEED), writes into OUTDIR a handful of AnnData stores whose X is a
CSR or CSC matrix (shapes from 1 x 1 to about 300 x 200, densities from 0 to 60%, empty rows
and columns, all-zero, single-row and single-column matrices, explicit stored zeros, lines
with unsorted indices, lines storing an index twice; float32, float64, int32, uint8 and bool data; int32 or int64 indices and indptr;
data/indices rewritten in chunks that do not divide nnz, of length 1 or longer than nnz, with
blosc, zlib, zstd or no compressor), and OUTDIR/expected.json: per store its parameters and a list
of queries, each a pipeline of steps (zero-preserving elementwise maps, an outer selection of
rows and columns, a reduction) with the answer's dtype, shape and values (float64, C order,
NaN as null). Values come from numpy on the dense matrix with numpy >= 2's dtype rules (zask's:
float32 where numpy would give float16); each step is also run on the scipy sparse matrix
where scipy has it, and must agree, or this script fails rather than write a wrong expectation
(not for argmin/argmax over both axes, where scipy 1.10 breaks ties in column order, nor over
NaN, where numpy's rules are the reference).
Prints the path of expected.json.
"""
import json
import os
import sys
import warnings

import anndata as ad
import numpy as np
import zarr
from numcodecs import Zlib, Zstd
from scipy import sparse

warnings.filterwarnings("ignore")

SEED = int(sys.argv[1])
OUT = sys.argv[2]
rng = np.random.default_rng(SEED)

FLOATS = ("float32", "float64")
REDUCTIONS = ("sum", "mean", "var", "std", "min", "max", "countNonzero", "any", "all", "argmin", "argmax")
# Reductions defined over an empty set (numpy gives 0, NaN, True, False there).
EMPTY_OK = ("sum", "mean", "var", "std", "countNonzero", "any", "all")


# --- stores ---------------------------------------------------------------------------------


def values_for(dtype, n, explicit_zeros):
    """n stored values of `dtype`, nonzero unless `explicit_zeros` (then about a fifth are 0)."""
    if dtype in FLOATS:
        v = rng.uniform(0.5, 10.0, n) * rng.choice([-1.0, 1.0], n)
    elif dtype == "int32":
        v = rng.integers(1, 51, n) * rng.choice([-1, 1], n)
    elif dtype == "uint8":
        v = rng.integers(1, 256, n)
    else:
        v = np.ones(n)
    v = v.astype(dtype)
    if explicit_zeros and n > 0:
        v[rng.random(n) < 0.2] = 0
    return v


def make_matrix(kind, rows, cols, density, fmt, dtype):
    mask = rng.random((rows, cols)) < density
    if kind == "all-zero":
        mask[:] = False
    if kind == "empty-lines":
        mask[rng.random(rows) < 0.3, :] = False
        mask[:, rng.random(cols) < 0.3] = False
    r, c = np.nonzero(mask)
    data = values_for(dtype, len(r), kind == "explicit-zeros")
    coo = sparse.coo_matrix((data, (r, c)), shape=(rows, cols), dtype=dtype)
    m = coo.tocsr() if fmt == "csr" else coo.tocsc()
    if kind == "explicit-zeros":
        assert m.nnz == len(r)  # the zeros stay stored
    if kind == "unsorted-indices":
        # A valid matrix scipy does not sort: each major line's stored values in random order.
        for a in range(m.indptr.size - 1):
            lo, hi = m.indptr[a], m.indptr[a + 1]
            p = rng.permutation(hi - lo) + lo
            m.indices[lo:hi] = m.indices[p]
            m.data[lo:hi] = m.data[p]
        m.has_sorted_indices = False
    if kind == "duplicates":
        m = with_duplicates(m)
    return m


def with_duplicates(m):
    """A valid matrix scipy has not summed up: about a third of the stored values split in two at
    the same index, a few indices holding a pair that sums to zero, each line shuffled. Its
    toarray, the reference, adds the parts up, as scipy's own reductions do."""
    indptr, indices, data = [0], [], []
    signed = m.dtype.kind != "u" and m.dtype != np.bool_
    for a in range(m.indptr.size - 1):
        line_ix, line_v = [], []
        lo, hi = m.indptr[a], m.indptr[a + 1]
        for j, v in zip(m.indices[lo:hi], m.data[lo:hi]):
            if rng.random() < 0.35:
                part = v if m.dtype == np.bool_ else (v // 2 if m.dtype.kind in "iu" else np.asarray(v * 0.25, dtype=m.dtype))
                line_ix += [j, j]
                line_v += [part, v if m.dtype == np.bool_ else v - part]
            else:
                line_ix.append(j)
                line_v.append(v)
        free = sorted(set(range(m.shape[1] if m.format == "csr" else m.shape[0])) - set(line_ix))
        if signed and free and rng.random() < 0.2:
            j = int(rng.choice(free))
            line_ix += [j, j]
            line_v += [np.asarray(3, dtype=m.dtype), np.asarray(-3, dtype=m.dtype)]
        order = rng.permutation(len(line_ix))
        indices += [line_ix[k] for k in order]
        data += [line_v[k] for k in order]
        indptr.append(len(indices))
    cls = sparse.csr_matrix if m.format == "csr" else sparse.csc_matrix
    out = cls((np.asarray(data, dtype=m.dtype), np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int32)), shape=m.shape)
    out.has_sorted_indices = False
    out.has_canonical_format = False
    assert not out.has_canonical_format and out.nnz >= m.nnz
    return out


def chunk_length(nnz):
    """A chunk length for data/indices: 1, longer than nnz, or one that does not divide nnz."""
    choices = ["above"]
    if nnz <= 60:
        choices.append("one")
    if nnz > 2:
        choices += ["odd", "odd"]
    pick = rng.choice(choices)
    if pick == "one":
        return 1
    if pick == "above":
        return int(nnz + rng.integers(1, 50))
    low = max(2, -(-nnz // 50))  # at most ~50 chunks, each a task per query
    for _ in range(100):
        c = int(np.exp(rng.uniform(np.log(low), np.log(nnz))))  # log-uniform: many chunks as often as few
        if nnz % c != 0:
            return c
    return nnz + 1


STORE_KINDS = ["one-by-one", "single-row", "single-column", "all-zero", "empty-lines", "explicit-zeros", "unsorted-indices", "duplicates", "random", "large"]
DTYPES = ["float32", "float64", "int32", "uint8", "bool"]


def store_params(kind, dtype, fmt):
    if kind == "one-by-one":
        rows, cols = 1, 1
    elif kind == "single-row":
        rows, cols = 1, int(rng.integers(1, 201))
    elif kind == "single-column":
        rows, cols = int(rng.integers(2, 301)), 1
    elif kind == "large":
        rows, cols = int(rng.integers(200, 301)), int(rng.integers(120, 201))
    else:
        rows, cols = int(rng.integers(2, 301)), int(rng.integers(2, 201))
    if kind == "one-by-one":
        density = float(rng.choice([0.0, 1.0]))
    elif kind == "all-zero":
        density = 0.0
    elif kind == "large":
        density = float(rng.uniform(0.3, 0.6))
    else:
        density = float(rng.uniform(0.001, 0.05) if rng.random() < 0.3 else rng.uniform(0.05, 0.6))
    return {
        "kind": kind,
        "format": fmt,
        "rows": rows,
        "cols": cols,
        "density": round(density, 4),
        "dtype": dtype if kind != "explicit-zeros" or dtype != "bool" else "float32",
        "indices": str(rng.choice(["int32", "int64"])),
        "indptr": str(rng.choice(["int32", "int64"])),
        "compressor": str(rng.choice(["blosc", "blosc", "zlib", "zstd", "none"])),
    }


def write_store(path, m, p):
    a = ad.AnnData(X=m, dtype=m.dtype)
    a.write_zarr(path)
    root = zarr.open_group(path, mode="r+")
    x = root["X"]
    compressor = {"blosc": "default", "zlib": Zlib(level=1), "zstd": Zstd(level=1), "none": None}[p["compressor"]]
    kw = {} if compressor == "default" else {"compressor": compressor}
    # Rewrite the parts as the fixture generators do, with chosen chunks, dtypes and codec.
    for part, dtype in (("data", p["dtype"]), ("indices", p["indices"])):
        values = x[part][:].astype(dtype)
        del x[part]
        x.create_dataset(part, data=values, chunks=(p["chunk"],), **kw)
    indptr = x["indptr"][:].astype(p["indptr"])
    del x["indptr"]
    x.create_dataset("indptr", data=indptr, chunks=(p["indptr_chunk"],), **kw)
    zarr.consolidate_metadata(path)
    # Read it back with the reference reader before trusting it.
    back = ad.read_zarr(path).X
    assert back.format == p["format"] and back.dtype == m.dtype and (back != m).nnz == 0, path


# --- queries --------------------------------------------------------------------------------


SELECTORS = ["all", "int", "slice", "sorted", "unsorted-dups", "mask", "mask-none", "empty-list"]
SELECTOR_WEIGHTS = [0.1, 0.12, 0.22, 0.18, 0.18, 0.14, 0.03, 0.03]


def random_selector(n):
    kind = rng.choice(SELECTORS, p=SELECTOR_WEIGHTS)
    if kind == "all":
        return {"kind": "all"}
    if kind == "int":
        return {"kind": "int", "value": int(rng.integers(-n, n))}
    if kind == "slice":

        def bound():
            return None if rng.random() < 0.25 else int(rng.integers(-n - 2, n + 3))

        step = [None, 1, 2, 3, 7, -1, -2, -5][int(rng.integers(0, 8))]
        start, stop = bound(), bound()
        if rng.random() < 0.8 and start is not None and stop is not None:
            # mostly bounds in the step's direction, so that most slices select something
            a, b = sorted((start % (n + 2), stop % (n + 2)))
            start, stop = (a, b) if step is None or step > 0 else (b, a)
        return {"kind": "slice", "start": start, "stop": stop, "step": step}
    if kind == "sorted":
        k = int(rng.integers(1, min(n, 25) + 1))
        return {"kind": "list", "value": sorted(int(v) for v in rng.choice(n, k, replace=False))}
    if kind == "unsorted-dups":
        k = int(rng.integers(1, 25))
        v = rng.integers(0, n, k)
        if k > 1:
            v[-1] = v[0]  # at least one repeat
        v = [int(i - n) if rng.random() < 0.2 else int(i) for i in v]  # some counted from the end
        return {"kind": "list", "value": v}
    if kind == "mask":
        return {"kind": "mask", "value": [bool(b) for b in rng.random(n) < rng.uniform(0.05, 1)]}
    if kind == "mask-none":
        return {"kind": "mask", "value": [False] * n}
    return {"kind": "list", "value": []}


def positions(sel, n):
    """The selected positions of an axis of length n, and whether the axis is dropped."""
    if sel["kind"] == "all":
        return np.arange(n), False
    if sel["kind"] == "int":
        return np.array([np.arange(n)[sel["value"]]]), True
    if sel["kind"] == "slice":
        return np.arange(n)[slice(sel["start"], sel["stop"], sel["step"])], False
    if sel["kind"] == "mask":
        return np.nonzero(np.array(sel["value"], dtype=bool))[0], False
    return np.arange(n)[np.array(sel["value"], dtype=np.int64)], False


def vector(n):
    """The float64 vector of a `mulrow`/`mulcol` map, exact in binary; the test builds the same."""
    return ((np.arange(n) * 7) % 11 + 1) / 8


def map_dtype(name, value, dt):
    """numpy >= 2's result dtype (python scalars weak), float32 where numpy gives float16."""
    isfloat = dt.kind == "f"
    if name in ("mulrow", "mulcol"):
        return np.dtype("float64")
    if name == "abs":
        return dt
    if name == "log1p":
        return dt if isfloat else np.dtype("float32") if dt.itemsize <= 2 else np.dtype("float64")
    if name == "mul" and isinstance(value, float):
        return dt if isfloat else np.dtype("float64")
    return np.dtype("int64") if dt == np.bool_ else dt  # mul by an int, pow by an int


def apply_map(arr, name, value):
    out = map_dtype(name, value, arr.dtype)
    with np.errstate(over="ignore"):
        if name == "mulrow":
            return arr * vector(arr.shape[1])[None, :]
        if name == "mulcol":
            return arr * vector(arr.shape[0])[:, None]
        if name == "abs":
            return np.abs(arr)
        if name == "log1p":
            return np.log1p(arr.astype(out))
        if name == "mul":
            return arr.astype(out) * np.array(value, dtype=out)
        return arr.astype(out) ** np.array(value, dtype=out)


def scipy_map(m, name, value):
    if name == "mulrow":
        return sparse.csr_matrix(m.multiply(vector(m.shape[1])[None, :]))
    if name == "mulcol":
        return sparse.csr_matrix(m.multiply(vector(m.shape[0])[:, None]))
    if name == "abs":
        return abs(m)
    if name == "log1p":
        # scipy computes 8-bit inputs in float16, which zask and this script replace with float32
        return (m.astype(np.float32) if m.dtype.kind != "f" and m.dtype.itemsize <= 2 else m).log1p()
    if name == "mul":
        return m.multiply(value).tocsr() if m.format == "csr" else m.multiply(value).tocsc()
    return m.power(value)


def reduce_dtype(kind, dt):
    if kind == "sum":
        return dt if dt.kind == "f" else np.dtype("uint64") if dt.kind == "u" else np.dtype("int64")
    if kind in ("mean", "var", "std"):
        return dt if dt.kind == "f" else np.dtype("float64")
    if kind in ("min", "max"):
        return dt
    if kind in ("any", "all"):
        return np.dtype("bool")
    return np.dtype("int64")


def reduce_values(arr, kind, axis, keepdims):
    """The reduction's values in float64 (floats accumulated in float64, as zask does), and a scale for the tolerance."""
    kw = {"axis": axis, "keepdims": keepdims}
    f = arr.astype(np.float64)
    scale = None
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "sum":
            v = np.sum(arr, dtype=reduce_dtype("sum", arr.dtype) if arr.dtype.kind != "f" else np.float64, **kw)
            scale = np.sum(np.abs(f), **kw)
        elif kind == "mean":
            v, scale = np.mean(f, **kw), np.mean(np.abs(f), **kw)
        elif kind == "var":
            v, scale = np.var(f, **kw), np.mean(f * f, **kw)
        elif kind == "std":
            v, scale = np.std(f, **kw), np.sqrt(np.mean(f * f, **kw))
        elif kind == "min":
            v = np.min(arr, **kw)
        elif kind == "max":
            v = np.max(arr, **kw)
        elif kind == "countNonzero":
            v = np.count_nonzero(arr, **kw)
        elif kind == "any":
            v = np.any(arr, **kw)
        elif kind == "all":
            v = np.all(arr, **kw)
        elif kind == "argmin":
            v = np.argmin(arr, **kw)
        else:
            v = np.argmax(arr, **kw)
    return np.asarray(v), None if scale is None else np.asarray(scale)


def scipy_reduce(m, kind, axis):
    """scipy's own answer where its sparse matrices have the reduction, else None."""
    if kind in ("sum", "mean", "min", "max", "argmin", "argmax"):
        if kind in ("mean",) and m.dtype == np.bool_:
            return None
        if kind in ("argmin", "argmax") and axis is None:
            return None  # scipy 1.10 breaks ties in column order; numpy's first in C order is the reference
        r = getattr(m, kind)(axis=axis)
        r = r.toarray() if sparse.issparse(r) else np.asarray(r)
        return r.reshape(-1)
    if kind == "countNonzero" and axis is None:
        return np.asarray([m.count_nonzero()])
    return None


def check_scipy(got, want, dtype, what):
    got = np.asarray(got, dtype=np.float64).reshape(-1)
    want = np.asarray(want, dtype=np.float64).reshape(-1)
    rtol = 1e-4 if np.dtype(dtype) == np.float32 else 1e-9
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True):
        raise AssertionError(f"scipy and numpy disagree on {what}: {got[:8]} vs {want[:8]}")


def random_query(m, store):
    """A pipeline of steps on X, run on the dense matrix (the expectation) and on scipy's."""
    steps = []
    arr = m.toarray()
    sp = m  # scipy's matrix while the pipeline stays 2-d and sparse
    has_map, has_select, has_reduce = rng.random() < 0.3, rng.random() < 0.7, rng.random() < 0.5
    if not (has_map or has_select or has_reduce):
        has_select = True
    map_first = rng.random() < 0.5

    def do_map():
        nonlocal arr, sp
        # products with a row or column vector, only on a 2-d array (before or after a selection)
        names = ["mul", "mul", "log1p", "abs", "pow"] + (["mulrow", "mulcol"] if arr.ndim == 2 else [])
        name = str(rng.choice(names))
        value = None
        if name == "mul":
            ints = [2, 3, 0] if m.dtype == np.uint8 else [2, -3, 0]  # numpy >= 2 refuses -3 for uint8
            # floats with a fraction: JSON (and JavaScript) cannot tell 2.0 from 2
            value = float(rng.choice([2.5, -0.5, 0.125])) if rng.random() < 0.6 else int(rng.choice(ints))
        if name == "pow":
            value = 2
        steps.append({"op": "map", "name": name, "value": value})
        arr = apply_map(arr, name, value)
        if sp is not None:
            sp = scipy_map(sp, name, value)
            check_scipy(sp.toarray().reshape(arr.shape), arr, arr.dtype, f"{store} {name}")

    if has_map and map_first:
        do_map()
    if has_select:
        shape = arr.shape
        rs, cs = random_selector(shape[0]), random_selector(shape[1])
        steps.append({"op": "select", "rows": rs, "cols": cs})
        ri, rdrop = positions(rs, shape[0])
        ci, cdrop = positions(cs, shape[1])
        arr = arr[np.ix_(ri, ci)]
        sp = sp[ri, :][:, ci] if len(ri) and len(ci) else None
        if sp is not None:
            check_scipy(sp.toarray(), arr, arr.dtype, f"{store} select")
        sp = None if (rdrop or cdrop) else sp
        arr = arr.reshape([n for n, d in zip(arr.shape, (rdrop, cdrop)) if not d])
    if has_map and not map_first:
        do_map()
    if has_reduce:
        kind = str(rng.choice(REDUCTIONS))
        axes = [[None], [None, 0, -1], [None, 0, 1, -1]][arr.ndim]
        axis = axes[int(rng.integers(0, len(axes)))]
        reduced = arr.size if axis is None else arr.shape[axis]
        if reduced > 0 or kind in EMPTY_OK:
            keepdims = bool(rng.random() < 0.2)
            v, scale = reduce_values(arr, kind, axis, keepdims)
            # numpy's NaN rules (argmin at the first NaN) are the reference; scipy's differ
            if sp is not None and not keepdims and arr.size > 0 and not np.isnan(arr.astype(np.float64)).any():
                s = scipy_reduce(sp, kind, axis)
                if s is not None:
                    check_scipy(s, v, arr.dtype, f"{store} {kind} axis {axis} after {steps}")
            steps.append({"op": "reduce", "kind": kind, "axis": axis, "keepdims": keepdims})
            return steps, reduce_dtype(kind, arr.dtype), v, scale
    return steps, arr.dtype, arr, None


def encode(v):
    """Values as JSON: NaN as null, infinities as "inf" and "-inf"."""
    return [None if np.isnan(x) else str(x) if np.isinf(x) else float(x) for x in np.asarray(v, dtype=np.float64).reshape(-1)]


def main():
    os.makedirs(OUT, exist_ok=True)
    stores = []
    # every dtype on a few stores, CSR and CSC about as often; which store gets which varies with the seed
    dtypes = [str(d) for d in rng.permutation(DTYPES * 2)]
    formats = [str(f) for f in rng.permutation(["csr", "csc"] * 5)]
    for i, kind in enumerate(STORE_KINDS):
        p = store_params(kind, dtypes[i], formats[i])
        m = make_matrix(kind, p["rows"], p["cols"], p["density"], p["format"], p["dtype"])
        p["nnz"] = int(m.nnz)
        # lines of one value each hold a few stored values: read them a chunk of one at a time
        p["chunk"] = 1 if kind in ("single-row", "single-column") and 0 < m.nnz <= 60 else chunk_length(m.nnz)
        major = m.indptr.size
        p["indptr_chunk"] = int(rng.choice([major, max(1, major // 3 + 1), int(rng.integers(1, major + 1))]))
        name = f"s{SEED}.{i}.{kind}.{p['format']}.{p['dtype']}.zarr"
        write_store(os.path.join(OUT, name), m, p)
        queries = [{"steps": [], "dtype": str(m.dtype), "shape": list(m.shape), "values": encode(m.toarray())}]
        for _ in range(28):
            steps, dtype, v, scale = random_query(m, name)
            q = {"steps": steps, "dtype": str(np.dtype(dtype)), "shape": list(np.shape(v)), "values": encode(v)}
            if scale is not None:
                q["scale"] = encode(scale)
            queries.append(q)
        stores.append({"name": name, "params": p, "queries": queries})
    path = os.path.join(OUT, "expected.json")
    with open(path, "w") as f:
        json.dump({"seed": SEED, "stores": stores}, f)
    print(path)


main()
