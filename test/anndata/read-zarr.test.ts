import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it, before, after } from "node:test";
import FileSystemStore from "@zarrita/storage/fs";
import { PackedStrings } from "@zask/array";
import { AnnData, Categorical, DataFrame, ElementReadError, MaskedArray, NumericScalar, SparseMatrix, readZarr, type NDArray } from "@zask/anndata";
import { CSR, DENSE_C5, DENSE_C25, FIXTURES, copyFixture, expected, rawValues, serve, type FixtureServer } from "./fixtures.ts";

function checkFrame(df: DataFrame, exp: (typeof expected)["obs"], index: string[]): void {
  assert.deepEqual([...df.index], index);
  assert.deepEqual(df.columns, exp.columns);
  for (const name of exp.columns) {
    const e = exp.data[name]!;
    const col = df.get(name);
    if (e.kind === "categorical" && "codes" in e) {
      assert.ok(col instanceof Categorical, name);
      assert.deepEqual(Array.from(col.codes, Number), e.codes, name);
      assert.deepEqual([...col.categories], e.categories, name);
      assert.equal(col.ordered, e.ordered, name);
    } else if (!("values" in e)) {
      assert.fail(`${name}: the fixture gives no values`);
    } else if (e.kind === "nullable-integer" || e.kind === "nullable-boolean") {
      assert.ok(col instanceof MaskedArray, name);
      assert.equal(col.kind, e.kind);
      assert.deepEqual([...col], e.values, name);
    } else if (e.kind === "string") {
      assert.deepEqual(col, e.values, name);
    } else if (e.kind === "bool") {
      assert.equal(df.dtype(name), "bool", name);
      assert.deepEqual(
        Array.from(col as Uint8Array, (v) => v === 1),
        e.values,
        name,
      );
    } else {
      assert.equal(df.dtype(name), e.kind, name);
      assert.deepEqual(Array.from(col as Iterable<number | bigint>, Number), e.values, name);
    }
  }
}

async function checkEager(adata: AnnData, sparseX: boolean): Promise<void> {
  assert.deepEqual(adata.shape, expected.shape);
  assert.deepEqual(adata.obsNames, expected.obsNames);
  assert.deepEqual(adata.varNames, expected.varNames);
  checkFrame(adata.obs, expected.obs, expected.obsNames);
  checkFrame(adata.var, expected.var, expected.varNames);
  const x = adata.X as NDArray | SparseMatrix;
  const want = sparseX ? await rawValues(expected.counts.file, "float32") : await rawValues(expected.X.file, "float32");
  if (sparseX) {
    assert.ok(x instanceof SparseMatrix);
    assert.equal(x.format, "csr");
    assert.deepEqual(x.toDense(), want);
  } else {
    assert.deepEqual((x as NDArray).shape, expected.shape);
    assert.deepEqual((x as NDArray).data, want);
  }
  for (const [k, e] of Object.entries(expected.obsm)) {
    const got = adata.obsm[k] as NDArray;
    assert.deepEqual(got.shape, e.shape, k);
    assert.equal(got.dtype, e.dtype, k);
    assert.deepEqual(got.data, await rawValues(e.file, e.dtype), k);
  }
  for (const [k, e] of Object.entries(expected.varm)) {
    assert.deepEqual((adata.varm[k] as NDArray).data, await rawValues(e.file, e.dtype), k);
  }
  for (const [k, e] of Object.entries(expected.obsp)) {
    const got = adata.obsp[k] as SparseMatrix;
    assert.ok(got instanceof SparseMatrix, k);
    assert.equal(got.format, e.format);
    assert.deepEqual(got.shape, e.shape);
    assert.deepEqual(Array.from(got.indptr, Number), e.indptr);
    assert.deepEqual(Array.from(got.indices, Number), e.indices);
    assert.deepEqual(got.data, await rawValues(e.data, e.dtype));
  }
  const uns = adata.uns as Record<string, any>;
  assert.equal(uns.title, "pbmc-like");
  // numeric-scalar elements keep their dtype (anndata 0.8 writes Python's float and int as float64 and int64).
  assert.deepEqual([uns.threshold.value, uns.threshold.dtype], [0.25, "float64"]);
  assert.deepEqual([uns.n_iter.value, uns.n_iter.dtype], [42n, "int64"]);
  assert.equal(uns.flag, true);
  assert.deepEqual(uns.neighbors, { params: { n_neighbors: new NumericScalar(10n, "int64"), method: "umap", metric: "euclidean" } });
  assert.deepEqual(uns.louvain_colors.data, (expected.uns.louvain_colors as { values: string[] }).values);
  assert.deepEqual(Array.from(uns.pca.variance.data), (expected.uns.pca as any).variance.values as number[]);
  assert.equal(uns.pca.variance_ratio.dtype, "float32");
  // raw: counts in CSR with its own var
  assert.ok(adata.raw);
  assert.ok(adata.raw.X instanceof SparseMatrix);
  assert.deepEqual(adata.raw.X.toDense(), await rawValues(expected.counts.file, "float32"));
  assert.deepEqual([...adata.raw.var.index], expected.varNames);
}

describe("readZarr (eager) over the reference fixtures", () => {
  it("reads every part of a dense store written by anndata 0.8 equal to the expected values", async () => {
    await checkEager(await readZarr(DENSE_C5, { lazy: false }), false);
  });

  it("keeps the obs and var names packed until they are read, then makes them once", async (t) => {
    const toArray = t.mock.method(PackedStrings.prototype, "toArray");
    const adata = await readZarr(DENSE_C5);
    const atOpen = toArray.mock.callCount();
    assert.equal(adata.obs.nRows, expected.obsNames.length);
    assert.equal(adata.var.nRows, expected.varNames.length);
    assert.deepEqual(adata.shape, expected.shape);
    assert.equal(toArray.mock.callCount(), atOpen, "counting rows makes no name");
    assert.deepEqual(adata.obsNames, expected.obsNames);
    assert.deepEqual(adata.varNames, expected.varNames);
    assert.equal(toArray.mock.callCount(), atOpen + 2, "each index is made when first read");
    assert.equal(adata.obsNames, adata.obs.index, "and kept");
    assert.equal(toArray.mock.callCount(), atOpen + 2);
  });

  it("reads the same values whatever the chunking of X", async () => {
    await checkEager(await readZarr(DENSE_C25, { lazy: false }), false);
  });

  it("reads a store with CSR X, a CSC layer and a dense layer", async () => {
    const adata = await readZarr(CSR, { lazy: false });
    await checkEager(adata, true);
    const counts = adata.layers.counts as SparseMatrix;
    assert.equal(counts.format, "csc");
    assert.deepEqual(counts.toDense(), await rawValues(expected.counts.file, "float32"));
    assert.deepEqual((adata.layers.scaled as NDArray).data, await rawValues(expected.X.file, "float32"));
  });

  it("prints a repr like Python's", async () => {
    const adata = await readZarr(CSR, { lazy: false });
    assert.equal(
      String(adata),
      [
        "AnnData object with n_obs × n_vars = 97 × 60",
        "    obs: 'n_genes', 'percent_mito', 'louvain', 'stage', 'tag', 'n_counts_nullable', 'is_doublet', 'passed_qc'",
        "    var: 'gene_ids', 'n_cells', 'highly_variable'",
        "    uns: 'flag', 'louvain_colors', 'n_iter', 'neighbors', 'pca', 'threshold', 'title'",
        "    obsm: 'X_pca', 'X_umap'",
        "    varm: 'PCs'",
        "    layers: 'counts', 'scaled'",
        "    obsp: 'connectivities', 'distances'",
      ].join("\n"),
    );
  });

  it("accepts a file: URL and a zarrita store as the source", async () => {
    const a = await readZarr(pathToFileURL(DENSE_C5), { lazy: false });
    assert.deepEqual(a.shape, expected.shape);
    const b = await readZarr(new FileSystemStore(DENSE_C5), { lazy: false });
    assert.deepEqual(b.varNames, expected.varNames);
  });

  it("falls back to per-node metadata when .zmetadata is missing, listing local groups", async () => {
    const copy = await copyFixture(CSR);
    try {
      await rm(path.join(copy.store, ".zmetadata"));
      await checkEager(await readZarr(copy.store, { lazy: false }), true);
    } finally {
      await copy.cleanup();
    }
  });
});

describe("readZarr over HTTP", () => {
  let server: FixtureServer;
  before(async () => {
    server = await serve(FIXTURES);
  });
  after(async () => {
    await server.close();
  });

  it("opens a consolidated store with one metadata request and reads the same values", async () => {
    server.requests.length = 0;
    const adata = await readZarr(`${server.url}/pbmc-like.dense.c5.zarr`, { lazy: false });
    const metaRequests = server.requests.filter((r) => /\.z(metadata|group|array|attrs)$|zarr\.json$/.test(r));
    assert.deepEqual(metaRequests, ["/pbmc-like.dense.c5.zarr/.zmetadata"]);
    await checkEager(adata, false);
  });

  it("accepts a trailing slash on the URL", async () => {
    const adata = await readZarr(`${server.url}/pbmc-like.csr.zarr/`, { lazy: false });
    assert.deepEqual(adata.shape, expected.shape);
  });
});

describe("older encodings", () => {
  /** A store whose obs is a dataframe 0.1.0 with `cell_type` codes `codes` and their categories in `__categories`. */
  async function oldCategorical(codes: Int8Array | Float32Array): Promise<Map<string, Uint8Array>> {
    const { writeZarr, writeElem } = await import("@zask/anndata");
    const store = new Map<string, Uint8Array>();
    const obs = new DataFrame({ index: ["a", "b", "c"], columns: { cell_type: codes } });
    await writeZarr(new AnnData({ obs, var: new DataFrame({ index: ["g"] }) }), store);
    await writeElem(store, "/obs/__categories/cell_type", ["B", "T"]);
    const dec = (k: string) => JSON.parse(new TextDecoder().decode(store.get(k)));
    const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
    const attrs = { ...dec("/obs/.zattrs"), "encoding-version": "0.1.0" };
    store.set("/obs/.zattrs", enc(attrs));
    const meta = dec("/.zmetadata");
    meta.metadata["obs/.zattrs"] = attrs;
    store.set("/.zmetadata", enc(meta));
    return store;
  }

  it("reads a dataframe 0.1.0 whose categories live in __categories", async () => {
    const adata = await readZarr(await oldCategorical(Int8Array.of(1, 0, 1)));
    const col = adata.obs.get("cell_type");
    assert.ok(col instanceof Categorical);
    assert.deepEqual([...col], ["T", "B", "T"]);
    assert.deepEqual(adata.obs.columns, ["cell_type"]);
  });

  it("refuses __categories codes past the categories or not integers, naming the column", async () => {
    await assert.rejects(readZarr(await oldCategorical(Int8Array.of(1, 2, 0))), (e: unknown) => {
      assert.ok(e instanceof ElementReadError, String(e));
      assert.equal(e.path, "/obs/cell_type");
      assert.equal(e.reason, "format");
      assert.match(e.message, /codes in \[-1, 2\), got `2`/);
      return true;
    });
    await assert.rejects(readZarr(await oldCategorical(Float32Array.of(1, 0.5, 0))), (e: unknown) => {
      assert.ok(e instanceof ElementReadError, String(e));
      assert.equal(e.path, "/obs/cell_type");
      assert.match(e.message, /codes must be integers/);
      return true;
    });
  });

  it("reads groups and arrays without encoding attributes as dicts and arrays", async () => {
    const store = new Map<string, Uint8Array>();
    const { writeZarr } = await import("@zask/anndata");
    await writeZarr(
      new AnnData({ obs: new DataFrame({ index: ["a"] }), var: new DataFrame({ index: ["g"] }), uns: { old: { v: Float32Array.of(1, 2) } } }),
      store,
    );
    const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
    store.set("/uns/old/.zattrs", enc({}));
    store.set("/uns/old/v/.zattrs", enc({}));
    const meta = JSON.parse(new TextDecoder().decode(store.get("/.zmetadata")));
    meta.metadata["uns/old/.zattrs"] = {};
    meta.metadata["uns/old/v/.zattrs"] = {};
    store.set("/.zmetadata", enc(meta));
    const adata = await readZarr(store, { lazy: false });
    assert.deepEqual(adata.uns.old, { v: { data: Float32Array.of(1, 2), shape: [2], dtype: "float32" } });
  });
});

describe("remote stores without consolidated metadata", () => {
  it("read X, obs and var per node over HTTP and warn that dict groups cannot be listed", async () => {
    const copy = await copyFixture(DENSE_C5);
    const server = await serve(path.dirname(copy.store));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      await rm(path.join(copy.store, ".zmetadata"));
      const adata = await readZarr(`${server.url}/${path.basename(copy.store)}`, { lazy: false });
      assert.deepEqual(adata.varNames, expected.varNames);
      assert.deepEqual((adata.X as NDArray).data, await rawValues(expected.X.file, "float32"));
      assert.deepEqual(Object.keys(adata.obsm), []);
      await new Promise((r) => setImmediate(r));
      assert.equal(warnings.filter((w) => (w as { code?: string }).code === "ZASK_UNLISTABLE_STORE").length, 1);
    } finally {
      process.off("warning", onWarning);
      await server.close();
      await copy.cleanup();
    }
  });
});
