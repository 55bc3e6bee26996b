"""Independent readers for writer-differential.test.ts.

argv[1]: a JSON file listing the arrays zask wrote: [{"path": ..., "format": 2 | 3}, ...].
Prints one JSON line: per array {"shape", "dtype", "chunks", "fill_value", "compressor" (v2),
"hex", "problems"}. A zarr v2 array is read by zarr-python 2.13 (zarr.open_array); a zarr v3 one
(plain or sharding_indexed) by the small reader below, which decodes every chunk with Python's
numcodecs (blosc, gzip) and numpy, and insists on whole chunks of the declared shape. "hex" is the
array's bytes in C order, little endian, every NaN as numpy's canonical NaN (so NaN payloads do
not count, but the sign of zero does).
"""
import json
import os
import sys

import numpy as np
import zarr
import numcodecs
from numcodecs import blosc as nblosc

V3_DTYPES = {
    "bool": "|b1",
    "int8": "|i1",
    "int16": "<i2",
    "int32": "<i4",
    "int64": "<i8",
    "uint8": "|u1",
    "uint16": "<u2",
    "uint32": "<u4",
    "uint64": "<u8",
    "float32": "<f4",
    "float64": "<f8",
}


def canonical_hex(a):
    a = np.ascontiguousarray(a)
    if a.dtype.kind == "f":
        a = a.astype(a.dtype.newbyteorder("<"), copy=True)
        a[np.isnan(a)] = np.nan
    elif a.dtype.itemsize > 1:
        a = a.astype(a.dtype.newbyteorder("<"))
    return a.tobytes().hex()


def read_v2(path):
    z = zarr.open_array(path, mode="r")
    a = z[...]
    comp = z.compressor.get_config() if z.compressor is not None else None
    fill = z.fill_value
    if isinstance(fill, np.generic):
        fill = fill.item()
    return {
        "shape": list(z.shape),
        "dtype": z.dtype.str,
        "chunks": list(z.chunks),
        "fill_value": fill,
        "compressor": comp,
        "order": z.order,
        "filters": [f.get_config() for f in z.filters] if z.filters else None,
        "hex": canonical_hex(a),
        "problems": [],
    }


def decode_chunk(buf, codecs, dtype, shape, problems, where):
    for c in reversed(codecs):
        name = c["name"]
        if name == "blosc":
            buf = nblosc.decompress(bytes(buf))
        elif name == "gzip":
            buf = numcodecs.GZip().decode(bytes(buf))
        elif name == "bytes":
            endian = c.get("configuration", {}).get("endian", "little")
            dt = dtype.newbyteorder("<" if endian == "little" else ">") if dtype.itemsize > 1 else dtype
            n = int(np.prod(shape))
            if len(buf) != n * dtype.itemsize:
                problems.append(f"{where}: decodes to {len(buf)} bytes, a whole chunk {list(shape)} is {n * dtype.itemsize}")
                return None
            return np.frombuffer(bytes(buf), dtype=dt).reshape(shape)
        else:
            problems.append(f"{where}: unknown codec {name}")
            return None
    problems.append(f"{where}: no bytes codec")
    return None


def read_v3(path):
    with open(os.path.join(path, "zarr.json")) as f:
        meta = json.load(f)
    problems = []
    shape = meta["shape"]
    dtype = np.dtype(V3_DTYPES[meta["data_type"]])
    grid = meta["chunk_grid"]["configuration"]["chunk_shape"]
    sep = meta["chunk_key_encoding"]["configuration"].get("separator", "/")
    codecs = meta["codecs"]
    sharded = codecs[0]["name"] == "sharding_indexed"
    if sharded:
        cfg = codecs[0]["configuration"]
        inner = cfg["chunk_shape"]
        inner_codecs = cfg["codecs"]
        if cfg.get("index_location", "end") != "end":
            problems.append("index not at the end")
    else:
        inner = grid
        inner_codecs = codecs
    out = np.full(shape, meta["fill_value"], dtype=dtype)
    ngrid = [-(-n // g) for n, g in zip(shape, grid)]
    for coords in np.ndindex(*ngrid):
        key = os.path.join(path, *(["c"] + [str(c) for c in coords])) if sep == "/" else os.path.join(path, sep.join(["c"] + [str(c) for c in coords]))
        if not os.path.exists(key):
            continue
        with open(key, "rb") as f:
            blob = f.read()
        origin = [c * g for c, g in zip(coords, grid)]
        if not sharded:
            pieces = [(origin, blob)]
        else:
            per = [g // i for g, i in zip(grid, inner)]
            n = int(np.prod(per))
            if len(blob) < 16 * n + 4:
                problems.append(f"{key}: {len(blob)} bytes cannot hold an index of {n} entries")
                continue
            index = np.frombuffer(blob[len(blob) - (16 * n + 4) : len(blob) - 4], dtype="<u8").reshape(n, 2)
            pieces = []
            for e, sub in enumerate(np.ndindex(*per)):
                off, nb = int(index[e, 0]), int(index[e, 1])
                if off == 2**64 - 1 and nb == 2**64 - 1:
                    continue
                if off + nb > len(blob) - (16 * n + 4):
                    problems.append(f"{key}: entry {e} ({off}, {nb}) runs into the index")
                    continue
                pieces.append(([o + s * i for o, s, i in zip(origin, sub, inner)], blob[off : off + nb]))
        for at, buf in pieces:
            if any(a >= n for a, n in zip(at, shape)):
                problems.append(f"{key}: an inner chunk at {at} lies outside the array {shape}")
                continue
            block = decode_chunk(buf, inner_codecs, dtype, inner, problems, f"{key} @ {at}")
            if block is None:
                continue
            sel = tuple(slice(a, min(a + i, n)) for a, i, n in zip(at, inner, shape))
            out[sel] = block[tuple(slice(0, s.stop - s.start) for s in sel)]
    return {
        "shape": list(out.shape),
        "dtype": out.dtype.str,
        "chunks": inner,
        "fill_value": meta["fill_value"],
        "hex": canonical_hex(out),
        "problems": problems,
    }


def main():
    with open(sys.argv[1]) as f:
        items = json.load(f)
    answers = []
    for item in items:
        try:
            answers.append(read_v2(item["path"]) if item["format"] == 2 else read_v3(item["path"]))
        except Exception as e:  # reported per array, so one bad store does not hide the others
            answers.append({"error": f"{type(e).__name__}: {e}"})
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
