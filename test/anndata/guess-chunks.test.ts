import assert from "node:assert/strict";
import { it } from "node:test";
import { readZarr, writeZarr } from "@zask/anndata";
import { DENSE_C5 } from "./fixtures.ts";

it("arrays written without chunks are chunked as zarr-python 2 guesses (as in stores anndata 0.8 wrote)", async () => {
  const adata = await readZarr(DENSE_C5, { lazy: false });
  const store = new Map<string, Uint8Array>();
  await writeZarr(adata, store);
  const ours = JSON.parse(new TextDecoder().decode(store.get("/.zmetadata"))).metadata;
  const { readFile } = await import("node:fs/promises");
  const path = await import("node:path");
  const theirs = JSON.parse(await readFile(path.join(DENSE_C5, ".zmetadata"), "utf8")).metadata;
  for (const key of ["obsm/X_pca/.zarray", "varm/PCs/.zarray", "obs/tag/.zarray", "obsp/distances/data/.zarray", "raw/X/indices/.zarray"]) {
    assert.deepEqual(ours[key].chunks, theirs[key].chunks, key);
  }
});

it("a large array is cut into chunks near zarr-python's target size", async () => {
  const store = new Map<string, Uint8Array>();
  const { writeElem, AnnData, DataFrame } = await import("@zask/anndata");
  const index = Array.from({ length: 2638 }, (_, i) => String(i));
  await writeZarr(new AnnData({ obs: new DataFrame({ index }), var: new DataFrame({ index: ["g"] }) }), store);
  await writeElem(store, "/obsm/X_pca", { data: new Float32Array(2638 * 50), shape: [2638, 50], dtype: "float32" });
  await writeElem(store, "/obsm/big", { data: new Float32Array(2638 * 1838), shape: [2638, 1838], dtype: "float32" });
  const meta = JSON.parse(new TextDecoder().decode(store.get("/.zmetadata"))).metadata;
  assert.deepEqual(meta["obsm/X_pca/.zarray"].chunks, [1319, 50]); // what zarr 2.13 wrote for the same shape
  assert.deepEqual(meta["obsm/big/.zarray"].chunks, [330, 460]); // zarr.util.guess_chunks((2638, 1838), 4)
});
