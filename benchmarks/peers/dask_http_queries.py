#!/usr/bin/python3
"""The Python peer: the tutorial's read_dask over HTTP, timed on the benchmark queries.

Usage: /usr/bin/python3 dask_http_queries.py STORE_URL [--repeats 3] [--queries open,one_gene,...]
                                             [--mark] [--scheduler threads|sync]

Reads an AnnData zarr store (consolidated metadata) served over HTTP the way the tutorial
"Dask + Zarr, but Remote" does with dask 2022.12, zarr 2.13, fsspec HTTP and anndata 0.8.
anndata 0.8 predates read_dispatched, so read_dask opens the group with
zarr.open_consolidated (fsspec HTTP), reads obs, var and uns eagerly with
anndata.experimental.read_elem and wraps X with da.from_zarr, which is what the tutorial's
callback does for those elements; the "open" query times all of that.

Prints one JSON object on stdout: for each query its median and runs in seconds and the
float64 sum of its result (checked against expected.json by the caller). With --mark it sends
`GET /__zask_mark__/peer/<query>/<run>` to the server after each timed run, so the caller can
cut the server's access log into per-query request counts; marks are outside the timings.
"""
import argparse
import json
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import anndata
import dask
import dask.array as da
import fsspec
import numpy as np
import zarr
from anndata.experimental import read_elem

QUERIES = ("open", "one_gene", "genes_n_cells_gt_1000", "rows_0_100", "one_cell", "mean_per_gene")
GENE = "C1orf86"
ONE_CELL = 1318


def read_dask(url):
    """The tutorial's read_dask: obs, var and uns eager (read_elem), X lazy (da.from_zarr)."""
    group = zarr.open_consolidated(url, mode="r")
    obs = read_elem(group["obs"])
    var = read_elem(group["var"])
    uns = read_elem(group["uns"]) if "uns" in group else {}
    X = da.from_zarr(group["X"])
    return {"group": group, "obs": obs, "var": var, "uns": uns, "X": X}


def run_query(name, url, state):
    if name == "open":
        state.update(read_dask(url))
        return float(state["X"].shape[0] + state["X"].shape[1])
    X, var = state["X"], state["var"]
    if name == "one_gene":
        result = X[:, (var.index == GENE)].compute()
    elif name == "genes_n_cells_gt_1000":
        result = X[:, (var["n_cells"] > 1000).values].compute()
    elif name == "rows_0_100":
        result = X[0:100].compute()
    elif name == "one_cell":
        result = X[ONE_CELL].compute()
    elif name == "mean_per_gene":
        result = X.mean(axis=0).compute()
    else:
        raise ValueError(f"unknown query {name!r}; expected one of {', '.join(QUERIES)}")
    return float(np.asarray(result).sum(dtype=np.float64))


def send_mark(url, label):
    parts = urllib.parse.urlsplit(url)
    mark = f"{parts.scheme}://{parts.netloc}/__zask_mark__/{urllib.parse.quote(label, safe='')}"
    try:
        urllib.request.urlopen(mark, timeout=10).read()
    except urllib.error.HTTPError as error:  # the marker is a 404 by design
        error.read()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--queries", default=",".join(QUERIES))
    parser.add_argument("--mark", action="store_true")
    parser.add_argument("--scheduler", default="threads", choices=["threads", "sync"])
    args = parser.parse_args(argv)
    url = args.url.rstrip("/")
    queries = [q for q in args.queries.split(",") if q]
    if queries and queries[0] != "open":
        queries.insert(0, "open")  # every other query needs the opened store
    dask.config.set(scheduler=args.scheduler)

    if args.mark:
        send_mark(url, "peer/start")
    state, results = {}, {}
    for name in queries:
        runs, checksum = [], None
        # One untimed warm-up run per query, as the zask side does (first-call costs on both sides).
        run_query(name, url, state)
        if args.mark:
            send_mark(url, f"peer/{name}/warmup")
        for run in range(args.repeats):
            start = time.perf_counter()
            checksum = run_query(name, url, state)
            runs.append(time.perf_counter() - start)
            if args.mark:
                send_mark(url, f"peer/{name}/{run}")
        results[name] = {"median_s": statistics.median(runs), "runs_s": runs, "sum": checksum}

    X = state["X"]
    print(json.dumps({
        "peer": "dask",
        "versions": {"dask": dask.__version__, "zarr": zarr.__version__, "anndata": anndata.__version__,
                     "fsspec": fsspec.__version__, "python": sys.version.split()[0]},
        "scheduler": args.scheduler,
        "url": url,
        "shape": list(X.shape),
        "chunks": [int(c[0]) for c in X.chunks],
        "repeats": args.repeats,
        "queries": results,
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
