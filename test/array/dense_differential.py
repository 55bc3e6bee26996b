#!/usr/bin/python3
"""Random zarr v2 arrays and numpy's answers to random lazy-array queries over them.

Run with the reference stack (numpy 1.24, zarr 2.13, numcodecs, from Debian):

    /usr/bin/python3 test/array/dense_differential.py SEED OUTDIR

With numpy's default_rng(SEED), writes into OUTDIR a few zarr v2 arrays, each in a store of its
own (OUTDIR/<name>.zarr): 0-d to 3-d, zero-length axes included, chunks that do not divide the
shape (and chunks longer than an axis), float32 float64 int8 int16 int32 int64 uint8 uint32 and
bool, blosc (lz4/shuffle, zstd/bitshuffle, blosclz/noshuffle), zlib or no compressor, C or F
order, "." or "/" chunk keys, fill values (NaN included), and some chunks deleted from disk so
that they read as the fill value. Each "primary" array has two partners: one of a shape that
broadcasts against it (axes of length 1, leading axes dropped) and one of its own shape, both
of other dtypes and chunks. Then OUTDIR/expected.json: per array its parameters, and per
primary a list of random queries, each an expression tree (selections, elementwise ops with
scalars and arrays, where, astype, reductions, transpose, reshape, rechunk, concatenate, stack)
with numpy's answer: dtype, shape and C-order values, or the error numpy raises. Prints the
path of expected.json.

Expression trees (the test builds the same tree lazily with zask):

    {"src": name}
    {"op": "slice", "x": T, "sel": [S, ...]}    S: null | {"int": i} | {"slice": [start, stop, step]}
                                                    | {"list": [i, ...], "typed": bool} | {"mask": [b, ...]}
                                                 selectors apply per axis independently (zask's,
                                                 dask's and zarr's orthogonal indexing)
    {"op": "ew", "name": N, "args": [T | K, ...]}  K: {"int": "decimal"} | {"float": x | "nan" | "inf" | "-inf"} | {"bool": b}
    {"op": "where", "args": [T | K, T | K, T | K]}
    {"op": "astype", "x": T, "dtype": D}
    {"op": "reduce", "kind": R, "x": T, "axis": null | i | [i, ...], "keepdims": b, "ddof"?: n, "dtype"?: D, "splitEvery"?: n}
    {"op": "transpose", "x": T, "axes": null | [i, ...]}
    {"op": "reshape", "x": T, "shape": [n, ...]}
    {"op": "rechunk", "x": T, "chunks": n | [n | null | [n, ...], ...]}
    {"op": "concatenate" | "stack", "xs": [T, ...], "axis": i}

Answers: {"dtype", "shape", "values", "err"?} or {"error": "OverflowError" | ...}. Values in
C order: floats as JSON numbers or "nan"/"inf"/"-inf", 64-bit integers as decimal strings,
bools as 0/1. Where the answer is exact (integers, bools, selections, and float arithmetic that
IEEE rounds the same whatever computes it: + - * / sqrt neg abs and casts) there is no "err" and
values must be equal. Otherwise "err" gives, per value, an absolute error bound propagated
through the tree (libm's exp/log/log1p/pow differ by a few units in the last place between
implementations; sums and means are summed in another order). Comparisons, where's condition,
casts to integers or bool, argmin/argmax, count_nonzero, any and all are only generated over
exact operands, where their answers cannot legitimately differ.

numpy 1.24 is not numpy 2, whose rules zask follows (NEP 50, see packages/array/src/promote.ts).
The adjustments made here, each checked against the dtype zask's rules give:

1. np._set_promotion_state("weak") turns on NEP 50's weak Python scalars in numpy 1.24, so
   `int8 array + 1` is int8, `float32 array + 0.1` float32, `int8 array + 300` an OverflowError.
2. Comparisons of integer or bool arrays with Python ints: numpy 2 compares exactly, also with
   ints outside the array dtype's range (`uint8 array < -1` is all False); numpy 1.24 (weak)
   raises OverflowError. Computed here on object arrays (exact Python comparisons).
3. np.where with Python scalars: numpy 1.24 turns them into int64/float64 arrays even in the weak
   state; numpy 2 keeps them weak (`where(c, int8 array, 5)` is int8). The dtype is
   np.result_type(x, y) in the weak state, an int scalar outside it an OverflowError, as numpy 2.
4. Not numpy 2, but zask's documented deviation: where numpy answers float16 (sqrt, exp, log,
   log1p of int8, uint8 and bool) zask has no float16 and answers float32; the expected value is
   numpy's over the inputs cast to float32.
5. Not numpy 2, but zask's documented accumulation: float32 sum/mean/var/std accumulate in
   float64 in zask (numpy sums float32 pairwise in float32); the expected value is numpy's over
   the input cast to float64, then cast to float32, with an error bound of float32 rounding.
6. np.count_nonzero with axis=None answers a Python int: taken as int64 (numpy 2's intp).
7. An index list with an index out of range is an IndexError here, as numpy raises whenever the
   selection holds an element; numpy skips the check when it holds none (an array with a
   zero-length axis), where zask raises all the same.
"""
import json
import math
import os
import shutil
import sys
import warnings

import numpy as np
import zarr
from numcodecs import Blosc, Zlib

np._set_promotion_state("weak")
warnings.simplefilter("ignore")

SEED = int(sys.argv[1])
OUT = sys.argv[2]
rng = np.random.default_rng(SEED)

DTYPES = ["float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint32", "bool"]
FLOATS = ("float32", "float64")
EPS = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}
UFUNC = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide, "pow": np.power,
    "neg": np.negative, "abs": np.absolute, "sqrt": np.sqrt, "exp": np.exp, "log": np.log, "log1p": np.log1p,
    "gt": np.greater, "lt": np.less, "ge": np.greater_equal, "le": np.less_equal, "eq": np.equal, "ne": np.not_equal,
}
BINARY = ("add", "sub", "mul", "div", "pow")
UNARY = ("neg", "abs", "sqrt", "exp", "log", "log1p")
COMPARISONS = ("gt", "lt", "ge", "le", "eq", "ne")
REDUCTIONS = ("sum", "mean", "var", "std", "min", "max", "argmin", "argmax", "countNonzero", "any", "all")
# float64 rounding differences of libm functions between implementations: a few units in the last place
ULPS = 8


def kind(dtype):
    d = np.dtype(dtype)
    return "bool" if d == np.bool_ else "float" if d.kind == "f" else "uint" if d.kind == "u" else "int"


def choice(seq, p=None):
    return seq[int(rng.choice(len(seq), p=p))]


# --- arrays -----------------------------------------------------------------------------------

INT64_SPECIAL = [-(2**63), 2**63 - 1, 2**53 + 1, -(2**53) - 3, 2**60 + 2**36 + 1, 2**31, -(2**31) - 1]


def values_for(dtype, shape, style):
    n = int(np.prod(shape, dtype=np.int64))
    if dtype in FLOATS:
        if style == "decimals":
            # one-decimal values, as a float32 column of measurements often holds
            v = np.round(rng.uniform(-5, 5, n), 1)
        else:
            v = rng.normal(0, 10.0 ** int(rng.integers(-1, 3)), n)
        v = v.astype(dtype)
        if style == "specials" and n > 0:
            k = max(1, n // 8)
            at = rng.choice(n, size=min(n, k), replace=False)
            v[at] = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype=dtype), size=len(at))
    elif dtype == "bool":
        v = rng.random(n) < rng.uniform(0.2, 0.8)
    else:
        info = np.iinfo(dtype)
        if style == "small":
            lo, hi = (0, 12) if info.min == 0 else (-9, 9)
            v = rng.integers(lo, hi, n, endpoint=True).astype(dtype)
        else:
            v = rng.integers(info.min, info.max, n, endpoint=True, dtype=dtype)
            if n > 0:
                special = [info.min, info.max, 0, 1] + (INT64_SPECIAL if dtype == "int64" else [])
                at = rng.choice(n, size=min(n, len(special)), replace=False)
                v[at] = np.array(special[: len(at)], dtype=dtype)
    return v.reshape(shape)


def random_shape(ndim):
    if ndim == 0:
        return ()
    limit = {1: 60, 2: 24, 3: 11}[ndim]
    shape = [int(rng.integers(1, limit + 1)) for _ in range(ndim)]
    if rng.random() < 0.08:
        shape[int(rng.integers(ndim))] = 0
    return tuple(shape)


def random_chunks(shape):
    if len(shape) == 0:
        return ()
    return tuple(int(rng.integers(1, max(n, 1) + 3)) for n in shape)


COMPRESSORS = {
    "blosc-lz4": lambda: Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE),
    "blosc-zstd-bitshuffle": lambda: Blosc(cname="zstd", clevel=3, shuffle=Blosc.BITSHUFFLE),
    "blosc-blosclz-noshuffle": lambda: Blosc(cname="blosclz", clevel=9, shuffle=Blosc.NOSHUFFLE),
    "zlib": lambda: Zlib(level=int(rng.integers(1, 10))),
    "none": lambda: None,
}


def random_fill(dtype):
    if dtype in FLOATS:
        return choice([0.0, float("nan"), -1.5, 2.25])
    if dtype == "bool":
        return bool(rng.random() < 0.5)
    info = np.iinfo(dtype)
    return choice([0, int(info.max), int(info.min), 7 if info.min == 0 else -7])


arrays = {}  # name -> dict(params, data: ndarray as read, chunks)


def write_array(name, shape, dtype, style=None):
    ndim = len(shape)
    if style is None:
        style = choice(["normal", "decimals", "specials"]) if dtype in FLOATS else choice(["full", "small"], p=[0.6, 0.4])
    data = values_for(dtype, shape, style)
    chunks = random_chunks(shape)
    compressor = choice(list(COMPRESSORS))
    fill = random_fill(dtype)
    order = "F" if ndim >= 2 and rng.random() < 0.25 else "C"
    sep = "/" if ndim >= 2 and rng.random() < 0.3 else "."
    path = os.path.join(OUT, name + ".zarr")
    z = zarr.open_array(
        path, mode="w", shape=shape, chunks=chunks if ndim else True, dtype=dtype, compressor=COMPRESSORS[compressor](),
        fill_value=fill, order=order, dimension_separator=sep, write_empty_chunks=True,
    )
    z[...] = data
    expect = data.copy()
    # delete some chunks: they read as the fill value
    grid = [math.ceil(n / c) if n else 0 for n, c in zip(shape, chunks)]
    coords = [()] if ndim == 0 else [tuple(int(i) for i in c) for c in np.ndindex(*grid)] if all(grid) else []
    missing = 0
    for c in coords:
        if rng.random() < 0.2:
            key = "0" if ndim == 0 else sep.join(map(str, c))
            os.remove(os.path.join(path, *key.split("/")))
            missing += 1
            if ndim == 0:
                expect[...] = fill
            else:
                expect[tuple(slice(i * k, (i + 1) * k) for i, k in zip(c, chunks))] = fill
    back = zarr.open_array(path, mode="r")[...]
    assert back.dtype == expect.dtype and np.array_equal(back, expect, equal_nan=dtype in FLOATS), name
    params = {
        "shape": list(shape), "dtype": dtype, "chunks": list(chunks), "compressor": compressor, "order": order,
        "separator": sep, "fill": fill_json(fill), "style": style, "chunksOnDisk": len(coords) - missing, "missingChunks": missing,
    }
    arrays[name] = {"params": params, "data": expect, "chunks": chunks}
    return name


def fill_json(v):
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return v


# --- values with error bounds ----------------------------------------------------------------


class ExpectedError(Exception):
    def __init__(self, name, tree):
        super().__init__(name)
        self.name = name
        self.tree = tree


class V:
    """A node's numpy value (in zask's dtype) and its absolute error bound (None: exact)."""

    def __init__(self, a, err=None):
        self.a = np.asarray(a)
        self.err = None if err is None else np.broadcast_to(np.asarray(err, dtype=np.float64), self.a.shape).copy()

    @property
    def exact(self):
        return self.err is None


def E(v):
    """An error bound array of v (zeros when exact)."""
    return np.zeros(v.a.shape) if v.err is None else v.err


def absf(a):
    with np.errstate(all="ignore"):
        return np.abs(np.asarray(a, dtype=np.float64))


def scalar_py(k):
    if "bool" in k:
        return k["bool"]
    if "int" in k:
        return int(k["int"])
    f = k["float"]
    return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(f, f) if isinstance(f, str) else f


def is_scalar(t):
    return isinstance(t, dict) and ("int" in t or "float" in t or "bool" in t) and "op" not in t and "src" not in t


def int_range(dtype):
    info = np.iinfo(np.int64 if dtype == "bool" else dtype)
    return int(info.min), int(info.max)


def weak_result(dtypes, scalars):
    """numpy 2's result_type over array dtypes and weak Python scalars."""
    return str(np.result_type(*[np.dtype(d) for d in dtypes], *scalars))


def out_dtype(name, t):
    k = kind(t)
    if name in COMPARISONS:
        return "bool"
    if name in ("sub", "neg") and k == "bool":
        return None  # TypeError
    if name == "div":
        return t if k == "float" else "float64"
    if name == "pow":
        return "int8" if k == "bool" else t
    if name in ("sqrt", "exp", "log", "log1p"):
        if k == "float":
            return t
        return "float32" if np.dtype(t).itemsize <= 2 else "float64"
    return t


def ev_elementwise(name, args, tree):
    arrs = [a for a in args if isinstance(a, V)]
    scal = [a for a in args if not isinstance(a, V)]
    promoted = weak_result([str(a.a.dtype) for a in arrs], scal)
    out = out_dtype(name, promoted)
    if out is None:
        raise ExpectedError("TypeError", tree)
    vals = [a.a if isinstance(a, V) else a for a in args]
    try:
        np.broadcast_shapes(*[a.a.shape for a in arrs])
    except ValueError:
        raise ExpectedError("ValueError", tree)
    if name in COMPARISONS:
        if any(isinstance(s, int) and not isinstance(s, bool) for s in scal) and all(kind(a.a.dtype) in ("int", "uint", "bool") for a in arrs):
            # adjustment 2: numpy 2 compares Python ints with integer arrays exactly
            r = UFUNC[name](*[v.astype(object) if isinstance(v, np.ndarray) else v for v in vals])
            r = np.asarray(r).astype(bool)
        else:
            r = np.asarray(UFUNC[name](*vals))
        return V(r)
    if kind(promoted) in ("int", "uint", "bool"):
        lo, hi = int_range(promoted)
        for s in scal:
            if isinstance(s, int) and not isinstance(s, bool) and not lo <= s <= hi:
                raise ExpectedError("OverflowError", tree)
    if name == "pow" and kind(out) != "float":
        e = args[1]
        if isinstance(e, int) and not isinstance(e, bool) and e < 0:
            raise ExpectedError("ValueError", tree)
        if isinstance(e, V) and kind(e.a.dtype) == "int" and e.a.size and (e.a < 0).any() and np.broadcast(*vals).size > 0:
            raise ExpectedError("ValueError", tree)
    with np.errstate(all="ignore"):
        r = np.asarray(UFUNC[name](*vals))
        if r.dtype == np.float16:
            # adjustment 4: zask computes float16 answers in float32
            r = np.asarray(UFUNC[name](*[v.astype(np.float32) if isinstance(v, np.ndarray) else v for v in vals]))
    assert str(r.dtype) == out, (name, [str(a.a.dtype) for a in arrs], scal, str(r.dtype), out)
    # error bound
    if kind(out) != "float":
        assert all(a.exact for a in arrs), tree
        return V(r)
    ops = [a if isinstance(a, V) else V(np.asarray(a, dtype=np.float64)) for a in args]
    inexact_inputs = any(not o.exact for o in ops)
    transcendental = name in ("exp", "log", "log1p", "pow")
    if not inexact_inputs and not transcendental:
        return V(r)
    with np.errstate(all="ignore"):
        rf = absf(r)
        eps = EPS[out]
        x = ops[0].a.astype(np.float64)
        ex = E(ops[0])
        if name in ("add", "sub"):
            err = ex + E(ops[1])
        elif name == "mul":
            y = ops[1].a.astype(np.float64)
            err = np.abs(y) * ex + np.abs(x) * E(ops[1]) + ex * E(ops[1])
        elif name == "div":
            y = ops[1].a.astype(np.float64)
            ey = E(ops[1])
            err = (ex + rf * ey) / (np.abs(y) - ey)
            err = np.where(np.abs(y) > ey, err, np.inf)
        elif name == "pow":
            y = ops[1].a.astype(np.float64)
            ey = E(ops[1])
            la = np.abs(np.log(np.abs(x)))
            err = rf * (np.abs(y) * ex / np.abs(x) + la * ey) * 1.01
            err = np.where((ex > 0) & (np.abs(x) <= ex), np.inf, err)
        elif name in ("neg", "abs"):
            err = ex
        elif name == "sqrt":
            err = np.where(x > ex, ex / (2 * np.sqrt(np.maximum(x - ex, 0))), np.sqrt(ex))
        elif name == "exp":
            err = rf * np.expm1(ex)
        elif name == "log":
            err = np.where(x > ex, ex / (x - ex), np.inf)
        elif name == "log1p":
            err = np.where(1 + x > ex, ex / (1 + x - ex), np.inf)
        else:
            raise AssertionError(name)
        err = np.where(ex + (E(ops[1]) if len(ops) > 1 else 0) > 0, err, 0)
        err = err + ULPS * eps * rf
    return V(r, err)


def ev_where(args, tree):
    c, x, y = args
    branch_arrays = [a for a in (x, y) if isinstance(a, V)]
    branch_scalars = [a for a in (x, y) if not isinstance(a, V)]
    out = weak_result([str(a.a.dtype) for a in branch_arrays], branch_scalars)
    try:
        np.broadcast_shapes(*[a.a.shape for a in args if isinstance(a, V)])
    except ValueError:
        raise ExpectedError("ValueError", tree)
    if kind(out) in ("int", "uint"):
        lo, hi = int_range(out)
        for s in branch_scalars:
            if isinstance(s, int) and not isinstance(s, bool) and not lo <= s <= hi:
                raise ExpectedError("OverflowError", tree)
    cond = c.a.astype(bool) if isinstance(c, V) else bool(c)
    assert not isinstance(c, V) or c.exact
    xs = x.a if isinstance(x, V) else x
    ys = y.a if isinstance(y, V) else y
    # adjustment 3: numpy 2 keeps where's Python scalars weak
    r = np.where(cond, xs, ys).astype(out)
    if all(not isinstance(b, V) or b.exact for b in (x, y)):
        return V(r)
    ex = E(x) if isinstance(x, V) else 0.0
    ey = E(y) if isinstance(y, V) else 0.0
    return V(r, np.where(cond, ex, ey) + (EPS[out] * absf(r) if out == "float32" else 0))


def ev_astype(x, dtype, tree):
    with np.errstate(all="ignore"):
        r = x.a.astype(dtype)
    if x.exact or dtype not in FLOATS:
        assert x.exact or dtype in FLOATS, tree
        return V(r)
    return V(r, E(x) + EPS[dtype] * absf(r))


def reduce_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    ax = [axis] if isinstance(axis, int) else axis
    return tuple(sorted(a % ndim for a in ax))


def ev_reduce(t, x, tree):
    kindname = t["kind"]
    axis = t["axis"]
    npaxis = tuple(axis) if isinstance(axis, list) else axis
    keepdims = t["keepdims"]
    a = x.a
    k = kind(a.dtype)
    axes = reduce_axes(axis, a.ndim)
    n = int(np.prod([a.shape[i] for i in axes], dtype=np.int64))
    if kindname in ("min", "max", "argmin", "argmax") and n == 0:
        raise ExpectedError("ValueError", tree)
    with np.errstate(all="ignore"):
        if kindname in ("min", "max"):
            r = (np.min if kindname == "min" else np.max)(a, axis=npaxis, keepdims=keepdims)
            return V(np.asarray(r), None if x.exact else np.max(x.err, axis=npaxis, keepdims=keepdims))
        if kindname in ("argmin", "argmax"):
            assert x.exact
            r = (np.argmin if kindname == "argmin" else np.argmax)(a, axis=npaxis, keepdims=keepdims)
            return V(np.asarray(r, dtype=np.int64))
        if kindname == "countNonzero":
            assert x.exact
            r = np.count_nonzero(a, axis=npaxis, keepdims=keepdims)
            return V(np.asarray(r, dtype=np.int64))  # adjustment 6
        if kindname in ("any", "all"):
            assert x.exact
            return V(np.asarray((np.any if kindname == "any" else np.all)(a, axis=npaxis, keepdims=keepdims)))
        requested = t.get("dtype")
        if kindname == "sum":
            out = requested or (str(a.dtype) if k == "float" else "uint64" if k == "uint" else "int64")
            if kind(out) != "float":
                assert x.exact
                src = a.astype(out) if k == "float" else a
                return V(np.asarray(np.sum(src, axis=npaxis, keepdims=keepdims, dtype=out)))
            f = a.astype(np.float64)
            r = np.sum(f, axis=npaxis, keepdims=keepdims)
            scale = np.sum(np.abs(f), axis=npaxis, keepdims=keepdims)
            err0 = np.sum(E(x), axis=npaxis, keepdims=keepdims)
            rr = r.astype(out)
            return V(rr, err0 + 4 * max(n, 1) * EPS["float64"] * scale + 2 * EPS[out] * absf(rr))
        out = requested or (str(a.dtype) if k == "float" else "float64")
        f = a.astype(np.float64)
        if kindname == "mean":
            r = np.mean(f, axis=npaxis, keepdims=keepdims)
            scale = np.mean(np.abs(f), axis=npaxis, keepdims=keepdims)
            err0 = np.mean(E(x), axis=npaxis, keepdims=keepdims)
            rr = r.astype(out)
            return V(rr, err0 + 4 * max(n, 1) * EPS["float64"] * scale + 2 * EPS[out] * absf(rr))
        ddof = t.get("ddof", 0)
        var = np.var(f, axis=npaxis, keepdims=keepdims, ddof=ddof)
        mu = np.mean(f, axis=npaxis, keepdims=True)
        dof = max(n - ddof, 0)
        # d var / d x_i = 2 (x_i - mu) / dof; rounding: a few ulps of the sum of squares
        dev = np.abs(f - mu)
        err_in = np.sum(2 * dev * E(x) + E(x) ** 2, axis=npaxis, keepdims=keepdims) / dof
        sq = np.sum(dev**2 + np.abs(f) * np.abs(mu), axis=npaxis, keepdims=keepdims) / dof
        err_var = err_in + 8 * max(n, 1) * EPS["float64"] * sq
        if kindname == "var":
            rr = var.astype(out)
            return V(rr, err_var + 2 * EPS[out] * absf(rr))
        std = np.sqrt(var)
        rr = std.astype(out)
        err_std = np.where(std**2 > err_var, err_var / (std + np.sqrt(np.maximum(std**2 - err_var, 0))), np.sqrt(err_var))
        return V(rr, err_std + 2 * EPS[out] * absf(rr))


def orth_select(a, sels, err=None):
    axis = 0
    for s in sels:
        idx = [slice(None)] * a.ndim
        if s is None:
            axis += 1
            continue
        if "int" in s:
            idx[axis] = s["int"]
            axis_drop = True
        elif "slice" in s:
            idx[axis] = slice(*s["slice"])
            axis_drop = False
        elif "mask" in s:
            idx[axis] = np.array(s["mask"], dtype=bool).reshape(-1)
            axis_drop = False
        else:
            idx[axis] = np.array(s["list"], dtype=np.int64).reshape(-1)
            n = a.shape[axis]
            if any(not -n <= i < n for i in s["list"]):
                # adjustment 7: numpy skips this check when the selection holds no element
                raise IndexError(f"index out of bounds for axis {axis} with size {n}")
            axis_drop = False
        a = a[tuple(idx)]
        if err is not None:
            err = err[tuple(idx)]
        if not axis_drop:
            axis += 1
    return a, err


def ev(t):
    """numpy's answer to tree `t`, as a V; ExpectedError where numpy 2 raises."""
    if "src" in t:
        return V(arrays[t["src"]]["data"])
    op = t["op"]
    if op == "slice":
        x = ev(t["x"])
        try:
            a, err = orth_select(x.a, t["sel"], x.err)
        except IndexError:
            raise ExpectedError("IndexError", t)
        return V(a.copy(), None if err is None else err.copy())
    if op == "ew":
        args = [ev(a) if not is_scalar(a) else scalar_py(a) for a in t["args"]]
        return ev_elementwise(t["name"], args, t)
    if op == "where":
        args = [ev(a) if not is_scalar(a) else scalar_py(a) for a in t["args"]]
        return ev_where(args, t)
    if op == "astype":
        return ev_astype(ev(t["x"]), t["dtype"], t)
    if op == "reduce":
        return ev_reduce(t, ev(t["x"]), t)
    if op == "transpose":
        x = ev(t["x"])
        axes = t["axes"]
        return V(np.transpose(x.a, axes), None if x.exact else np.transpose(x.err, axes))
    if op == "reshape":
        x = ev(t["x"])
        return V(x.a.reshape(t["shape"]), None if x.exact else x.err.reshape(t["shape"]))
    if op == "rechunk":
        return ev(t["x"])
    if op in ("concatenate", "stack"):
        xs = [ev(x) for x in t["xs"]]
        dt = np.result_type(*[x.a.dtype for x in xs])
        fn = np.concatenate if op == "concatenate" else np.stack
        r = fn([x.a.astype(dt) for x in xs], axis=t["axis"])
        if all(x.exact for x in xs):
            return V(r)
        return V(r, fn([E(x) for x in xs], axis=t["axis"]))
    raise AssertionError(op)


def mk(t):
    """(tree, value); ExpectedError (carrying the tree) where numpy 2 raises."""
    try:
        return t, ev(t)
    except ExpectedError as e:
        e.tree = t if e.tree is None else e.tree
        raise


# --- random queries ---------------------------------------------------------------------------


def rand_slice(n):
    def bound():
        return None if rng.random() < 0.3 else int(rng.integers(-n - 3, n + 4))

    step = choice([None, 1, 2, 3, -1, -2, -3, 5])
    return {"slice": [bound(), bound(), step]}


def rand_selector(n, allow_int=True):
    r = rng.random()
    if r < 0.15 or (n == 0 and r < 0.5):
        return None
    if n == 0:
        return rand_slice(n) if r < 0.8 else {"list": [], "typed": False}
    if r < 0.3 and allow_int:
        return {"int": int(rng.integers(-n, n))}
    if r < 0.6:
        return rand_slice(n)
    if r < 0.8:
        m = int(rng.integers(0, min(8, 2 * n) + 1))
        idx = rng.integers(-n, n, m)
        if rng.random() < 0.4:
            idx = np.sort(idx % n)
        return {"list": [int(i) for i in idx], "typed": bool(rng.random() < 0.3)}
    mask = rng.random(n) < choice([0.0, 0.3, 0.7, 1.0], p=[0.1, 0.4, 0.4, 0.1])
    return {"mask": [bool(b) for b in mask]}


def rand_selection(shape, allow_int=True):
    sels = [rand_selector(n, allow_int) for n in shape]
    # trailing selectors may be left out
    while sels and sels[-1] is None and rng.random() < 0.5:
        sels.pop()
    return sels


def select(node, allow_int=True):
    t, v = node
    if v.a.ndim == 0:
        return node
    return mk({"op": "slice", "x": t, "sel": rand_selection(v.a.shape, allow_int)})


def int_scalar_for(dtype, allow_overflow=True):
    k = kind(dtype)
    if k == "float":
        return choice([2, -3, 0, 1, 2**40, 16777217])
    lo, hi = int_range(dtype)
    r = rng.random()
    if r < 0.45:
        v = int(rng.integers(0, 6)) if k == "uint" else int(rng.integers(-5, 6))
    elif r < 0.75:
        v = choice([lo, hi, lo + 1, hi - 1])
    elif r < 0.9 and allow_overflow:
        v = choice([lo - 1, hi + 1, -1 if k == "uint" else hi + 1])
    else:
        v = int(rng.integers(0, 100))
    return v


def float_scalar_for(v, pool=None):
    """A non-integral float (zask cannot tell 2.0 from 2), often one of the values of `pool` (the
    array `v` was selected from) written as a decimal, as `x >= 0.7` is written."""
    r = rng.random()
    data = v.a if pool is None else pool
    finite = data[np.isfinite(data)] if kind(data.dtype) == "float" else np.array([])
    if r < 0.6 and finite.size:
        for x in rng.choice(finite.ravel(), size=min(8, finite.size), replace=False):
            x = round(float(x), 1) if abs(x) < 1e6 else float(x)
            if x != int(x):
                return x
    if r < 0.75:
        return choice(["nan", "inf", "-inf"])
    x = float(np.round(rng.uniform(-10, 10), 2))
    return x if x != int(x) else x + 0.5


def scalar_json(s):
    if isinstance(s, bool):
        return {"bool": s}
    if isinstance(s, int):
        return {"int": str(s)}
    return {"float": s}


def rand_scalar(v, allow_overflow=True, pool=None):
    r = rng.random()
    if r < 0.45:
        return scalar_json(int_scalar_for(str(v.a.dtype), allow_overflow))
    if r < 0.85:
        return scalar_json(float_scalar_for(v, pool))
    return scalar_json(bool(rng.random() < 0.5))


def source(name):
    return mk({"src": name})


def reduction_tree(node, kind_=None, allow_error=True):
    t, v = node
    kinds = [k for k in REDUCTIONS if v.exact or k in ("sum", "mean", "var", "std", "min", "max")]
    if kind(v.a.dtype) == "bool":
        kinds = [k for k in kinds if k not in ("var", "std")] + ["sum", "countNonzero"]
    kn = kind_ or choice(kinds)
    nd = v.a.ndim
    tree = {"op": "reduce", "kind": kn, "x": t, "keepdims": bool(rng.random() < 0.35)}
    r = rng.random()
    if nd == 0 or r < 0.3:
        tree["axis"] = None
    elif r < 0.75 or kn in ("argmin", "argmax"):
        tree["axis"] = int(rng.integers(-nd, nd))
    else:
        m = int(rng.integers(1, nd + 1))
        tree["axis"] = [int(a) - (nd if rng.random() < 0.3 else 0) for a in rng.choice(nd, size=m, replace=False)]
    if kn in ("var", "std") and rng.random() < 0.4:
        tree["ddof"] = int(choice([1, 2]))
    if kn in ("sum", "mean") and rng.random() < 0.15:
        tree["dtype"] = "float64" if kn == "mean" or kind(v.a.dtype) != "float" else choice(["float64", "float32"])
    if rng.random() < 0.4:
        tree["splitEvery"] = int(choice([2, 3]))
    return mk(tree)


class Gen:
    def __init__(self, primary, bcast, same):
        self.p, self.b, self.s = primary, bcast, same
        self.queries = []

    def add(self, family, build):
        try:
            t, v = build()
        except ExpectedError as e:
            self.queries.append({"family": family, "expr": e.tree, "error": e.name, **touched(e.tree)})
            return
        self.queries.append({"family": family, "expr": t, **encode(v), **touched(t)})

    # families -----------------------------------------------------------------------
    def selection(self):
        n = select(source(choice([self.p, self.b, self.s], p=[0.6, 0.2, 0.2])))
        if rng.random() < 0.3:
            n = select(n)
        return n

    def unary(self):
        base = select(source(choice([self.p, self.s])))
        name = choice(list(UNARY))
        return mk({"op": "ew", "name": name, "args": [base[0]]})

    def scalar_op(self):
        src = source(choice([self.p, self.s]))
        base = select(src)
        name = choice(list(BINARY) + list(COMPARISONS))
        s = rand_scalar(base[1], pool=src[1].a)
        if name == "pow" and "float" not in s and rng.random() < 0.7:
            s = scalar_json(int(choice([0, 1, 2, 3])))
        if name == "pow" and "int" in s and int(s["int"]) < 0 and base[1].a.size == 0:
            s = scalar_json(2)  # numpy raises for a negative integer power only when there is an element
        args = [base[0], s] if rng.random() < 0.75 else [s, base[0]]
        return mk({"op": "ew", "name": name, "args": args})

    def array_op(self):
        a = source(self.p)
        r = rng.random()
        if r < 0.4:
            b = source(choice([self.b, self.s]))
        elif r < 0.7 and a[1].a.ndim > 0:
            # a selection of the primary itself that keeps an axis of length 1, or reverses one
            sel = [None] * a[1].a.ndim
            ax = int(rng.integers(a[1].a.ndim))
            n = a[1].a.shape[ax]
            sel[ax] = {"slice": [int(rng.integers(0, n)), None, None] if n else [None, None, None]} if rng.random() < 0.3 else (
                {"list": [int(rng.integers(0, n))], "typed": False} if n else None
            )
            if sel[ax] and "slice" in sel[ax] and n:
                s0 = sel[ax]["slice"][0]
                sel[ax] = {"slice": [s0, s0 + 1, None]}
            b = mk({"op": "slice", "x": a[0], "sel": sel})
        else:
            b = reduction_tree(a, kind_=choice(["mean", "max", "sum", "min"]))
            t = dict(b[0])
            t["keepdims"] = True
            if t["axis"] is not None and isinstance(t["axis"], list) and len(t["axis"]) == 0:
                t["axis"] = None
            b = mk(t)
        name = choice(list(BINARY) + list(COMPARISONS))
        x, y = (a, b) if rng.random() < 0.7 else (b, a)
        if name in COMPARISONS and not (x[1].exact and y[1].exact):
            name = "sub"
        return mk({"op": "ew", "name": name, "args": [x[0], y[0]]})

    def compare(self):
        name = choice(list(COMPARISONS))
        if rng.random() < 0.7:
            src = source(choice([self.p, self.s]))
            base = select(src)
            v = base[1]
            # a float array against one of its values written as a decimal, as `x >= 0.7` is written
            s = scalar_json(float_scalar_for(v, src[1].a)) if kind(v.a.dtype) == "float" and rng.random() < 0.6 else rand_scalar(v, pool=src[1].a)
            return mk({"op": "ew", "name": name, "args": [base[0], s]})
        return mk({"op": "ew", "name": name, "args": [source(self.p)[0], source(choice([self.b, self.s]))[0]]})

    def decimal_compare(self):
        # a float array against one of its own values written as a decimal (`x >= 0.7`), whole
        floats = [n for n in (self.p, self.s, self.b) if kind(arrays[n]["data"].dtype) == "float"]
        if not floats:
            return self.compare()
        src = source(choice(floats))
        x = float_scalar_for(src[1]) if rng.random() < 0.2 else None
        finite = src[1].a[np.isfinite(src[1].a)]
        for v in rng.choice(finite.ravel(), size=min(8, finite.size), replace=False) if finite.size else []:
            if round(float(v), 1) != int(round(float(v), 1)):
                x = round(float(v), 1)
                break
        x = float_scalar_for(src[1]) if x is None else x
        n = mk({"op": "ew", "name": choice(list(COMPARISONS)), "args": [src[0], scalar_json(x)]})
        return select(n) if rng.random() < 0.3 else n

    def where(self):
        a = source(self.p)
        cond_kind = rng.random()
        if cond_kind < 0.6:
            cond = mk({"op": "ew", "name": choice(list(COMPARISONS)), "args": [a[0], rand_scalar(a[1], pool=a[1].a)]})[0]
        elif cond_kind < 0.8:
            cond = source(choice([self.b, self.s]))[0]
        else:
            cond = a[0]
        x = a[0] if rng.random() < 0.6 else rand_scalar(a[1])
        y = source(choice([self.b, self.s]))[0] if rng.random() < 0.5 else rand_scalar(a[1])
        if is_scalar(x) and is_scalar(y) and is_scalar(cond):
            x = a[0]
        return mk({"op": "where", "args": [cond, x, y]})

    def astype(self):
        # 64-bit integers (their extreme values included) are the likeliest to be cast wrongly
        wide = [n for n in (self.p, self.s, self.b) if arrays[n]["data"].dtype == np.int64]
        base = source(choice(wide) if wide and rng.random() < 0.4 else choice([self.p, self.s]))
        if rng.random() < 0.5:
            base = select(base)
        v = base[1]
        targets = list(DTYPES)
        if kind(v.a.dtype) == "float":
            # float -> integer casts only of finite values within range (numpy's are undefined outside)
            t, v = mk({"op": "ew", "name": "abs", "args": [base[0]]}) if rng.random() < 0.5 else base
            finite = v.a[np.isfinite(v.a)]
            ok = [d for d in DTYPES if kind(d) in ("float", "bool") or (np.isfinite(v.a).all() and (finite.size == 0 or (finite.min() > int_range(d)[0] - 1 and finite.max() < int_range(d)[1] + 1)))]
            return mk({"op": "astype", "x": t, "dtype": choice(ok)})
        if v.a.dtype == np.int64 and rng.random() < 0.4:
            return mk({"op": "astype", "x": base[0], "dtype": "float32"})  # rounds: once, as numpy does
        return mk({"op": "astype", "x": base[0], "dtype": choice(targets)})

    def reduce(self):
        base = source(self.p) if rng.random() < 0.5 else select(source(self.p), allow_int=False)
        r = rng.random()
        if r < 0.15:
            base = mk({"op": "ew", "name": choice(["abs", "exp", "sqrt"]), "args": [base[0]]})
        elif r < 0.3 and base[1].a.dtype != np.bool_:
            base = mk({"op": "ew", "name": choice(["mul", "add"]), "args": [base[0], rand_scalar(base[1], False)]})
        return reduction_tree(base)

    def layout(self):
        t, v = source(self.p)
        nd = v.a.ndim
        r = rng.random()
        if r < 0.35 and nd >= 2:
            axes = [int(a) for a in rng.permutation(nd)] if rng.random() < 0.7 else None
            n = mk({"op": "transpose", "x": t, "axes": axes})
        elif r < 0.7:
            size = v.a.size
            shape = random_factorization(size)
            if size > 0 and rng.random() < 0.4:
                shape[int(rng.integers(len(shape)))] = -1
            n = mk({"op": "reshape", "x": t, "shape": shape})
        else:
            n = mk({"op": "rechunk", "x": t, "chunks": random_rechunk(v.a.shape)})
        r = rng.random()
        if r < 0.4:
            return select(n)
        if r < 0.7:
            return reduction_tree(n)
        return n

    def join(self):
        a = source(self.p)
        nd = a[1].a.ndim
        s = source(self.s)
        if nd == 0 or rng.random() < 0.35:
            axis = int(rng.integers(-nd - 1, nd + 1))
            return mk({"op": "stack", "xs": [a[0], s[0]] + ([a[0]] if rng.random() < 0.3 else []), "axis": axis})
        axis = int(rng.integers(-nd, nd))
        ax = axis % nd
        sel = [None] * nd
        sel[ax] = rand_slice(a[1].a.shape[ax])
        part = mk({"op": "slice", "x": a[0], "sel": sel})
        xs = [a[0], part[0], s[0]]
        rng.shuffle(xs)
        n = mk({"op": "concatenate", "xs": xs, "axis": axis})
        return select(n) if rng.random() < 0.3 else n

    def errors(self):
        t, v = source(self.p)
        r = rng.random()
        k = kind(v.a.dtype)
        if r < 0.3 and v.a.ndim > 0:
            n = v.a.shape[0]
            return mk({"op": "slice", "x": t, "sel": [{"int": choice([n, -n - 1])} if rng.random() < 0.5 else {"list": [0, n][: 2 if n else 1] if n else [0], "typed": False}]})
        if r < 0.6 and k in ("int", "uint"):
            lo, hi = int_range(str(v.a.dtype))
            return mk({"op": "ew", "name": choice(["add", "mul", "sub"]), "args": [t, scalar_json(choice([hi + 1, lo - 1]))]})
        if r < 0.8 and k != "float":
            return mk({"op": "ew", "name": "pow", "args": [t, scalar_json(-1)]})
        if k == "bool":
            return mk({"op": "ew", "name": choice(["sub", "neg"]), "args": [t, t] if rng.random() < 0.5 else [t]})
        empty = mk({"op": "slice", "x": t, "sel": [{"slice": [0, 0, None]}]}) if v.a.ndim else (t, v)
        return reduction_tree(empty, kind_=choice(["min", "max", "argmin", "argmax"]))


def random_factorization(size):
    if size == 0:
        return choice([[0], [0, 3], [2, 0]])
    factors = []
    m = size
    p = 2
    while m > 1 and p * p <= m:
        while m % p == 0:
            factors.append(p)
            m //= p
        p += 1
    if m > 1:
        factors.append(m)
    nd = int(rng.integers(1, 4))
    dims = [1] * nd
    for f in factors:
        dims[int(rng.integers(nd))] *= f
    return dims


def random_rechunk(shape):
    r = rng.random()
    if r < 0.3:
        return int(rng.integers(1, 6))
    out = []
    for n in shape:
        q = rng.random()
        if q < 0.2:
            out.append(None)
        elif q < 0.3:
            out.append(-1)
        elif q < 0.6 and n > 0:
            sizes = []
            left = n
            while left > 0:
                c = int(rng.integers(1, left + 1))
                sizes.append(c)
                left -= c
            out.append(sizes)
        else:
            out.append(int(rng.integers(1, max(n, 1) + 2)))
    return out


def touched(t):
    """For a plain read (a source or one selection of one), the chunks a compute must request."""
    if "src" in t:
        src, sels = t["src"], []
    elif t.get("op") == "slice" and "src" in t["x"]:
        src, sels = t["x"]["src"], t["sel"]
    else:
        return {}
    info = arrays[src]
    shape = info["data"].shape
    if any(n == 0 for n in shape):
        return {"chunksTouched": 0}
    total = 1
    for axis, n in enumerate(shape):
        s = sels[axis] if axis < len(sels) else None
        pos = np.arange(n)
        if s is not None:
            try:
                pos = np.atleast_1d(orth_select(pos, [s])[0])
            except IndexError:
                return {}
        total *= len(set((pos // info["chunks"][axis]).tolist()))
    return {"chunksTouched": total}


# --- output -----------------------------------------------------------------------------------


def enc_float(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def encode(v):
    a = v.a
    flat = a.ravel(order="C")
    dt = str(a.dtype)
    if dt in FLOATS:
        values = [enc_float(x) for x in flat]
    elif dt == "bool":
        values = [int(x) for x in flat]
    elif a.dtype.itemsize == 8:
        values = [str(int(x)) for x in flat]
    else:
        values = [int(x) for x in flat]
    out = {"dtype": dt, "shape": list(a.shape), "values": values}
    if not v.exact:
        assert dt in FLOATS
        err = np.asarray(v.err, dtype=np.float64).ravel(order="C")
        out["err"] = [enc_float(x) if np.isfinite(x) else "inf" for x in err]
    return out


FAMILIES = [
    ("selection", 8), ("unary", 4), ("scalar_op", 8), ("array_op", 6), ("compare", 5), ("decimal_compare", 3), ("where", 3),
    ("astype", 5), ("reduce", 9), ("layout", 5), ("join", 3), ("errors", 3),
]


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    primaries = []
    primary_dtypes = [str(d) for d in rng.permutation(DTYPES)]
    ndims = [0, 1, 1, 2, 2, 2, 3, 3]
    rng.shuffle(ndims)
    for i, nd in enumerate(ndims[:6]):
        shape = random_shape(nd)
        dtype = primary_dtypes[i]
        style = "decimals" if dtype == "float32" and rng.random() < 0.7 else None
        p = write_array(f"p{i}", shape, dtype, style)
        bshape = [1 if rng.random() < 0.5 else n for n in shape]
        if bshape and rng.random() < 0.3:
            bshape = bshape[int(rng.integers(1, len(bshape) + 1)):]
        b = write_array(f"p{i}b", tuple(bshape), choice(DTYPES))
        s = write_array(f"p{i}s", shape, choice(DTYPES))
        primaries.append((p, b, s))
    doc = {"seed": SEED, "numpy": np.__version__, "zarr": zarr.__version__, "arrays": {}, "primaries": []}
    for name, info in arrays.items():
        doc["arrays"][name] = info["params"]
    for p, b, s in primaries:
        g = Gen(p, b, s)
        for family, count in FAMILIES:
            for _ in range(count):
                g.add(family, getattr(g, family))
        doc["primaries"].append({"name": p, "partners": [b, s], "queries": g.queries})
    path = os.path.join(OUT, "expected.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
    print(path)


main()
