import assert from "node:assert/strict";
import { it } from "node:test";
import * as pkg from "@zask/anndata";

it("the public API of @zask/anndata is exactly this list", () => {
  assert.deepEqual(Object.keys(pkg).sort(), [
    "AnnData",
    "Categorical",
    "DataFrame",
    "ElementReadError",
    "ElementWriteError",
    "MaskedArray",
    "NotAnnDataError",
    "NumericScalar",
    "SparseArray",
    "SparseMatrix",
    "StoreOpenError",
    "UnsupportedEncodingError",
    "ioSpecOf",
    "openStore",
    "readDispatched",
    "readElem",
    "readZarr",
    "writeDispatched",
    "writeElem",
    "writeZarr",
  ]);
});

it("every error class extends ZaskError with a literal name", async () => {
  const { ZaskError } = await import("@zask/graph");
  const e = new pkg.ElementReadError("/X", "http://h/s.zarr/X", "http", "boom");
  assert.ok(e instanceof ZaskError);
  assert.equal(e.name, "ElementReadError");
  assert.match(e.message, /element \/X \(http:\/\/h\/s\.zarr\/X\)/);
});
