import assert from "node:assert/strict";
import { describe, it, before, after } from "node:test";
import { slice, type NDArray } from "@zask/array";
import { SparseArray, SparseMatrix, readElem, readDispatched, readZarr, writeZarr, type AnnData } from "@zask/anndata";
import { Array as LazyArray, fromZarr } from "@zask/array";
import { CSR, DENSE_C5, FIXTURES, expected, rawValues, serve, type FixtureServer } from "./fixtures.ts";

/** Columns `cols` of a C-order [rows, ncols] matrix. */
function columns(data: Float32Array, ncols: number, cols: number[]): Float32Array {
  const rows = data.length / ncols;
  const out = new Float32Array(rows * cols.length);
  for (let r = 0; r < rows; r++) cols.forEach((c, j) => (out[r * cols.length + j] = data[r * ncols + c]!));
  return out;
}

describe("lazy reading: the tutorial in TypeScript", () => {
  let server: FixtureServer;
  before(async () => {
    server = await serve(FIXTURES);
  });
  after(async () => {
    await server.close();
  });

  it("opens X lazily over HTTP and selects one gene by name, fetching one chunk", async () => {
    const adata = await readZarr(`${server.url}/pbmc-like.dense.c5.zarr`);
    assert.deepEqual(adata.X!.chunks, [[97], [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]]);
    server.requests.length = 0;
    const one = await adata
      .X!.slice(
        null,
        adata.varNames.map((g) => g === "C1orf86"),
      )
      .compute();
    assert.deepEqual(one.shape, [97, 1]);
    const X = await rawValues(expected.X.file, "float32");
    assert.deepEqual(one.data, columns(X as Float32Array, 60, [7]));
    assert.deepEqual(server.requests, ["/pbmc-like.dense.c5.zarr/X/0.1"]);
  });

  it("selects genes by a var column and reads only the chunks that hold them", async () => {
    for (const [store, width] of [
      ["pbmc-like.dense.c5.zarr", 5],
      ["pbmc-like.dense.c25.zarr", 25],
    ] as const) {
      const adata = await readZarr(`${server.url}/${store}`);
      const mask = Array.from(adata.var.get("n_cells") as BigInt64Array, (n) => n > 1000);
      const cols = mask.flatMap((m, i) => (m ? [i] : []));
      server.requests.length = 0;
      const many = await adata.X!.slice(null, mask).compute();
      assert.deepEqual(many.shape, [97, cols.length]);
      assert.deepEqual(many.data, columns((await rawValues(expected.X.file, "float32")) as Float32Array, 60, cols));
      const touched = new Set(cols.map((c) => Math.floor(c / width)));
      assert.equal(server.requests.length, touched.size, store);
    }
  });

  it("obsm and layers are lazy too, strings and scalars in uns are values", async () => {
    const adata = await readZarr(CSR);
    const pca = await adata.obsm.X_pca!.compute();
    assert.deepEqual(pca.data, await rawValues(expected.obsm.X_pca!.file, "float32"));
    const scaled = await adata.layers.scaled!.slice(slice(0, 3)).compute();
    assert.deepEqual(scaled.data, ((await rawValues(expected.X.file, "float32")) as Float32Array).slice(0, 180));
    assert.equal(adata.uns.title, "pbmc-like");
    assert.deepEqual((adata.uns.louvain_colors as NDArray).data, ["#1f77b4", "#ff7f0e", "#279e68", "#d62728"]);
  });

  it("the tutorial's read_dask callback is a few lines with readDispatched", async () => {
    const adata = (await readDispatched(`${server.url}/pbmc-like.dense.c25.zarr`, (read, _name, elem, { encodingType }) => {
      if (["dataframe", "csr_matrix", "csc_matrix", "awkward-array"].includes(encodingType)) return readElem(elem);
      if (encodingType === "array" && "shape" in elem && elem.shape.length > 0 && elem.dtype !== "v2:object") return fromZarr(elem);
      return read(elem);
    })) as AnnData;
    const X = adata.X;
    assert.ok(X instanceof LazyArray);
    assert.deepEqual(X.chunks[1]!.length, 3);
    assert.ok(adata.obsp.distances instanceof SparseMatrix);
    const x = await X.compute();
    assert.deepEqual(x.data, await rawValues(expected.X.file, "float32"));
  });
});

describe("lazy sparse arrays", () => {
  it("a CSR X computes densely equal to the counts, in row blocks", async () => {
    const adata = await readZarr(CSR);
    const X = adata.X as SparseArray;
    assert.ok(X instanceof SparseArray);
    assert.equal(X.format, "csr");
    assert.equal(X.chunks[1]!.length, 1);
    // 2936 stored values, under the default blockNnz: blocks end only where the 128-value chunks do
    assert.ok(X.chunks[0]!.length > 1 && X.chunks[0]!.length <= 2 * 23);
    const dense = await X.compute();
    assert.deepEqual(dense.data, await rawValues(expected.counts.file, "float32"));
  });

  it("a row slice of a CSR X reads only the data and indices chunks those rows span", async () => {
    const server = await serve(FIXTURES);
    try {
      const adata = await readZarr(`${server.url}/pbmc-like.csr.zarr`);
      const X = adata.X as SparseArray;
      server.requests.length = 0;
      const rows = await X.slice(slice(0, 3)).compute();
      assert.deepEqual(rows.data, ((await rawValues(expected.counts.file, "float32")) as Float32Array).slice(0, 180));
      const end = Number(X.indptr[3]);
      const chunksSpanned = Math.floor((end - 1) / 128) + 1;
      const data = server.requests.filter((r) => r.startsWith("/pbmc-like.csr.zarr/X/data/"));
      const indices = server.requests.filter((r) => r.startsWith("/pbmc-like.csr.zarr/X/indices/"));
      assert.equal(data.length, chunksSpanned);
      assert.equal(indices.length, chunksSpanned);
      assert.ok(chunksSpanned < 23, "far fewer than all 23 chunks");
    } finally {
      await server.close();
    }
  });

  it("a CSC layer computes column blocks; computeSparse gives indptr, indices, data and shape", async () => {
    const adata = await readZarr(CSR);
    const counts = adata.layers.counts as SparseArray;
    assert.equal(counts.format, "csc");
    assert.equal(counts.chunks[0]!.length, 1);
    const col = await counts.slice(null, [3]).compute();
    assert.deepEqual(col.data, columns((await rawValues(expected.counts.file, "float32")) as Float32Array, 60, [3]));
    const m = await counts.computeSparse();
    assert.equal(m.format, "csc");
    assert.deepEqual(m.shape, [97, 60]);
    assert.ok(m.data instanceof Float32Array && m.indices instanceof Int32Array);
    assert.deepEqual(m.toDense(), await rawValues(expected.counts.file, "float32"));
  });

  it("lazy matrices write back as what they are: sparse stays sparse", async () => {
    const adata = await readZarr(CSR);
    const store = new Map<string, Uint8Array>();
    await writeZarr(adata, store);
    const back = await readZarr(store, { lazy: false });
    assert.ok(back.X instanceof SparseMatrix && back.X.format === "csr");
    assert.ok(back.layers.counts instanceof SparseMatrix && back.layers.counts.format === "csc");
    assert.deepEqual(back.X.toDense(), await rawValues(expected.counts.file, "float32"));
    assert.deepEqual((back.layers.scaled as NDArray).data, await rawValues(expected.X.file, "float32"));
  });
});

void DENSE_C5;

describe("lazy reads fail loudly", () => {
  it("a truncated chunk of a local store fails the compute, naming the chunk", async () => {
    const { copyFixture } = await import("./fixtures.ts");
    const { truncate } = await import("node:fs/promises");
    const path = await import("node:path");
    const c = await copyFixture(DENSE_C5);
    try {
      await truncate(path.join(c.store, "X", "0.1"), 20);
      const adata = await readZarr(c.store);
      await assert.rejects(adata.X!.slice(null, [7]).compute(), (e: unknown) => /X\/0\.1/.test(String((e as Error).message)));
      // Columns in other chunks still read.
      const ok = await adata.X!.slice(null, [0]).compute();
      assert.deepEqual(ok.shape, [97, 1]);
    } finally {
      await c.cleanup();
    }
  });

  it("an HTTP 500 on a chunk fails the compute with an error naming the chunk's URL", async () => {
    const server = await serve(FIXTURES);
    try {
      const adata = await readZarr(`${server.url}/pbmc-like.dense.c5.zarr`);
      server.fail.add("/pbmc-like.dense.c5.zarr/X/0.2");
      await assert.rejects(adata.X!.slice(null, [10]).compute({ retries: 0 }), (e: unknown) =>
        String((e as Error).message).includes(`${server.url}/pbmc-like.dense.c5.zarr/X/0.2`),
      );
    } finally {
      await server.close();
    }
  });

  it("a failing data chunk of a lazy sparse X fails the compute, naming the sparse part and URL", async () => {
    const server = await serve(FIXTURES);
    try {
      const adata = await readZarr(`${server.url}/pbmc-like.csr.zarr`);
      server.fail.add("/pbmc-like.csr.zarr/X/data/0");
      await assert.rejects(adata.X!.slice(slice(0, 2)).compute({ retries: 0 }), (e: unknown) => {
        const chain = [e, (e as { cause?: unknown }).cause].map((x) => String((x as Error)?.message));
        return chain.some((m) => m.includes("/X/data") && m.includes(server.url));
      });
    } finally {
      await server.close();
    }
  });
});

describe("zarr v3", () => {
  it("a store written in zarr v3 reads lazily with the same values, dense and sparse", async () => {
    const { tempDir } = await import("./fixtures.ts");
    const path = await import("node:path");
    const t = await tempDir();
    try {
      const out = path.join(t.dir, "v3.zarr");
      await writeZarr(await readZarr(CSR, { lazy: false }), out, { format: 3 });
      const adata = await readZarr(out);
      assert.ok(adata.X instanceof SparseArray);
      assert.deepEqual((await adata.X.compute()).data, await rawValues(expected.counts.file, "float32"));
      assert.deepEqual((await adata.layers.scaled!.compute()).data, await rawValues(expected.X.file, "float32"));
      assert.deepEqual([...(adata.obs.get("louvain") as Iterable<unknown>)].slice(0, 4), ["CD4 T cells", "B cells", "Megakaryocytes", null]);
    } finally {
      await t.cleanup();
    }
  });
});

describe("rewriting a lazily read store", () => {
  it("streams a lazy X to the destination in the requested chunking (toZarr), listed in the consolidated metadata", async () => {
    const adata = await readZarr(DENSE_C5);
    const store = new Map<string, Uint8Array>();
    await writeZarr(adata, store, { chunks: [97, 25] });
    const meta = JSON.parse(new TextDecoder().decode(store.get("/.zmetadata"))).metadata;
    assert.deepEqual(meta["X/.zarray"].chunks, [97, 25]);
    assert.equal(meta["X/.zarray"].dimension_separator, ".", "written by @zask/array's toZarr");
    assert.deepEqual(meta["X/.zattrs"], { "encoding-type": "array", "encoding-version": "0.2.0" });
    assert.deepEqual(meta["obsm/X_pca/.zarray"].chunks, [97, 5], "other lazy arrays keep their source chunking");
    const back = await readZarr(store);
    assert.deepEqual(back.X!.chunks[1], [25, 25, 10]);
    assert.deepEqual((await back.X!.compute()).data, await rawValues(expected.X.file, "float32"));
  });
});
