"""Scheduler overhead of dask, the peer of benchmarks/scheduler.bench.ts.

Workload: da.ones(200000, chunks=10).sum() -- 20,000 blocks of 10 elements, a tree reduction
(dask's default split_every, 4 per level for 1-d: 46,670 tasks before optimization). Prints one
JSON line: dask's version, task counts, and the median wall time of compute() per scheduler.
Run with the Debian stack: /usr/bin/python3 benchmarks/peers/dask_overhead.py [repeats]
"""
import json
import statistics
import sys
import time

import dask
import dask.array as da

repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
x = da.ones(200_000, chunks=10)
s = x.sum()
tasks = len(s.__dask_graph__())
(optimized,) = dask.optimize(s)
out = {
    "peer": "dask",
    "version": dask.__version__,
    "blocks": x.numblocks[0],
    "tasks": tasks,
    "tasks_optimized": len(dict(optimized.__dask_graph__())),
    "schedulers": {},
}
for scheduler in ("threads", "sync"):
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = s.compute(scheduler=scheduler)
        runs.append(time.perf_counter() - t0)
    assert value == 200_000, value
    out["schedulers"][scheduler] = {"median_s": statistics.median(runs), "runs_s": runs}
print(json.dumps(out))
