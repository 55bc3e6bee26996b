// A sparse matrix keeps the dtype of its stored values through reading, computing and writing:
// bool values are held in a Uint8Array, which alone would make them uint8.
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { SparseMatrix, readZarr, writeZarr } from "@zask/anndata";
import { tempDir } from "./fixtures.ts";
import { pythonJson, skipPython } from "./python.ts";

const WRITE = `
import sys, anndata as ad, numpy as np, scipy.sparse as sp
X = sp.csr_matrix(np.array([[1, 0, 1], [0, 0, 0], [0, 1, 1], [1, 0, 0]], dtype=bool))
counts = sp.csc_matrix(np.array([[0, 2, 2], [1, 0, 0], [0, 0, 0], [3, 4, 4]], dtype=np.uint8))
ad.AnnData(X=X, dtype=bool, layers={"counts": counts}).write_zarr(sys.argv[1])
print('"ok"')
`;
const CHECK = `
import sys, json, anndata as ad, numpy as np
a = ad.read_zarr(sys.argv[1])
print(json.dumps({"x": str(a.X.dtype), "format": a.X.format, "dense": a.X.toarray().astype(int).tolist(), "counts": str(a.layers["counts"].dtype)}))
`;
const DENSE = [
  [1, 0, 1],
  [0, 0, 0],
  [0, 1, 1],
  [1, 0, 0],
];

describe("sparse dtypes", { skip: skipPython }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await pythonJson(WRITE, path.join(dir, "in.zarr"));
  });
  after(async () => cleanup?.());

  it("a bool X read eagerly is a bool SparseMatrix, and written back stays bool for anndata; uint8 stays uint8", async () => {
    const a = await readZarr(path.join(dir, "in.zarr"), { lazy: false });
    const X = a.X as SparseMatrix;
    assert.equal(X.dtype, "bool");
    assert.equal((a.layers["counts"] as SparseMatrix).dtype, "uint8");
    await writeZarr(a, path.join(dir, "eager.zarr"));
    assert.deepEqual(await pythonJson(CHECK, path.join(dir, "eager.zarr")), { x: "bool", format: "csr", dense: DENSE, counts: "uint8" });
  });

  it("a lazy bool X computes to a bool SparseMatrix, and written back stays bool", async () => {
    const a = await readZarr(path.join(dir, "in.zarr"));
    assert.equal((await (a.X as unknown as { computeSparse(): Promise<SparseMatrix> }).computeSparse()).dtype, "bool");
    await writeZarr(a, path.join(dir, "lazy.zarr"));
    assert.deepEqual(await pythonJson(CHECK, path.join(dir, "lazy.zarr")), { x: "bool", format: "csr", dense: DENSE, counts: "uint8" });
  });
});

describe("SparseMatrix dtype", () => {
  it("is the data's by default, bool when given, and refused when the data cannot hold it", () => {
    const indptr = Int32Array.of(0, 1, 2);
    const indices = Int32Array.of(1, 0);
    assert.equal(new SparseMatrix("csr", [2, 2], indptr, indices, Uint8Array.of(1, 1)).dtype, "uint8");
    assert.equal(new SparseMatrix("csr", [2, 2], indptr, indices, Uint8Array.of(1, 1), "bool").dtype, "bool");
    assert.equal(SparseMatrix.fromDense("csc", Uint8Array.of(0, 1, 1, 0), [2, 2], "bool").dtype, "bool");
    assert.throws(() => new SparseMatrix("csr", [2, 2], indptr, indices, Float32Array.of(1, 1), "bool"), /of dtype bool, got a Float32Array/);
    assert.throws(() => new SparseMatrix("csr", [2, 2], indptr, indices, Float32Array.of(1, 1), "string"), RangeError);
  });
});
