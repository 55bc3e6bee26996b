#!/usr/bin/python3
"""The Python peer: the tutorial's read_dask over HTTP, timed on the benchmark queries.

Usage: /usr/bin/python3 dask_http_queries.py STORE_URL [--repeats 3] [--queries open,one_gene,...]
                                             [--mark] [--scheduler threads|sync] [--num-workers N]
       /usr/bin/python3 dask_http_queries.py STORE_URL --serve [--scheduler threads|sync] [--num-workers N]

Reads an AnnData zarr store (consolidated metadata) served over HTTP the way the tutorial
"Dask + Zarr, but Remote" does with dask 2022.12, zarr 2.13, fsspec HTTP and anndata 0.8.
anndata 0.8 predates read_dispatched, so read_dask opens the group with
zarr.open_consolidated (fsspec HTTP), reads obs, var and uns eagerly with
anndata.experimental.read_elem and wraps X with da.from_zarr, which is what the tutorial's
callback does for those elements; the "open" query times all of that.

Prints one JSON object on stdout: for each query its median and runs in seconds and the
float64 sum of its result (checked against expected.json by the caller), and the process's
peak RSS (`max_rss_mib`). With --mark it sends
`GET /__zask_mark__/peer/<query>/<run>` to the server after each timed run, so the caller can
cut the server's access log into per-query request counts; marks are outside the timings.

With --serve (what `npm run bench` uses, through benchmarks/lib/peer.ts) it imports everything
once and then runs one query per command, so the runner can interleave the peer's runs with
zask's and both see the same machine state. It first prints a hello line
`{"ready": true, "peer": "dask", "versions": {...}, "scheduler": ..., "url": ...}`, then reads
one JSON line per command from stdin, `{"query": "open"}`, runs that query once with the same
code as the batch mode (`run_query`) and prints one JSON line `{"ms": <float>, "sum": <float>}`,
or `{"error": "..."}` when the query raised (and keeps serving). `{"query": "__info__"}` prints
the hello again, with X's shape and chunks once the store is open. `open` must come first: the
other queries use the store it opened. Exits at the end of stdin.
"""
import argparse
import json
import resource
import statistics
import sys
import time
import traceback
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
    """The tutorial's read_dask: obs, var and uns eager (read_elem), X lazy (da.from_zarr).

    A sparse X (a csr_matrix/csc_matrix group) has no lazy reader in anndata 0.8: each query
    reads it afresh with read_elem (indptr, data, indices) and answers with scipy, which is
    what a user without a cache pays."""
    group = zarr.open_consolidated(url, mode="r")
    obs = read_elem(group["obs"])
    var = read_elem(group["var"])
    uns = read_elem(group["uns"]) if "uns" in group else {}
    if isinstance(group["X"], zarr.Group):
        attrs = group["X"].attrs
        return {"group": group, "obs": obs, "var": var, "uns": uns, "X": SparseX(group["X"], tuple(attrs["shape"]))}
    X = da.from_zarr(group["X"])
    return {"group": group, "obs": obs, "var": var, "uns": uns, "X": X}


class SparseX:
    """A sparse X in the store: its shape, and a fresh scipy matrix per `read()`."""

    def __init__(self, group, shape):
        self.group, self.shape = group, shape
        self.chunks = [(c,) for c in group["data"].chunks] + [(0,)]

    def read(self):
        return read_elem(self.group)


def run_sparse_query(name, X, var):
    m = X.read()
    if name == "one_gene":
        result = m[:, (var.index == GENE)].toarray()
    elif name == "genes_n_cells_gt_1000":
        result = m[:, (var["n_cells"] > 1000).values].toarray()
    elif name == "rows_0_100":
        result = m[0:100].toarray()
    elif name == "one_cell":
        result = m[ONE_CELL].toarray()
    elif name == "mean_per_gene":
        result = np.asarray(m.mean(axis=0))
    else:
        raise ValueError(f"unknown query {name!r}; expected one of {', '.join(QUERIES)}")
    return float(np.asarray(result).sum(dtype=np.float64))


def run_query(name, url, state):
    if name == "open":
        state.update(read_dask(url))
        return float(state["X"].shape[0] + state["X"].shape[1])
    X, var = state["X"], state["var"]
    if isinstance(X, SparseX):
        return run_sparse_query(name, X, var)
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


def info(url, scheduler, state):
    """The hello line of --serve (and the answer to `__info__`)."""
    out = {"ready": True, "peer": "dask", "versions": versions(), "scheduler": scheduler, "url": url}
    if "X" in state:
        out["shape"] = list(state["X"].shape)
        out["chunks"] = [int(c[0]) for c in state["X"].chunks]
    return out


def versions():
    return {"dask": dask.__version__, "zarr": zarr.__version__, "anndata": anndata.__version__,
            "fsspec": fsspec.__version__, "python": sys.version.split()[0]}


def serve(url, scheduler):
    """One query per stdin line, one JSON answer per stdout line (see the module's docstring)."""
    # Only protocol lines may reach the real stdout: anything a library prints goes to stderr,
    # where the runner keeps it for its error messages.
    out = sys.stdout
    sys.stdout = sys.stderr

    def reply(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()  # the runner waits for this line: no block buffering on a pipe

    state = {}
    reply(info(url, scheduler, state))
    # readline rather than `for line in sys.stdin`, which may read ahead for more than one line.
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        if not line.strip():
            continue
        try:
            name = json.loads(line)["query"]
            if name == "__info__":
                reply(info(url, scheduler, state))
                continue
            if name != "open" and "X" not in state:
                raise RuntimeError(f"query {name!r} before 'open': run 'open' first, the other queries use the store it opens")
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            checksum = run_query(name, url, state)
            elapsed = time.perf_counter() - start
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
            reply({"ms": elapsed * 1000, "sum": checksum, "faults": faults})
        except Exception as error:  # one failed query must not end the session
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            reply({"error": f"{type(error).__name__}: {error}"})


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--queries", default=",".join(QUERIES))
    parser.add_argument("--mark", action="store_true")
    parser.add_argument("--scheduler", default="threads", choices=["threads", "sync"])
    parser.add_argument("--serve", action="store_true", help="one query per stdin line (see the docstring)")
    parser.add_argument("--num-workers", type=int, default=None, help="threads of the threaded scheduler (default: cores)")
    args = parser.parse_args(argv)
    url = args.url.rstrip("/")
    dask.config.set(scheduler=args.scheduler)
    if args.num_workers is not None:
        # the threaded scheduler's pool size: each thread fetches one chunk at a time
        dask.config.set(num_workers=args.num_workers)
    if args.serve:
        serve(url, args.scheduler)
        return
    queries = [q for q in args.queries.split(",") if q]
    if queries and queries[0] != "open":
        queries.insert(0, "open")  # every other query needs the opened store

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
        "versions": versions(),
        "scheduler": args.scheduler,
        "url": url,
        "shape": list(X.shape),
        "chunks": [int(c[0]) for c in X.chunks],
        "repeats": args.repeats,
        "queries": results,
        # the peak RSS of this whole process, interpreter and imports included
        "max_rss_mib": peak_rss_mib(),
    }))


def peak_rss_mib():
    """This process's peak RSS, MiB: VmHWM on Linux, since ru_maxrss keeps the parent's RSS at
    fork across exec (a child of a big bench process reads the parent's size there)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main(sys.argv[1:])
