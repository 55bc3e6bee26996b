import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { ElementReadError, readZarr, type NDArray, type SparseMatrix } from "@zask/anndata";
import { edge } from "./fixtures.ts";

describe("zero-length elements", () => {
  for (const [rows, cols] of [
    [0, 0],
    [10, 0],
    [0, 6],
  ] as const) {
    it(`a ${rows} × ${cols} AnnData reads lazily and eagerly with its shape, empty names and an empty uns array`, async () => {
      const lazy = await readZarr(edge(`empty.${rows}x${cols}.zarr`));
      assert.deepEqual([lazy.nObs, lazy.nVars], [rows, cols]);
      assert.equal(lazy.obsNames.length, rows);
      const x = await lazy.X!.compute();
      assert.deepEqual(x.shape, [rows, cols]);
      assert.equal(x.data.length, 0);
      const eager = await readZarr(edge(`empty.${rows}x${cols}.zarr`), { lazy: false });
      assert.deepEqual((eager.X as NDArray).shape, [rows, cols]);
      assert.equal((eager.X as NDArray).data.length, 0);
      const empty = eager.uns.empty as NDArray;
      assert.deepEqual([empty.shape, empty.dtype, empty.data.length], [[0], "float64", 0]);
      assert.ok(empty.data instanceof Float64Array);
    });
  }

  it("a CSR X with no stored values reads as zeros lazily and as an empty SparseMatrix eagerly", async () => {
    const lazy = await readZarr(edge("empty.csr-no-nnz.zarr"));
    const dense = await lazy.X!.compute();
    assert.deepEqual([dense.shape, Array.from(dense.data as Float32Array)], [[5, 4], new Array(20).fill(0)]);
    // a column selection (a pick over no chunk pairs)
    const cols = await lazy.X!.slice(null, [0, 3]).compute();
    assert.deepEqual([cols.shape, Array.from(cols.data as Float32Array)], [[5, 2], new Array(10).fill(0)]);
    const eager = await readZarr(edge("empty.csr-no-nnz.zarr"), { lazy: false });
    const m = eager.X as SparseMatrix;
    assert.deepEqual([m.format, m.shape, m.nnz, Array.from(m.indptr as Int32Array)], ["csr", [5, 4], 0, [0, 0, 0, 0, 0, 0]]);
  });
});

describe("strings", () => {
  it("a vlen-utf8 string holding invalid UTF-8 is an ElementReadError naming the element, not U+FFFD", async () => {
    await assert.rejects(readZarr(edge("utf8-bad.zarr")), (e: unknown) => {
      assert.ok(e instanceof ElementReadError, String(e));
      assert.equal(e.path, "/uns/names");
      assert.match(e.message, /not valid UTF-8/);
      return true;
    });
  });
});

describe("byte order", () => {
  it("big-endian arrays (>f4, >i8, >f8) read with their values, lazily and eagerly", async () => {
    const want = JSON.parse(await readFile(edge("edge.expected.json"), "utf8"))["big-endian"] as Record<string, number[]>;
    for (const lazy of [true, false]) {
      const a = await readZarr(edge("big-endian.zarr"), { lazy });
      const value = async (x: unknown) => (lazy ? await (x as { compute(): Promise<NDArray> }).compute() : (x as NDArray));
      const [x, i8, f8] = await Promise.all([value(a.X), value(a.layers.i8), value(a.obsm.f8)]);
      assert.deepEqual([x.dtype, Array.from(x.data as Float32Array)], ["float32", want["X"]]);
      assert.deepEqual([i8.dtype, Array.from(i8.data as BigInt64Array, Number)], ["int64", want["layers/i8"]]);
      assert.deepEqual([f8.dtype, Array.from(f8.data as Float64Array)], ["float64", want["obsm/f8"]]);
    }
  });
});
