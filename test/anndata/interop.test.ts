import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { describe, it } from "node:test";
import { readZarr, writeDispatched, writeZarr } from "@zask/anndata";
import { CSR, DENSE_C5, edge, tempDir } from "./fixtures.ts";
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

describe("edge cases written back by zask, read by Python anndata 0.8", { skip }, () => {
  /** Each store read lazily and eagerly, written by writeZarr, compared by Python with the original. */
  async function roundTrips(dir: string, names: string[]): Promise<(Pair & { what: string })[]> {
    const pairs: (Pair & { what: string })[] = [];
    for (const name of names) {
      for (const lazy of [true, false]) {
        const written = path.join(dir, `${name}.${lazy ? "lazy" : "eager"}.zarr`);
        await writeZarr(await readZarr(edge(`${name}.zarr`), { lazy }), written);
        pairs.push({ what: `${name}, ${lazy ? "lazy" : "eager"}`, written, reference: edge(`${name}.zarr`) });
      }
    }
    const verdicts = await pythonCompare(pairs);
    verdicts.forEach((v, i) => assert.deepEqual(v.problems, [], pairs[i]!.what));
    return pairs;
  }

  const zarray = async (store: string, elem: string) => JSON.parse(await readFile(path.join(store, elem, ".zarray"), "utf8")) as { dtype: string };
  const zattrs = async (store: string, elem: string) => JSON.parse(await readFile(path.join(store, elem, ".zattrs"), "utf8")) as Record<string, string>;

  it("uns scalars keep dtype, value and encoding: float64 1.0, float32, int8, uint64 2**63+5, a 0-d int32 array", async () => {
    const t = await tempDir();
    try {
      for (const { written } of await roundTrips(t.dir, ["uns-scalars"])) {
        const want = {
          f64: ["<f8", "numeric-scalar"],
          f32: ["<f4", "numeric-scalar"],
          i8: ["|i1", "numeric-scalar"],
          u64: ["<u8", "numeric-scalar"],
          i64: ["<i8", "numeric-scalar"],
          i32_0d: ["<i4", "array"],
          flag: ["|b1", "numeric-scalar"],
        };
        for (const [name, [dtype, encoding]] of Object.entries(want)) {
          assert.equal((await zarray(written, `uns/${name}`)).dtype, dtype, name);
          assert.equal((await zattrs(written, `uns/${name}`))["encoding-type"], encoding, name);
        }
      }
    } finally {
      await t.cleanup();
    }
  });

  it("big-endian arrays (>f4 X, >i8 layer, >f8 obsm) are written back big-endian with the same values", async () => {
    const t = await tempDir();
    try {
      for (const { written } of await roundTrips(t.dir, ["big-endian"])) {
        assert.deepEqual(await Promise.all(["X", "layers/i8", "obsm/f8"].map(async (e) => (await zarray(written, e)).dtype)), [">f4", ">i8", ">f8"]);
      }
    } finally {
      await t.cleanup();
    }
  });

  it("zero-length AnnData (0 × 0, 10 × 0, 0 × 6, an empty uns array) and a CSR X without stored values round-trip", async () => {
    const t = await tempDir();
    try {
      await roundTrips(t.dir, ["empty.0x0", "empty.10x0", "empty.0x6", "empty.csr-no-nnz"]);
    } finally {
      await t.cleanup();
    }
  });
});
