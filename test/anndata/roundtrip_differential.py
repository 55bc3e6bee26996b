#!/usr/bin/python3
"""Random AnnData stores written by anndata 0.8, and a strict comparison of stores rewritten by
zask with them, for test/anndata/roundtrip-differential.test.ts.

Run with the reference stack (/usr/bin/python3: anndata 0.8, zarr 2.13, numcodecs 0.11).

    roundtrip_differential.py generate SEED DIR
        Writes DIR/<name>.zarr for a few random AnnData objects (random obs/var columns of every
        kind anndata 0.8 writes, dense/sparse/absent X, layers, obsm/varm, obsp/varp, nested uns,
        raw; random compressors, and some arrays rechunked or stored in Fortran order), and
        DIR/description.json: per store its parameters and every element as the zarr store holds
        it (walked by encoding-type: dtype, shape, values, categories, masks, attributes). Prints
        the description's path.

    roundtrip_differential.py compare PAIRS.json
        PAIRS.json: [{"label": L, "reference": R, "written": W}, ...]. For each pair, reads both
        with anndata and compares every part strictly (dtype, values bit for bit, categories and
        their order, NA positions, index and its name, column order, uns types), then walks both
        zarr trees (node kinds, attributes, array dtypes and shapes). A difference that anndata's
        own round trip of R (read_zarr, then write_zarr) shows too is not counted against W; it is
        listed under "excused". Prints one JSON line: [{"label", "problems", "excused"}, ...].
"""
import json
import os
import shutil
import sys
import tempfile
import warnings

import anndata as ad
import numcodecs
import numpy as np
import pandas as pd
import zarr
from anndata._io.zarr import write_zarr
from scipy import sparse

warnings.simplefilter("ignore")

ODD_STRINGS = [
    "",
    " ",
    "é",
    "e\u0301",  # e + combining acute
    "日本語のセル",
    "🧬 DNA",
    "a\tb\nc",
    'quote " and \\ backslash',
    "\u200d\u2060zero-width",
    "ﷺ العربية",
    "x" * 3000,
    "long " + "ü" * 700,
    "nbsp\u00a0and NUL\x00inside",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]

INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOAT_DTYPES = ["float32", "float64"]


# -- random values ------------------------------------------------------------------------------


def rand_ints(rng, dtype, size):
    info = np.iinfo(dtype)
    if rng.random() < 0.3:
        # extremes included (int64/uint64 beyond 2**53)
        vals = rng.integers(info.min, info.max, size=size, dtype=dtype, endpoint=True)
        flat = vals.reshape(-1)
        if flat.size:
            flat[0] = info.max
            flat[-1] = info.min
        return vals
    lo = max(info.min, -1000)
    return rng.integers(lo, 1000, size=size).astype(dtype)


def rand_floats(rng, dtype, size, specials=True):
    vals = (rng.normal(size=size) * 10.0 ** rng.integers(-3, 4)).astype(dtype)
    if specials and vals.size and rng.random() < 0.6:
        flat = vals.reshape(-1)
        for v in [np.nan, np.inf, -np.inf, -0.0, np.finfo(dtype).max, np.finfo(dtype).tiny]:
            flat[rng.integers(0, flat.size)] = v
    return vals


def rand_numeric(rng, dtype, size, specials=True):
    if dtype == "bool":
        return rng.random(size) < 0.5
    if dtype in FLOAT_DTYPES:
        return rand_floats(rng, dtype, size, specials)
    return rand_ints(rng, dtype, size)


def rand_strings(rng, n, unique=True, prefix="s"):
    out = []
    for i in range(n):
        if rng.random() < 0.3:
            s = ODD_STRINGS[rng.integers(0, len(ODD_STRINGS))]
        else:
            s = f"{prefix}{rng.integers(0, 10**6)}"
        out.append(s)
    if unique:
        seen = {}
        for i, s in enumerate(out):
            if s in seen:
                out[i] = f"{s}#{i}"
            seen[out[i]] = True
    return out


def rand_sparse(rng, shape, fmt, dtype):
    density = rng.choice([0.0, 0.05, 0.2, 0.6])
    dense = np.zeros(shape, dtype=dtype)
    mask = rng.random(shape) < density
    k = int(mask.sum())
    if k:
        if dtype == "bool":
            dense[mask] = True
        else:
            vals = rand_numeric(rng, dtype, k, specials=False)
            vals[vals == 0] = 1
            dense[mask] = vals
    m = sparse.csr_matrix(dense) if fmt == "csr" else sparse.csc_matrix(dense)
    if m.nnz and rng.random() < 0.2:
        # an explicit zero kept in the structure
        m.data[rng.integers(0, m.nnz)] = 0
    if rng.random() < 0.2:
        m.indices = m.indices.astype(np.int64)
        m.indptr = m.indptr.astype(np.int64)
    return m


def rand_matrix(rng, shape, allow_sparse=True):
    """A dense or sparse matrix of a random dtype."""
    kind = rng.choice(["dense", "dense", "csr", "csc"] if allow_sparse else ["dense"])
    if kind == "dense":
        dtype = rng.choice(FLOAT_DTYPES * 3 + INT_DTYPES + ["bool"])
        return rand_numeric(rng, dtype, shape), f"dense {dtype}"
    dtype = rng.choice(["float32", "float64", "int32", "int64", "bool"])
    return rand_sparse(rng, shape, kind, dtype), f"{kind} {dtype}"


# -- data frames --------------------------------------------------------------------------------


def rand_categorical(rng, n):
    kind = rng.choice(["str", "str", "str", "int", "int", "float", "many", "bool", "uint64", "empty int", "empty float"])
    if kind == "str":
        cats = pd.Index(list(dict.fromkeys(rand_strings(rng, int(rng.integers(1, 6)), prefix="cat"))), dtype=object)
    elif kind == "int":
        if rng.random() < 0.3:
            # int64 categories beyond 2**53
            cats = pd.Index(sorted(set(int(x) for x in rng.integers(-(2**63), 2**63 - 1, size=int(rng.integers(1, 6)), dtype=np.int64))), dtype="int64")
        else:
            cats = pd.Index(sorted(set(int(x) for x in rng.integers(-50, 50, size=int(rng.integers(1, 6))))), dtype="int64")
    elif kind == "float":
        cats = pd.Index(sorted(set(float(x) for x in np.round(rng.normal(size=int(rng.integers(1, 6))), 3))), dtype="float64")
    elif kind == "many":  # more than 127 categories: int16 codes
        cats = pd.Index([f"c{i}" for i in range(int(rng.integers(128, 300)))], dtype=object)
    elif kind == "bool":
        cats = pd.Index([False, True] if rng.random() < 0.5 else [True], dtype=bool)
    elif kind == "uint64":
        cats = pd.Index(np.array([2**64 - 1, 2**63 + 7, 3], dtype=np.uint64)[: int(rng.integers(1, 4))])
    else:  # no categories at all, every value missing
        cats = pd.Index([], dtype="int64" if kind == "empty int" else "float64")
    if rng.random() < 0.5 and kind == "str":
        cats = cats[::-1]
    if len(cats) == 0:
        codes = np.full(n, -1)
    else:
        lo = -1 if rng.random() < 0.5 else 0
        # unused categories: codes only over a part of them
        hi = len(cats) if rng.random() < 0.5 else max(1, len(cats) - 2)
        codes = rng.integers(lo, hi, size=n)
    ordered = bool(rng.random() < 0.4)
    return pd.Categorical.from_codes(codes, categories=cats, ordered=ordered), f"categorical {kind}{' ordered' if ordered else ''}"


def rand_column(rng, n):
    kind = rng.choice(["int", "float", "bool", "str-unique", "str-repeated", "categorical", "categorical", "nullable-int", "nullable-bool"])
    if kind == "int":
        dtype = rng.choice(INT_DTYPES)
        return rand_ints(rng, dtype, n), f"{dtype}"
    if kind == "float":
        dtype = rng.choice(FLOAT_DTYPES)
        return rand_floats(rng, dtype, n), f"{dtype}"
    if kind == "bool":
        return rng.random(n) < 0.5, "bool"
    if kind == "str-unique":
        return np.array(rand_strings(rng, n), dtype=object), "str unique"
    if kind == "str-repeated":
        # anndata's write_zarr makes these categorical (strings_to_categoricals) when values repeat
        pool = rand_strings(rng, 3, prefix="rep")
        return np.array([pool[i] for i in rng.integers(0, 3, size=n)], dtype=object), "str repeated"
    if kind == "categorical":
        return rand_categorical(rng, n)
    if kind == "nullable-int":
        dtype = rng.choice(["Int64", "Int32", "Int16", "Int8", "UInt8", "UInt32", "UInt64"])
        base = rand_ints(rng, dtype.lower(), n)
        arr = pd.array(base, dtype=dtype)
        if n and rng.random() < 0.8:
            arr[rng.random(n) < 0.3] = pd.NA
        return arr, f"nullable {dtype}"
    arr = pd.array(rng.random(n) < 0.5, dtype="boolean")
    if n and rng.random() < 0.8:
        arr[rng.random(n) < 0.3] = pd.NA
    return arr, "nullable boolean"


def rand_frame(rng, index, what, params, reserved=()):
    ncols = int(rng.integers(0, 7))
    cols = {}
    for j in range(ncols):
        name = f"{what}_{j}"
        if rng.random() < 0.2:
            name = rng.choice(["n genes", "ünïcode", "Unnamed: 0", "x.y", "a-b_c", "列"]) + f"{j}"
        col, kind = rand_column(rng, len(index))
        cols[name] = col
        params.setdefault(f"{what} columns", []).append(f"{name}: {kind}")
    df = pd.DataFrame(cols, index=pd.Index(index))
    if rng.random() < 0.3:
        name = rng.choice(["cell_id", "名前", "gene symbol"])
        if name not in df.columns:
            df.index.name = name
            params[f"{what} index name"] = name
    return df


# -- uns ----------------------------------------------------------------------------------------


def rand_uns_value(rng, depth, where, log):
    kinds = ["int", "float", "bool", "str", "np-scalar", "array", "array", "string-array", "0d"]
    if depth < 3:
        kinds += ["dict", "dict"]
    kinds += ["empty-dict", "dataframe", "categorical", "sparse", "list", "nullable"]
    kind = rng.choice(kinds)
    if kind == "int":
        return int(rng.choice([rng.integers(-(2**40), 2**40), 2**62 + 1, -(2**63)])), kind
    if kind == "float":
        return float(rng.choice([0.5, -0.0, 1e300, float(rng.normal())])), kind
    if kind == "bool":
        return bool(rng.random() < 0.5), kind
    if kind == "str":
        return str(rng.choice(ODD_STRINGS + ["title"])), kind
    if kind == "np-scalar":
        dtype = rng.choice(INT_DTYPES + FLOAT_DTYPES + ["bool"])
        v = rand_numeric(rng, dtype, 1)[0]
        return np.array(v, dtype=dtype)[()], f"np.{dtype}"
    if kind == "array":
        dtype = rng.choice(INT_DTYPES + FLOAT_DTYPES + ["bool"])
        shape = tuple(int(x) for x in rng.integers(0, 5, size=int(rng.integers(1, 4))))
        a = rand_numeric(rng, dtype, shape)
        if dtype not in ("bool", "int8", "uint8") and rng.random() < 0.2:
            a = a.astype(a.dtype.newbyteorder(">"))
            return a, f"array >{dtype} {shape}"
        return a, f"array {dtype} {shape}"
    if kind == "string-array":
        shape = tuple(int(x) for x in rng.integers(0, 4, size=int(rng.integers(1, 3))))
        vals = rand_strings(rng, int(np.prod(shape)), unique=False)
        a = np.array(vals, dtype=object).reshape(shape)
        return a, f"string array {shape}"
    if kind == "0d":
        # (a 0-d string array is not here: anndata 0.8 fails to write one to zarr)
        dtype = rng.choice(["int32", "float64", "uint16", "bool", "int64"])
        return np.array(rand_numeric(rng, dtype, 1)[0], dtype=dtype), f"0-d {dtype}"
    if kind == "dict":
        return rand_uns(rng, depth + 1, where, log), "dict"
    if kind == "empty-dict":
        return {}, kind
    if kind == "dataframe":
        p = {}
        n = int(rng.integers(0, 6))
        return rand_frame(rng, rand_strings(rng, n, prefix="r"), "uns", p), f"dataframe {p}"
    if kind == "categorical":
        c, what = rand_categorical(rng, int(rng.integers(0, 8)))
        return c, what
    if kind == "nullable":
        col, what = rand_column(rng, int(rng.integers(0, 6)))
        while not what.startswith("nullable"):
            col, what = rand_column(rng, len(col))
        return col, what
    if kind == "sparse":
        m, what = rand_matrix(rng, (int(rng.integers(0, 6)), int(rng.integers(0, 6))))
        if not sparse.issparse(m):
            m = sparse.csr_matrix(m)
        return m, f"sparse {m.format} {m.dtype}"
    # a list: anndata writes np.array(list)
    if rng.random() < 0.5:
        return [int(x) for x in rng.integers(0, 100, size=int(rng.integers(0, 5)))], "list of int"
    return rand_strings(rng, int(rng.integers(1, 5)), unique=False), "list of str"


def rand_uns(rng, depth, where, log):
    """A random uns dict; `log` gets "path: kind" for each value."""
    out = {}
    for i in range(int(rng.integers(0, 10) if depth == 0 else rng.integers(0, 4))):
        key = f"k{depth}_{i}" if rng.random() < 0.8 else rng.choice(["ключ", "with space", "🔑"]) + str(i)
        at = len(log)
        log.append("")
        out[key], kind = rand_uns_value(rng, depth, f"{where}/{key}", log)
        log[at] = f"{where}/{key}: {kind}"
    return out


# -- stores -------------------------------------------------------------------------------------

COMPRESSORS = [
    ("default blosc lz4", None),
    ("zlib 1", numcodecs.Zlib(level=1)),
    ("gzip 9", numcodecs.GZip(level=9)),
    ("blosc zstd bitshuffle", numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.BITSHUFFLE)),
    ("blosc blosclz noshuffle", numcodecs.Blosc(cname="blosclz", clevel=9, shuffle=numcodecs.Blosc.NOSHUFFLE)),
    ("blosc lz4hc", numcodecs.Blosc(cname="lz4hc", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)),
    ("zstd", numcodecs.Zstd(level=3)),
    ("lz4", numcodecs.LZ4()),
    ("bz2", numcodecs.BZ2()),
    ("lzma", numcodecs.LZMA()),
    ("none", "none"),
]


def make_adata(rng, shape, params):
    n_obs, n_vars = shape
    obs_names = rand_strings(rng, n_obs, prefix="cell")
    if n_obs > 2 and rng.random() < 0.15:
        obs_names[1] = obs_names[0]  # anndata warns about duplicated names, and writes them
        params["obs names"] = "duplicated"
    obs = rand_frame(rng, obs_names, "obs", params)
    var = rand_frame(rng, rand_strings(rng, n_vars, prefix="gene"), "var", params)
    xkind = rng.choice(["dense", "dense", "csr", "csc", "none"])
    X = None
    if xkind == "dense":
        dtype = rng.choice(["float32", "float32", "float64", "int32", "int64", "uint16", "bool"])
        X = rand_numeric(rng, dtype, shape)
        params["X"] = f"dense {dtype}"
    elif xkind in ("csr", "csc"):
        dtype = rng.choice(["float32", "float64", "int64", "bool"])
        X = rand_sparse(rng, shape, xkind, dtype)
        params["X"] = f"{xkind} {dtype} nnz {X.nnz} index {X.indices.dtype}"
    else:
        params["X"] = "absent"
    a = ad.AnnData(X=X, obs=obs, var=var, dtype=None if X is None else X.dtype)
    for slot, axis_len, n_items in [("layers", None, rng.integers(0, 3)), ("obsm", n_obs, rng.integers(0, 4)), ("varm", n_vars, rng.integers(0, 3))]:
        for i in range(int(n_items)):
            name = f"{slot[:-1] if slot != 'layers' else 'layer'}{i}"
            if slot == "layers":
                m, what = rand_matrix(rng, shape)
            elif rng.random() < 0.2:
                # a data frame over the observations (or variables)
                p = {}
                idx = a.obs_names if slot == "obsm" else a.var_names
                m = rand_frame(rng, list(idx), slot, p)
                m.index.name = None  # (anndata requires the obs/var names as index)
                p.pop(f"{slot} index name", None)
                what = f"dataframe {p}"
            elif rng.random() < 0.15:
                dtype = rng.choice(FLOAT_DTYPES + INT_DTYPES)
                m = rand_numeric(rng, dtype, (axis_len, int(rng.integers(1, 4)), int(rng.integers(1, 3))))
                what = f"3-d {dtype}"
            else:
                m, what = rand_matrix(rng, (axis_len, int(rng.integers(0, 5))))
            getattr(a, slot)[name] = m
            params.setdefault(slot, []).append(f"{name}: {what}")
    for slot, n in [("obsp", n_obs), ("varp", n_vars)]:
        for i in range(int(rng.integers(0, 3))):
            m, what = rand_matrix(rng, (n, n))
            getattr(a, slot)[f"{slot[:-1]}{i}"] = m
            params.setdefault(slot, []).append(f"{slot[:-1]}{i}: {what}")
    params["uns"] = []
    a.uns.update(rand_uns(rng, 0, "uns", params["uns"]))
    if rng.random() < 0.4:
        n_raw = int(rng.integers(0, 8))
        rvar = rand_frame(rng, rand_strings(rng, n_raw, prefix="rawgene"), "raw.var", params)
        rx, what = rand_matrix(rng, (n_obs, n_raw))
        raw = ad.AnnData(X=rx, obs=pd.DataFrame(index=a.obs_names), var=rvar, dtype=rx.dtype)
        if rng.random() < 0.5:
            raw.varm["rPCs"] = rand_numeric(rng, "float64", (n_raw, 2))
        a.raw = raw
        params["raw"] = f"X {what}, {n_raw} vars, varm {list(raw.varm.keys())}"
    return a


def rechunk(rng, path, params):
    """Rewrite a few arrays of the store: small chunks, Fortran order, big-endian, "/" between
    chunk indices, or chunks left out where they hold only the fill value."""
    root = zarr.open_group(path, mode="r+")
    arrays = []
    root.visititems(lambda name, node: arrays.append(name) if isinstance(node, zarr.Array) and node.ndim > 0 and node.size > 1 else None)
    picked = [arrays[i] for i in rng.permutation(len(arrays))[: min(len(arrays), 8)]] if arrays else []
    done = []
    for name in picked:
        arr = root[name]
        values = arr[...]
        attrs = dict(arr.attrs)
        chunks = tuple(int(max(1, rng.integers(1, max(2, s // 2 + 1)))) for s in arr.shape)
        order = "F" if arr.ndim > 1 and rng.random() < 0.5 else "C"
        kwargs = {"object_codec": numcodecs.VLenUTF8()} if arr.dtype == object else {}
        what = [f"chunks {list(chunks)}", order]
        dtype = arr.dtype
        parent = root[name.rsplit("/", 1)[0]] if "/" in name else root
        # (pandas cannot hold big-endian values of a nullable integer array)
        nullable = str(parent.attrs.get("encoding-type", "")).startswith("nullable")
        if dtype != object and dtype.itemsize > 1 and not nullable and rng.random() < 0.4:
            dtype = dtype.newbyteorder(">")
            what.append(dtype.str)
        if rng.random() < 0.3:
            kwargs["dimension_separator"] = "/"
            what.append("separator /")
        whole = attrs.get("encoding-type") == "array" and parent.attrs.get("encoding-type") in ("anndata", "raw", "dict", "dataframe")
        if whole and dtype != object and rng.random() < 0.5:
            # chunks holding only the fill value are not written; readers fill them in
            fill = False if dtype.kind == "b" else (7 if rng.random() < 0.5 else 0)
            region = tuple(slice(0, c) for c in chunks)
            values = values.copy()
            values[region] = fill
            kwargs.update(fill_value=fill, write_empty_chunks=False)
            what.append(f"fill {fill}, empty chunks left out")
        compressor = arr.compressor
        del root[name]
        new = root.create_dataset(name, shape=arr.shape, dtype=dtype, chunks=chunks, order=order, compressor=compressor, **kwargs)
        new[...] = values
        new.attrs.update(attrs)
        done.append(f"{name}: {' '.join(what)}")
    params["rechunked"] = done


def write_store(rng, path, a, params, consolidate):
    name, comp = COMPRESSORS[int(rng.integers(0, len(COMPRESSORS)))]
    params["compressor"] = name
    kwargs = {} if comp is None else {"compressor": None if comp == "none" else comp}
    chunks = None
    if isinstance(a.X, np.ndarray) and a.X.size and rng.random() < 0.5:
        chunks = [int(rng.integers(1, a.n_obs + 1)), int(rng.integers(1, a.n_vars + 1))]
        params["X chunks"] = chunks
    # anndata's write_zarr passes dataset_kwargs (the compressor) to every array it creates
    write_zarr(path, a, chunks=chunks, **kwargs)
    if rng.random() < 0.5:
        rechunk(rng, path, params)
    if consolidate:
        zarr.consolidate_metadata(path)
    params["consolidated"] = consolidate


# -- the description of a store, walked by encoding-type ------------------------------------------


def enc_scalar(x, dtype):
    k = dtype.kind
    if k == "f":
        x = float(x)
        if np.isnan(x):
            return "nan"
        if np.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if k in "iu":
        x = int(x)
        return x if abs(x) <= 2**53 else str(x)
    if k == "b":
        return bool(x)
    return str(x)


def dtype_name(dt):
    if dt == object or dt.kind in "US":
        return "string"
    return dt.newbyteorder("=").name if dt.byteorder != "|" else dt.name


def describe_array(arr):
    values = arr[...]
    dt = arr.dtype
    out = {"t": "array", "dtype": dtype_name(dt), "shape": list(arr.shape)}
    flat = np.asarray(values).reshape(-1)
    out["values"] = [enc_scalar(v, dt) for v in flat]
    return out


def describe(node):
    attrs = dict(node.attrs)
    et = attrs.get("encoding-type", "")
    ev = attrs.get("encoding-version", "")
    if et in ("anndata", "raw", "dict"):
        return {"t": et, "ev": ev, "items": {k: describe(node[k]) for k in sorted(node.keys())}}
    if et == "dataframe":
        idx = attrs["_index"]
        return {
            "t": "dataframe",
            "ev": ev,
            "indexKey": idx,
            "index": describe_array(node[idx])["values"],
            "columns": list(attrs["column-order"]),
            "data": {c: describe(node[c]) for c in attrs["column-order"]},
        }
    if et == "categorical":
        return {
            "t": "categorical",
            "ev": ev,
            "ordered": bool(attrs["ordered"]),
            "codes": describe_array(node["codes"]),
            "categories": describe_array(node["categories"]),
        }
    if et in ("nullable-integer", "nullable-boolean"):
        return {
            "t": et,
            "ev": ev,
            "values": describe_array(node["values"]),
            "mask": describe_array(node["mask"]) if "mask" in node else None,
        }
    if et in ("csr_matrix", "csc_matrix"):
        return {
            "t": et[:3],
            "ev": ev,
            "shape": list(attrs["shape"]),
            "indptr": describe_array(node["indptr"]),
            "indices": describe_array(node["indices"]),
            "data": describe_array(node["data"]),
        }
    if et in ("array", "string-array"):
        d = describe_array(node)
        d["t"] = et
        d["ev"] = ev
        return d
    if et in ("numeric-scalar", "string"):
        v = node[()]
        return {"t": et, "ev": ev, "dtype": dtype_name(node.dtype), "value": enc_scalar(v, node.dtype)}
    raise ValueError(f"{node.name}: no description for encoding {et!r}")


SHAPES = [(0, 4), (5, 0), (1, 1), (0, 0)]


def generate(seed, out_dir):
    rng = np.random.default_rng(seed)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    stores = []
    for i in range(6):
        if i == 1:
            shape = SHAPES[seed % len(SHAPES)]
        elif i == 2:
            shape = (1, 1) if seed % len(SHAPES) != 2 else (0, 3)
        else:
            shape = (int(rng.integers(2, 40)), int(rng.integers(2, 30)))
        name = f"s{i}.{shape[0]}x{shape[1]}.zarr"
        params = {"shape": list(shape)}
        a = make_adata(rng, shape, params)
        path = os.path.join(out_dir, name)
        # store 0 is the one read over HTTP: consolidated, so its groups can be listed
        write_store(rng, path, a, params, consolidate=(i == 0 or rng.random() < 0.5))
        back = ad.read_zarr(path)  # anndata itself must read it
        assert back.shape == shape, (back.shape, shape)
        stores.append({"name": name, "params": params, "tree": describe(zarr.open_group(path, mode="r"))})
    doc = os.path.join(out_dir, "description.json")
    with open(doc, "w") as f:
        json.dump({"seed": seed, "stores": stores}, f, ensure_ascii=True, allow_nan=False)
    print(doc)


# -- strict comparison ----------------------------------------------------------------------------


def tname(x):
    return type(x).__module__ + "." + type(x).__qualname__


def native_bytes(a):
    a = np.ascontiguousarray(a)
    return a.astype(a.dtype.newbyteorder("=")).tobytes()


def diff_ndarray(a, b, where):
    if a.dtype != b.dtype:
        return [f"{where}: dtype {b.dtype.str} instead of {a.dtype.str}"]
    if a.shape != b.shape:
        return [f"{where}: shape {b.shape} instead of {a.shape}"]
    if a.dtype == object or a.dtype.kind in "US":
        la, lb = a.reshape(-1).tolist(), b.reshape(-1).tolist()
        for i, (x, y) in enumerate(zip(la, lb)):
            if type(x) is not type(y) or x != y:
                return [f"{where}: [{i}] {y!r} ({tname(y)}) instead of {x!r} ({tname(x)})"]
        return []
    if native_bytes(a) != native_bytes(b):
        fa, fb = a.reshape(-1), b.reshape(-1)
        bad = [i for i in range(fa.size) if native_bytes(fa[i : i + 1]) != native_bytes(fb[i : i + 1])]
        return [f"{where}: {len(bad)} values differ, first [{bad[0]}] {fb[bad[0]]!r} instead of {fa[bad[0]]!r}"]
    return []


def diff_sparse(a, b, where):
    if a.format != b.format:
        return [f"{where}: format {b.format} instead of {a.format}"]
    if a.shape != b.shape:
        return [f"{where}: shape {b.shape} instead of {a.shape}"]
    return diff_ndarray(a.data, b.data, f"{where}/data") + diff_ndarray(a.indices, b.indices, f"{where}/indices") + diff_ndarray(a.indptr, b.indptr, f"{where}/indptr")


def diff_index(a, b, where):
    problems = []
    if type(a) is not type(b) or a.dtype != b.dtype:
        problems.append(f"{where}: {tname(b)} {b.dtype} instead of {tname(a)} {a.dtype}")
    if a.name != b.name:
        problems.append(f"{where}: name {b.name!r} instead of {a.name!r}")
    problems += diff_ndarray(np.asarray(a, dtype=object), np.asarray(b, dtype=object), f"{where} values")
    return problems


def diff_categorical(a, b, where):
    problems = []
    if a.ordered != b.ordered:
        problems.append(f"{where}: ordered {b.ordered} instead of {a.ordered}")
    problems += diff_index(a.categories, b.categories, f"{where} categories")
    problems += diff_ndarray(a.codes, b.codes, f"{where} codes")
    return problems


def diff_value(a, b, where):
    """Every difference between two values anndata read, strictly (types, dtypes, bits)."""
    if type(a) is not type(b):
        return [f"{where}: {tname(b)} instead of {tname(a)}"]
    if isinstance(a, dict):
        if list(sorted(a)) != list(sorted(b)):
            return [f"{where}: keys {sorted(b)} instead of {sorted(a)}"]
        return [p for k in sorted(a) for p in diff_value(a[k], b[k], f"{where}/{k}")]
    if isinstance(a, pd.DataFrame):
        problems = diff_index(a.index, b.index, f"{where} index")
        if list(a.columns) != list(b.columns):
            return problems + [f"{where}: columns {list(b.columns)} instead of {list(a.columns)}"]
        for c in a.columns:
            problems += diff_value(a[c]._values, b[c]._values, f"{where}/{c}")
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError as e:
            problems.append(f"{where}: pandas: {str(e).splitlines()[0]}")
        return problems
    if isinstance(a, pd.Categorical):
        return diff_categorical(a, b, where)
    if isinstance(a, (pd.arrays.IntegerArray, pd.arrays.BooleanArray)):
        problems = []
        if a.dtype != b.dtype:
            problems.append(f"{where}: dtype {b.dtype} instead of {a.dtype}")
        problems += diff_ndarray(a._mask, b._mask, f"{where} mask")
        # values under the mask are meaningless
        va, vb = a._data.copy(), b._data.copy()
        va[a._mask] = 0
        if vb.shape == va.shape and b._mask.shape == a._mask.shape:
            vb[a._mask] = 0
        problems += diff_ndarray(va, vb, f"{where} values")
        return problems
    if sparse.issparse(a):
        return diff_sparse(a, b, where)
    if isinstance(a, np.ndarray):
        return diff_ndarray(a, b, where)
    if isinstance(a, np.generic):
        return diff_ndarray(np.asarray(a), np.asarray(b), where)
    if a != b:
        return [f"{where}: {b!r} instead of {a!r}"]
    return []


def diff_adata(a, b):
    problems = []
    if a.shape != b.shape:
        return [f"shape {b.shape} instead of {a.shape}"]
    if (a.X is None) != (b.X is None):
        problems.append(f"X: {'absent' if b.X is None else 'present'} instead of {'absent' if a.X is None else 'present'}")
    elif a.X is not None:
        problems += diff_value(a.X, b.X, "X")
    problems += diff_value(a.obs, b.obs, "obs")
    problems += diff_value(a.var, b.var, "var")
    for slot in ("obsm", "varm", "obsp", "varp", "layers"):
        problems += diff_value(dict(getattr(a, slot)), dict(getattr(b, slot)), slot)
    problems += diff_value(dict(a.uns), dict(b.uns), "uns")
    if (a.raw is None) != (b.raw is None):
        problems.append("raw: present in one only")
    elif a.raw is not None:
        problems += diff_value(a.raw.X, b.raw.X, "raw/X")
        problems += diff_value(a.raw.var, b.raw.var, "raw/var")
        problems += diff_value(dict(a.raw.varm), dict(b.raw.varm), "raw/varm")
    return problems


def diff_zarr(ref, written):
    """Node kinds, attributes, array dtypes and shapes (not chunks or compressors)."""
    problems = []
    ga, gb = zarr.open_group(ref, mode="r"), zarr.open_group(written, mode="r")

    def walk(a, b, where):
        if isinstance(a, zarr.Group) != isinstance(b, zarr.Group):
            problems.append(f"{where}: {'group' if isinstance(b, zarr.Group) else 'array'} instead of {'group' if isinstance(a, zarr.Group) else 'array'}")
            return
        aa, ab = dict(a.attrs), dict(b.attrs)
        if aa != ab:
            problems.append(f"{where}: attributes {json.dumps(ab, sort_keys=True)} instead of {json.dumps(aa, sort_keys=True)}")
        if isinstance(a, zarr.Group):
            ka, kb = sorted(a.keys()), sorted(b.keys())
            if ka != kb:
                problems.append(f"{where}: children {kb} instead of {ka}")
            for k in ka:
                if k in kb:
                    walk(a[k], b[k], f"{where}/{k}".replace("//", "/"))
        else:
            if a.dtype != b.dtype:
                problems.append(f"{where}: zarr dtype {b.dtype.str} instead of {a.dtype.str}")
            if a.shape != b.shape:
                problems.append(f"{where}: zarr shape {b.shape} instead of {a.shape}")

    walk(ga, gb, "/")
    return problems


def compare(pairs):
    own = {}
    results = []
    tmp = tempfile.mkdtemp(prefix="zask-roundtrip-")
    try:
        for pair in pairs:
            ref, written = pair["reference"], pair["written"]
            try:
                a = ad.read_zarr(ref)
                if ref not in own:
                    # anndata's own round trip of the reference: what it changes is not zask's doing
                    c = ad.read_zarr(ref)
                    path = os.path.join(tmp, f"{len(own)}.zarr")
                    c.write_zarr(path)
                    own[ref] = set(diff_adata(a, ad.read_zarr(path)) + diff_zarr(ref, path))
                b = ad.read_zarr(written)
                problems = diff_adata(a, b) + diff_zarr(ref, written)
            except Exception as e:  # noqa: BLE001 - reported, not raised
                results.append({"label": pair["label"], "problems": [f"anndata could not compare: {type(e).__name__}: {e}"], "excused": []})
                continue
            results.append(
                {
                    "label": pair["label"],
                    "problems": [p for p in problems if p not in own[ref]],
                    "excused": [p for p in problems if p in own[ref]],
                }
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, ensure_ascii=True))


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "compare":
        with open(sys.argv[2]) as f:
            compare(json.load(f))
    else:
        raise SystemExit(__doc__)
