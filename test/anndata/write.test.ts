import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
  AnnData,
  Categorical,
  DataFrame,
  ElementWriteError,
  MaskedArray,
  NumericScalar,
  SparseMatrix,
  readZarr,
  writeDispatched,
  writeElem,
  writeZarr,
  type Matrix,
  type NDArray,
} from "@zask/anndata";
import { CSR, DENSE_C5, copyFixture, edge, tempDir } from "./fixtures.ts";

function build(): AnnData {
  const obs = new DataFrame({
    index: ["c0", "c1", "c2", "c3"],
    columns: {
      n_genes: new Int32Array([5, 6, 7, 8]),
      ok: { data: Uint8Array.of(1, 0, 1, 1), shape: [4], dtype: "bool" },
      kind: Categorical.fromValues(["T", "B", null, "T"]),
      label: ["a", "é", "", "d"],
      maybe: MaskedArray.from("nullable-integer", [1, null, 3, 4]),
      flag: MaskedArray.from("nullable-boolean", [true, false, null, true]),
      note: MaskedArray.from("nullable-string-array", ["x", null, "z", "w"]),
    },
  });
  const v = new DataFrame({ index: ["g0", "g1", "g2"], columns: { n_cells: BigInt64Array.of(10n, 2000n, 3n) } });
  const dense = new Float32Array(12).map((_, i) => i * 0.5);
  return new AnnData<Matrix>({
    X: { data: dense, shape: [4, 3], dtype: "float32" },
    obs,
    var: v,
    obsm: { X_pca: { data: new Float64Array(8).map((_, i) => -i), shape: [4, 2], dtype: "float64" } },
    varm: { PCs: { data: new Float32Array(6), shape: [3, 2], dtype: "float32" } },
    obsp: { distances: SparseMatrix.fromDense("csr", new Float64Array([0, 1, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 0, 2, 0, 0]), [4, 4]) },
    layers: { counts: SparseMatrix.fromDense("csc", dense, [4, 3]) },
    uns: { n: 3, nested: { deeper: { colors: ["#fff", "#000"] } }, title: "built", x: 0.5, yes: false },
    raw: { X: SparseMatrix.fromDense("csr", dense, [4, 3]), var: v, varm: {} },
  });
}

function checkBuilt(b: AnnData): void {
  const a = build();
  assert.equal(String(b), String(a));
  assert.deepEqual((b.X as NDArray).data, (a.X as NDArray).data);
  assert.deepEqual([...(b.obs.get("kind") as Categorical)], ["T", "B", null, "T"]);
  assert.deepEqual([...(b.obs.get("maybe") as MaskedArray)], [1, null, 3, 4]);
  assert.deepEqual([...(b.obs.get("flag") as MaskedArray)], [true, false, null, true]);
  assert.deepEqual([...(b.obs.get("note") as MaskedArray)], ["x", null, "z", "w"]);
  assert.equal((b.obs.get("note") as MaskedArray).naValue, "NA");
  assert.deepEqual(b.obs.get("label"), ["a", "é", "", "d"]);
  assert.equal(b.obs.dtype("ok"), "bool");
  assert.equal(b.obs.dtype("n_genes"), "int32");
  assert.deepEqual(b.var.get("n_cells"), BigInt64Array.of(10n, 2000n, 3n));
  assert.deepEqual((b.obsm.X_pca as NDArray).data, (a.obsm.X_pca as NDArray).data);
  assert.deepEqual((b.obsp.distances as SparseMatrix).toDense(), (a.obsp.distances as SparseMatrix).toDense());
  assert.equal((b.layers.counts as SparseMatrix).format, "csc");
  assert.deepEqual((b.layers.counts as SparseMatrix).toDense(), (a.X as NDArray).data);
  assert.deepEqual(b.uns.nested, { deeper: { colors: { data: ["#fff", "#000"], shape: [2], dtype: "string" } } });
  assert.equal(b.uns.title, "built");
  // JavaScript numbers are written as int64 (integers) or float64, and read back with that dtype.
  assert.deepEqual(b.uns.n, new NumericScalar(3n, "int64"));
  assert.deepEqual(b.uns.x, new NumericScalar(0.5, "float64"));
  assert.equal(b.uns.yes, false);
  assert.deepEqual((b.raw!.X as SparseMatrix).toDense(), (a.X as NDArray).data);
}

async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe("writing", () => {
  it("an AnnData built in memory round-trips through an in-memory store in zarr v2", async () => {
    const store = new Map<string, Uint8Array>();
    await writeZarr(build(), store);
    assert.ok(store.has("/.zmetadata"));
    checkBuilt(await readZarr(store, { lazy: false }));
  });

  it("an AnnData built in memory round-trips in zarr v3 with consolidated metadata in zarr.json", async () => {
    const store = new Map<string, Uint8Array>();
    await writeZarr(build(), store, { format: 3 });
    const root = JSON.parse(new TextDecoder().decode(store.get("/zarr.json")));
    assert.ok(root.consolidated_metadata.metadata["obs/kind/codes"]);
    checkBuilt(await readZarr(store, { lazy: false }));
  });

  for (const format of [2, 3] as const) {
    it(`uns scalars read from Python keep dtype, exact value and encoding through a zarr v${format} round trip in zask`, async () => {
      const a = await readZarr(edge("uns-scalars.zarr"), { lazy: false });
      const store = new Map<string, Uint8Array>();
      await writeZarr(a, store, { format });
      const uns = (await readZarr(store, { lazy: false })).uns;
      assert.deepEqual(uns.f64, new NumericScalar(1, "float64"));
      assert.deepEqual(uns.f32, new NumericScalar(2.5, "float32"));
      assert.deepEqual(uns.i8, new NumericScalar(-3, "int8"));
      assert.deepEqual(uns.u64, new NumericScalar(2n ** 63n + 5n, "uint64"));
      assert.deepEqual(uns.i64, new NumericScalar(42n, "int64"));
      assert.deepEqual(uns.i32_0d, { data: Int32Array.of(7), shape: [], dtype: "int32" });
      assert.equal(uns.flag, true);
      assert.equal(uns.title, "edge");
      const attrs = (key: string) => {
        const doc = JSON.parse(new TextDecoder().decode(store.get(format === 2 ? `/uns/${key}/.zattrs` : `/uns/${key}/zarr.json`)));
        return (format === 2 ? doc : doc.attributes)["encoding-type"];
      };
      assert.deepEqual([attrs("i32_0d"), attrs("u64")], ["array", "numeric-scalar"]);
    });
  }

  it("a bigint above int64's range is written as uint64 with its exact value, and one beyond uint64 is refused", async () => {
    const store = new Map<string, Uint8Array>();
    await writeZarr(new AnnData({ ...build(), uns: { big: 2n ** 63n + 5n } }), store);
    assert.deepEqual((await readZarr(store, { lazy: false })).uns.big, new NumericScalar(2n ** 63n + 5n, "uint64"));
    await assert.rejects(
      writeZarr(new AnnData({ ...build(), uns: { huge: 2n ** 64n } }), new Map()),
      (e: unknown) => e instanceof ElementWriteError && e.path === "/uns/huge" && e.reason === "value",
    );
  });

  it("a big-endian source is written big-endian in zarr v3 too (bytes codec endian big), with the same values", async () => {
    for (const lazy of [true, false]) {
      const store = new Map<string, Uint8Array>();
      await writeZarr(await readZarr(edge("big-endian.zarr"), { lazy }), store, { format: 3 });
      const codecs = JSON.parse(new TextDecoder().decode(store.get("/layers/i8/zarr.json"))).codecs;
      assert.deepEqual(codecs[0], { name: "bytes", configuration: { endian: "big" } });
      const b = await readZarr(store, { lazy: false });
      assert.deepEqual((b.layers.i8 as NDArray).data, BigInt64Array.of(-3n, -2n, -1n, 0n, 1n, 2n));
      assert.deepEqual((b.X as NDArray).data, Float32Array.of(0, 1, 2, 3, 4, 5));
    }
  });

  it("writes without compression and with zlib", async () => {
    for (const compressor of [null, { id: "zlib", level: 3 } as const, { id: "gzip" } as const]) {
      const store = new Map<string, Uint8Array>();
      await writeZarr(build(), store, { compressor });
      checkBuilt(await readZarr(store, { lazy: false }));
    }
  });

  it("writeZarr's chunks apply to a dense X only", async () => {
    const store = new Map<string, Uint8Array>();
    await writeZarr(build(), store, { chunks: [4, 2] });
    const meta = JSON.parse(new TextDecoder().decode(store.get("/.zmetadata"))).metadata;
    assert.deepEqual(meta["X/.zarray"].chunks, [4, 2]);
    assert.deepEqual(meta["obsm/X_pca/.zarray"].chunks, [4, 2]);
    assert.deepEqual(meta["varm/PCs/.zarray"].chunks, [3, 2]);
    assert.ok(store.has("/X/0.1"));
    checkBuilt(await readZarr(store, { lazy: false }));
  });

  it("the tutorial's write_chunked callback chunks X and layers and leaves the rest whole", async () => {
    const adata = await readZarr(CSR, { lazy: false });
    const store = new Map<string, Uint8Array>();
    const seen: string[] = [];
    await writeDispatched(store, "/", adata, (write, s, key, elem, options, { encodingType }) => {
      seen.push(key);
      if (encodingType === "array") options = { ...options, chunks: key.includes("layers") || key.endsWith("X") ? [adata.nObs, 25] : undefined };
      return write(s, key, elem, options);
    });
    const meta = JSON.parse(new TextDecoder().decode(store.get("/.zmetadata"))).metadata;
    assert.deepEqual(meta["layers/scaled/.zarray"].chunks, [97, 25]);
    assert.deepEqual(meta["obsm/X_pca/.zarray"].chunks, [97, 5]);
    assert.ok(seen.includes("/layers/scaled") && seen.includes("/obs/louvain/codes") && seen.includes("/uns/neighbors/params/method"));
    const back = await readZarr(store, { lazy: false });
    assert.deepEqual((back.layers.scaled as NDArray).data, (adata.layers.scaled as NDArray).data);
  });

  it("refuses to write over an existing local store without overwrite, changing nothing", async () => {
    const copy = await copyFixture(DENSE_C5);
    try {
      const before = await listing(copy.store);
      const zmeta = await readFile(path.join(copy.store, ".zmetadata"));
      await assert.rejects(writeZarr(build(), copy.store), (e: unknown) => e instanceof ElementWriteError && e.reason === "exists" && e.path === "/");
      assert.deepEqual(await listing(copy.store), before);
      assert.deepEqual(await readFile(path.join(copy.store, ".zmetadata")), zmeta);
      assert.deepEqual(await readdir(copy.dir), [path.basename(copy.store)]);
    } finally {
      await copy.cleanup();
    }
  });

  it("overwrites an existing local store with overwrite: true", async () => {
    const copy = await copyFixture(DENSE_C5);
    try {
      await writeZarr(build(), copy.store, { overwrite: true });
      checkBuilt(await readZarr(copy.store, { lazy: false }));
      assert.deepEqual(await readdir(copy.dir), [path.basename(copy.store)]);
    } finally {
      await copy.cleanup();
    }
  });

  it("a write that fails part-way leaves the old store as it was and no staging directory", async () => {
    const copy = await copyFixture(DENSE_C5);
    try {
      const before = await listing(copy.store);
      const bad = new AnnData({ ...build(), uns: { ok: 1, broken: new Date() } } as never);
      await assert.rejects(
        writeZarr(bad, copy.store, { overwrite: true }),
        (e: unknown) => e instanceof ElementWriteError && e.path === "/uns/broken" && e.reason === "value",
      );
      assert.deepEqual(await listing(copy.store), before);
      assert.deepEqual(await readdir(copy.dir), [path.basename(copy.store)]);
    } finally {
      await copy.cleanup();
    }
  });

  it("a failed write into a store never leaves consolidated metadata behind", async () => {
    const store = new Map<string, Uint8Array>();
    await writeZarr(build(), store);
    const bad = new AnnData({ ...build(), uns: { broken: Symbol("x") } } as never);
    await assert.rejects(writeZarr(bad, store, { overwrite: true }), ElementWriteError);
    assert.equal(store.has("/.zmetadata"), false);
  });

  it("writeElem adds an element to an existing store and refreshes its consolidated metadata", async () => {
    const copy = await copyFixture(DENSE_C5);
    try {
      await writeElem(copy.store, "/uns/note", "rechunked by zask");
      await writeElem(copy.store, "/obsm/X_small", { data: new Float32Array(97 * 2).fill(1), shape: [97, 2], dtype: "float32" }, { chunks: [50, 2] });
      const meta = JSON.parse(await readFile(path.join(copy.store, ".zmetadata"), "utf8")).metadata;
      assert.deepEqual(meta["obsm/X_small/.zarray"].chunks, [50, 2]);
      assert.ok(meta["X/.zarray"], "keeps what was there");
      const back = await readZarr(copy.store, { lazy: false });
      assert.equal(back.uns.note, "rechunked by zask");
      assert.deepEqual(Object.keys(back.obsm).sort(), ["X_pca", "X_small", "X_umap"]);
      await assert.rejects(
        writeElem(copy.store, "/uns/note", "again"),
        (e: unknown) => e instanceof ElementWriteError && e.reason === "exists" && e.path === "/uns/note",
      );
      await writeElem(copy.store, "/uns/note", "again", { overwrite: true });
      assert.equal((await readZarr(copy.store, { lazy: false })).uns.note, "again");
    } finally {
      await copy.cleanup();
    }
  });

  it("rejects an HTTP destination and a bad chunks argument with clear messages", async () => {
    await assert.rejects(writeZarr(build(), "http://127.0.0.1:1/x.zarr"), /read-only/);
    const t = await tempDir();
    try {
      await assert.rejects(writeZarr(build(), path.join(t.dir, "a.zarr"), { chunks: [0, 2] }), /Expected `chunks` for \/X to be positive integers, got `0`/);
      assert.deepEqual(await readdir(t.dir), []);
    } finally {
      await t.cleanup();
    }
  });

  it("AnnData checks shapes against obs and var", () => {
    assert.throws(
      () => new AnnData({ X: { data: new Float32Array(6), shape: [2, 3], dtype: "float32" }, obs: new DataFrame({ index: ["a"] }) }),
      /Expected X to have 1 rows, got shape \[2, 3\]/,
    );
  });
});
