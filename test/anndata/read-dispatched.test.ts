import assert from "node:assert/strict";
import { test } from "node:test";
import { AnnData, openStore, readDispatched, readElem } from "@zask/anndata";
import { Array as LazyArray, fromZarr } from "@zask/array";
import * as zarr from "zarrita";
import { DENSE_C5 } from "./fixtures.ts";

test("readDispatched resolves to the callback's value for the element, typed as the callback's return", async () => {
  const { root } = await openStore(DENSE_C5);
  const xElem = await zarr.open(root.resolve("X"), { kind: "array" });
  // the tutorial's callback: compiles under --strict without casts (npm run typecheck checks this file)
  const x: LazyArray = await readDispatched(xElem, (read, key, elem, spec) => fromZarr(elem));
  assert.ok(x instanceof LazyArray);
  assert.equal(x.ndim, 2);
});

test("fromZarr in a readDispatched callback refuses a group with a TypeError naming it", async () => {
  await assert.rejects(
    readDispatched(DENSE_C5, (read, key, elem, spec) => fromZarr(elem)),
    (e: unknown) => e instanceof TypeError && /Expected a zarr array, got the group at `\/`/.test(e.message),
  );
});

test("the tutorial's read_dask callback reads arrays lazily and the rest eagerly", async () => {
  const adata = await readDispatched(DENSE_C5, (read, key, elem, { encodingType }) => {
    if (["dataframe", "csr_matrix", "csc_matrix"].includes(encodingType)) return readElem(elem);
    if (encodingType === "array") return fromZarr(elem);
    return read(elem);
  });
  assert.ok(adata instanceof AnnData);
  assert.ok(adata.X instanceof LazyArray);
});
