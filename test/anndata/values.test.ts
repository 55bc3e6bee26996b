import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AnnData, Categorical, DataFrame, MaskedArray, SparseMatrix, readZarr } from "@zask/anndata";
import { DENSE_C5 } from "./fixtures.ts";

describe("in-memory values", () => {
  it("a DataFrame rejects columns of the wrong length or kind, naming the column", () => {
    assert.throws(
      () => new DataFrame({ index: ["a", "b"], columns: { x: new Float32Array(3) } }),
      /Expected column `x` to have 2 rows \(the index length\), got 3/,
    );
    assert.throws(() => new DataFrame({ index: ["a"], columns: { x: new Set([1]) as never } }), /Expected column `x` to be a typed array/);
    assert.throws(() => new DataFrame({ index: "abc" as never }), /Expected `index` to be an array of strings, got `abc` \(string\)/);
  });

  it("DataFrame.get names the columns it has when asked for one it lacks", () => {
    const df = new DataFrame({ index: ["a"], columns: { n: Int32Array.of(1) } });
    assert.throws(() => df.get("m"), /Expected a column among \[n\], got `m`/);
    assert.deepEqual(df.with("m", ["x"]).get("m"), ["x"]);
    assert.equal(df.with("m", ["x"]).dtype("n"), "int32");
  });

  it("Categorical.fromValues keeps first-seen order, marks nulls as code -1 and rejects unknown values", () => {
    const c = Categorical.fromValues(["b", null, "a", "b"]);
    assert.deepEqual(c.categories, ["b", "a"]);
    assert.deepEqual([...c.codes], [0, -1, 1, 0]);
    assert.throws(() => Categorical.fromValues(["z"], { categories: ["a"] }), /Expected a value among the categories, got `z`/);
    assert.throws(() => new Categorical(Int8Array.of(2), ["a"]), /Expected categorical codes in \[-1, 1\), got `2`/);
  });

  it("MaskedArray gives null where masked and checks the mask length", () => {
    assert.deepEqual([...MaskedArray.from("nullable-integer", [1, null, 3])], [1, null, 3]);
    assert.throws(() => new MaskedArray("nullable-integer", Int32Array.of(1, 2), Uint8Array.of(0)), /Expected `mask` of length 2, got 1/);
  });

  it("SparseMatrix round-trips dense values in both formats and checks indptr", () => {
    const dense = Float32Array.of(0, 1, 0, 2, 0, 3);
    for (const f of ["csr", "csc"] as const) assert.deepEqual(SparseMatrix.fromDense(f, dense, [2, 3]).toDense(), dense);
    assert.throws(() => new SparseMatrix("csr", [2, 2], Int32Array.of(0, 1), Int32Array.of(0), Float32Array.of(1)), /Expected `indptr` of length 3, got 2/);
  });

  it("an AnnData without obs/var gets range indexes from X", () => {
    const a = new AnnData({ X: { data: new Float32Array(6), shape: [2, 3], dtype: "float32" } });
    assert.deepEqual(a.obsNames, ["0", "1"]);
    assert.deepEqual(a.varNames, ["0", "1", "2"]);
    assert.equal(String(a), "AnnData object with n_obs × n_vars = 2 × 3");
  });

  it("readZarr honours an aborted signal", async () => {
    await assert.rejects(readZarr(DENSE_C5, { signal: AbortSignal.abort() }), (e: unknown) => (e as Error).name === "AbortError");
  });
});
