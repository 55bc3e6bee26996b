import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { describe, it } from "node:test";
import { ElementReadError, readZarr, type SparseArray, SparseMatrix } from "@zask/anndata";
import { SparseStructureError } from "@zask/array";
import { EDGE, edge } from "./fixtures.ts";

/**
 * The ElementReadError behind `e` (a lazy compute wraps it in the scheduler's TaskError), or
 * the SparseStructureError of a block, gathered on a worker thread, that found a bad stored index.
 */
function readErrorOf(e: unknown): ElementReadError | SparseStructureError | undefined {
  for (let c: unknown = e; c instanceof Error; c = (c as { cause?: unknown }).cause) {
    if (c instanceof ElementReadError || c instanceof SparseStructureError) return c;
  }
  return undefined;
}

const defects = readdirSync(EDGE)
  .filter((f) => f.startsWith("sparse-bad."))
  .map((f) => f.slice("sparse-bad.".length, -".zarr".length));

describe("sparse structure", () => {
  it("the generated stores cover every defect of the format", () => {
    assert.equal(defects.length, 10);
  });

  for (const defect of defects) {
    it(`a sparse X with ${defect} is an ElementReadError naming /X, read lazily (at open or per block, whole or by column) and eagerly`, async () => {
      const store = edge(`sparse-bad.${defect}.zarr`);
      const check = (e: unknown) => {
        const r = readErrorOf(e);
        assert.ok(r, `expected an ElementReadError or a SparseStructureError, got ${String(e)}`);
        assert.equal(r.path, "/X");
        if (r instanceof ElementReadError) assert.equal(r.reason, "format");
        else assert.ok(r.position >= 0 && /expected indices in|expected (data|indices) to hold position/.test(r.message), r.message);
        assert.ok(r.url?.endsWith(`sparse-bad.${defect}.zarr/X`), r.url);
        return true;
      };
      await assert.rejects(async () => {
        const adata = await readZarr(store);
        await adata.X!.sum().compute();
      }, check);
      await assert.rejects(readZarr(store, { lazy: false }), check);
      // a minor selection (columns of CSR, rows of CSC) picks each chunk pair's values, in
      // WebAssembly for these blosc chunks, and reads all of them
      await assert.rejects(async () => {
        const X = (await readZarr(store)).X as SparseArray;
        await (X.format === "csr" ? X.slice(null, [0, 1]) : X.slice([0, 1], null)).compute();
      }, check);
    });
  }

  it("a well-formed matrix passes the checks and one built with a bad index is refused", () => {
    const ok = new SparseMatrix("csr", [2, 3], Int32Array.of(0, 1, 2), Int32Array.of(2, 0), Float32Array.of(5, 7));
    assert.deepEqual(Array.from(ok.toDense() as Float32Array), [0, 0, 5, 7, 0, 0]);
    assert.throws(() => new SparseMatrix("csr", [2, 3], Int32Array.of(0, 1, 2), Int32Array.of(3, 0), Float32Array.of(5, 7)), RangeError);
    assert.throws(() => new SparseMatrix("csc", [2, 3], Int32Array.of(0, 2, 1, 2), Int32Array.of(0, 1), Float32Array.of(5, 7)), RangeError);
  });
});
