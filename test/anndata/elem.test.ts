import assert from "node:assert/strict";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { deflateSync } from "node:zlib";
import { ZarrMetadataError, type NDArray } from "@zask/array";
import { ElementReadError, readZarr } from "@zask/anndata";
import { BAD, badExpected } from "../array/bad-stores.ts";

// adata.*.zarr: AnnData stores written by anndata 0.8, X (10 x 12 float64, zlib) then rewritten
// by zarr 2.13 in Fortran order, or with an unknown codec or a huge shape (generate.py).

async function withCopy(name: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "zask-elem-"));
  try {
    await cp(BAD + name, path.join(dir, name), { recursive: true });
    await body(path.join(dir, name));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("readZarr with lazy: false reads a Fortran-order X with the values Python wrote, as the lazy read does", async () => {
  const want = badExpected["adata.F.zarr"]!.data;
  const eager = await readZarr(BAD + "adata.F.zarr", { lazy: false });
  const X = eager.X as NDArray;
  assert.deepEqual(X.shape, [10, 12]);
  assert.deepEqual(Array.from(X.data as Float64Array), want);
  const lazy = await readZarr(BAD + "adata.F.zarr");
  assert.deepEqual(Array.from((await lazy.X!.compute()).data as Float64Array), want);
});

test("readZarr with lazy: false refuses an X chunk of the wrong size, naming X and the chunk's file", async () => {
  await withCopy("adata.F.zarr", async (store) => {
    // a zlib chunk of 4 x 2 float64 where a 4 x 5 chunk belongs
    await writeFile(path.join(store, "X", "0.0"), deflateSync(new Uint8Array(new Float64Array(8).buffer)));
    await assert.rejects(readZarr(store, { lazy: false }), (e: unknown) => {
      assert.ok(e instanceof ElementReadError, String(e));
      assert.equal(e.path, "/X");
      assert.equal(e.reason, "chunk");
      // decoded on a worker: the cause is a clone of the ChunkDecodeError (name and message)
      const cause = e.cause as Error;
      assert.equal(cause.name, "ChunkDecodeError");
      assert.match(cause.message, /X\/0\.0 \(array \/X, chunk 0\.0\): .*numcodecs\.zlib decompressed 64 bytes, expected the chunk's 160/);
      return true;
    });
  });
});

test("an unknown codec on X is an error when the store is opened, lazy or not, naming X", async () => {
  const store = BAD + "adata.unknown-codec.zarr";
  await assert.rejects(readZarr(store), (e: unknown) => e instanceof ZarrMetadataError && e.path === "/X" && e.field === "compressor");
  await assert.rejects(readZarr(store, { lazy: false }), (e: unknown) => {
    assert.ok(e instanceof ElementReadError, String(e));
    assert.equal(e.path, "/X");
    assert.equal(e.reason, "codec");
    assert.ok(e.cause instanceof ZarrMetadataError);
    return true;
  });
});

test("an X of shape [2^40, 12] is an error when the store is opened, lazy or not, never a crash", async () => {
  const store = BAD + "adata.huge-shape.zarr";
  await assert.rejects(readZarr(store), (e: unknown) => e instanceof ZarrMetadataError && e.path === "/X" && e.field === "chunks");
  await assert.rejects(readZarr(store, { lazy: false }), (e: unknown) => e instanceof ElementReadError && e.path === "/X" && e.reason === "metadata");
});
