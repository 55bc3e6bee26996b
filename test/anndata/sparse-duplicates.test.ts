// Sparse X that stores an index twice in a line, as scipy allows and its toarray adds up: stores
// written by anndata from such matrices, with lines across chunk boundaries that hold one part of
// a duplicate in each chunk, answered over HTTP against numpy on scipy's dense matrix.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SparseArray, readZarr } from "@zask/anndata";
import { HttpStore, type Array as LazyArray, type ComputeOptions } from "@zask/array";
import * as zarr from "zarrita";
import { Profiler } from "@zask/scheduler";
import { serve, tempDir, type FixtureServer } from "./fixtures.ts";
import { pythonJson, skipPython } from "./python.ts";

const KINDS = ["var", "std", "min", "max", "countNonzero", "sum", "mean"] as const;

// Writes each store and prints numpy's answers on the dense matrix. Chunks of 7 stored values
// and lines of 6 to 14 put most lines across a boundary; the script checks that a duplicate
// does sit across one, and that scipy's own reductions agree with numpy's.
const WRITE = `
import json, sys, warnings
import numpy as np, scipy.sparse as sp, anndata as ad, zarr
from numcodecs import Zlib
warnings.simplefilter("ignore")
out = sys.argv[1]
rng = np.random.default_rng(5)
rows, cols, chunk = 24, 30, 7
indptr, indices, data = [0], [], []
for r in range(rows):
    ix = list(rng.choice(cols, int(rng.integers(5, 12)), replace=False))
    v = [float(rng.integers(-9, 10)) or 1.0 for _ in ix]
    for j in list(ix[:3]):  # three indices stored twice, apart in the line
        ix.append(j)
        v.append(float(rng.integers(-9, 10)))
    if r % 3 == 0:  # a pair that sums to zero: a stored zero once added up
        j = int(rng.choice(sorted(set(range(cols)) - set(ix))))
        ix += [j, j]
        v += [2.5, -2.5]
    indices += ix
    data += v
    indptr.append(len(indices))
m = sp.csr_matrix((np.array(data, np.float32), np.array(indices, np.int32), np.array(indptr, np.int32)), shape=(rows, cols))
m.has_canonical_format = False
ip = m.indptr
across = [r for r in range(rows) for k in range(ip[r], ip[r + 1]) for k2 in range(k + 1, ip[r + 1]) if m.indices[k] == m.indices[k2] and k // chunk != k2 // chunk]
assert across, "no duplicate across a chunk boundary"
dense = m.toarray()
want = {}
for fmt, mat in (("csr", m), ("csc", m.tocsc(copy=True))):
    if fmt == "csc":
        mat = sp.csc_matrix((mat.data, mat.indices, mat.indptr), shape=mat.shape)
    for codec in ("blosc", "zlib"):
        name = f"{fmt}-{codec}.zarr"
        ad.AnnData(X=mat).write_zarr(f"{out}/{name}")
        g = zarr.open_group(f"{out}/{name}", mode="r+")
        for part in ("data", "indices"):
            values = g["X"][part][:]
            del g["X"][part]
            kw = {"compressor": Zlib(level=1)} if codec == "zlib" else {}
            g["X"].create_dataset(part, data=values, chunks=(chunk,), **kw)
        zarr.consolidate_metadata(f"{out}/{name}")
        back = ad.read_zarr(f"{out}/{name}").X
        assert back.format == fmt and (back != m).nnz == 0 and not back.has_canonical_format
f = dense.astype(np.float64)
for axis in (0, 1, None):
    tag = "all" if axis is None else str(axis)
    want[f"var.{tag}"] = np.var(f, axis=axis).ravel().tolist()
    want[f"std.{tag}"] = np.std(f, axis=axis).ravel().tolist()
    want[f"min.{tag}"] = np.min(dense, axis=axis).ravel().tolist()
    want[f"max.{tag}"] = np.max(dense, axis=axis).ravel().tolist()
    want[f"countNonzero.{tag}"] = np.ravel(np.count_nonzero(dense, axis=axis)).tolist()
    want[f"sum.{tag}"] = np.sum(f, axis=axis).ravel().tolist()
    want[f"mean.{tag}"] = np.mean(f, axis=axis).ravel().tolist()
    for kind in ("min", "max"):
        assert np.allclose(np.ravel(getattr(m, kind)(axis=axis).toarray() if axis is not None else getattr(m, kind)()), want[f"{kind}.{tag}"])
    want[f"log1pAbsMax.{tag}"] = np.max(np.log1p(np.abs(dense)), axis=axis).ravel().tolist()
want["dense"] = dense.ravel().tolist()
print(json.dumps({"want": want, "across": len(across)}))
`;

describe("sparse X with an index stored twice in a line", { skip: skipPython }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: FixtureServer;
  let want: Record<string, number[]>;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    const out = (await pythonJson(WRITE, dir)) as { want: Record<string, number[]>; across: number };
    want = out.want;
    assert.ok(out.across > 0);
    server = await serve(dir);
  });
  after(async () => {
    await server?.close();
    await cleanup?.();
  });

  const open = async (store: string, smallReadBytes?: number): Promise<SparseArray> => {
    const http = new HttpStore(`${server.url}/${store}`);
    if (smallReadBytes === undefined) return (await readZarr(http)).X as SparseArray;
    const group = await zarr.open(zarr.root(http).resolve("X"), { kind: "group" });
    return SparseArray.open(group, { smallReadBytes });
  };

  /** Values equal to numpy's within the rounding of the result's dtype (float32 for var, std and mean of float32). */
  const equal = (got: ArrayLike<number | bigint>, key: string): void => {
    const w = want[key]!;
    const tol = got instanceof Float32Array ? 1e-6 : 1e-12;
    assert.equal(got.length, w.length, `${key}: length`);
    for (let i = 0; i < w.length; i++) {
      const g = Number(got[i]);
      assert.ok(Math.abs(g - w[i]!) <= tol * Math.max(1, Math.abs(w[i]!)), `${key}[${i}]: expected ${w[i]}, got ${g}`);
    }
  };

  for (const store of ["csr-blosc.zarr", "csr-zlib.zarr", "csc-blosc.zarr", "csc-zlib.zarr"]) {
    for (const pool of [false, true]) {
      it(`${store}, ${pool ? "worker pool" : "main thread"}: every reduction over each axis and the dense matrix equal numpy's on scipy's dense matrix`, async () => {
        const X = await open(store, pool ? 0 : undefined);
        const prof = new Profiler();
        const options: ComputeOptions = pool ? { inlineThreshold: 0 } : {};
        const compute = (a: LazyArray) => a.compute(options);
        equal((await compute(X)).data as Float32Array, "dense");
        for (const axis of [0, 1, undefined]) {
          const tag = axis === undefined ? "all" : String(axis);
          for (const kind of KINDS) equal((await compute(X[kind]({ axis }))).data as ArrayLike<number | bigint>, `${kind}.${tag}`);
          equal((await compute(X.abs().log1p().max({ axis }))).data as ArrayLike<number>, `log1pAbsMax.${tag}`);
        }
        if (pool) {
          // the chunk pairs' partials, and their lines across chunks, came back from worker threads
          const axis = X.format === "csr" ? 0 : 1;
          equal((await X.var({ axis }).compute({ inlineThreshold: 0, callbacks: [prof] })).data as Float32Array, `var.${axis}`);
          assert.ok(
            prof.tasks.some((t) => t.lane.includes("pool") && JSON.stringify(t.key).includes("var-chunk-")),
            "no chunk pair reduced on the pool",
          );
        }
      });
    }
  }

  it("a reduction over every cell reads each chunk once and gathers no block of rows", async () => {
    const X = await open("csr-blosc.zarr");
    const chunks = Math.ceil(X.nnz / 7);
    for (const kind of ["var", "max", "countNonzero"] as const) {
      const prof = new Profiler();
      const before = server.requests.length;
      const got = await X[kind]({ axis: 0 }).compute({ callbacks: [prof] });
      equal(got.data as ArrayLike<number | bigint>, `${kind}.0`);
      const seen = server.requests.slice(before);
      for (const part of ["data", "indices"]) {
        const reads = seen.filter((r) => r.includes(`/X/${part}/`));
        assert.equal(reads.length, chunks, `${kind}: ${part} requests ${reads.join(", ")}`);
        assert.equal(new Set(reads).size, chunks, `${kind}: a ${part} chunk read twice`);
      }
      const keys = prof.tasks.map((t) => JSON.stringify(t.key));
      assert.ok(!keys.some((k) => k.includes("sparse-read")), `${kind}: a block of rows gathered (${keys.join(", ")})`);
    }
  });

  it("a selection of cells reduced per gene, a cell selected twice counting twice", async () => {
    const X = await open("csr-zlib.zarr");
    const rows = [3, 3, 10, 0, 17];
    const sub = await X.slice(rows).max({ axis: 0 }).compute();
    const all = await X.slice(rows).compute();
    const dense = all.data as Float32Array;
    const cols = X.shape[1]!;
    for (let j = 0; j < cols; j++) {
      let m = -Infinity;
      for (let r = 0; r < rows.length; r++) m = Math.max(m, dense[r * cols + j]!);
      assert.equal(Number((sub.data as Float32Array)[j]), m, `column ${j}`);
    }
    const dwant = want.dense!;
    for (let r = 0; r < rows.length; r++)
      for (let j = 0; j < cols; j++) assert.equal(dense[r * cols + j], dwant[rows[r]! * cols + j], `row ${rows[r]}, column ${j}`);
  });
});
