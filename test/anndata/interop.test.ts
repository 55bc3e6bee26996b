import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { readZarr, writeDispatched, writeZarr } from "@zask/anndata";
import { CSR, DENSE_C5, tempDir } from "./fixtures.ts";
import { pythonCompare, skipPython as skip, type Pair } from "./python.ts";

if (skip) console.log(`# interop with Python anndata ${skip}`);

describe("interop with Python anndata 0.8", { skip }, () => {
  it("stores written by zask (eager, lazy, tutorial's write_chunked, blosc and zlib) read back in Python with every part equal", async () => {
    const t = await tempDir();
    try {
      const pairs: (Pair & { what: string })[] = [];
      // A dense store read eagerly and written again with X chunked as the original.
      const dense = path.join(t.dir, "dense.zarr");
      await writeZarr(await readZarr(DENSE_C5, { lazy: false }), dense, { chunks: [97, 5] });
      pairs.push({ what: "dense, eager", written: dense, reference: DENSE_C5, chunks: { X: [97, 5] } });
      // CSR X and a CSC layer read lazily, written with the tutorial's write_chunked.
      const scaled = path.join(t.dir, "scaled.zarr");
      const adata = await readZarr(CSR);
      await writeDispatched(scaled, "/", adata, (write, store, key, elem, options, { encodingType }) => {
        if (encodingType === "array") options = { ...options, chunks: key.includes("layers") || key.endsWith("X") ? [adata.nObs, 25] : undefined };
        return write(store, key, elem, options);
      });
      pairs.push({ what: "csr, lazy, write_chunked", written: scaled, reference: CSR, chunks: { "layers/scaled": [97, 25], "obsm/X_pca": [97, 5] } });
      const eager = await readZarr(CSR, { lazy: false });
      // zlib here; no compression and gzip are checked by zask's own round trips (write.test.ts).
      const zlib = path.join(t.dir, "c-zlib.zarr");
      await writeZarr(eager, zlib, { compressor: { id: "zlib" } });
      pairs.push({ what: "csr, eager, zlib", written: zlib, reference: CSR });
      const verdicts = await pythonCompare(pairs);
      verdicts.forEach((v, i) => assert.deepEqual(v.problems, [], pairs[i]!.what));
      assert.match(verdicts[0]!.repr, /AnnData object with n_obs × n_vars = 97 × 60/);
    } finally {
      await t.cleanup();
    }
  });
});
