// Writing AnnData as sharded zarr v3: zarrita (the independent reader of v3 here) reads X back,
// the root zarr.json holds the consolidated metadata, and zask reads X back by inner chunk.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import FileSystemStore from "@zarrita/storage/fs";
import * as zarr from "zarrita";
import { readZarr, writeElem, writeZarr, type NDArray } from "@zask/anndata";
import { pbmcLike } from "zask";
import { serveRanges } from "../helpers/range-server.ts";

const dir = mkdtempSync(join(tmpdir(), "zask-write-sharded-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const adata = pbmcLike({ nObs: 40, nVars: 63 });
const X = adata.X as NDArray;

async function zarritaX(store: string): Promise<{ data: number[]; chunks: number[] }> {
  const arr = await zarr.open.v3(zarr.root(new FileSystemStore(store)).resolve("X"), { kind: "array" });
  const got = await zarr.get(arr);
  return { data: Array.from(got.data as Float32Array), chunks: arr.chunks };
}

describe("writeZarr with format 3 and shards", () => {
  it("writes X sharded, with its metadata consolidated in the root zarr.json, and zarrita reads X back equal", async () => {
    const out = join(dir, "c5.s10.zarr");
    await writeZarr(adata, out, { format: 3, chunks: [40, 5], shards: [40, 10] });
    const root = JSON.parse(readFileSync(join(out, "zarr.json"), "utf8"));
    const meta = root.consolidated_metadata.metadata["X"];
    assert.equal(meta.codecs[0].name, "sharding_indexed");
    assert.deepEqual(meta.codecs[0].configuration.chunk_shape, [40, 5]);
    assert.deepEqual(meta.chunk_grid.configuration.chunk_shape, [40, 10]);
    const { data, chunks } = await zarritaX(out);
    assert.deepEqual(chunks, [40, 5]);
    assert.deepEqual(data, Array.from(X.data as Float32Array));
  });

  it("is read back by zask over HTTP with one metadata request, X lazily by inner chunk", async () => {
    const server = await serveRanges(dir);
    try {
      const back = await readZarr(`${server.url}/c5.s10.zarr`);
      const metadataReads = server.log.filter((e) => e.path.endsWith("zarr.json"));
      assert.equal(metadataReads.length, 1);
      assert.deepEqual(back.X!.shards, [40, 10]);
      assert.deepEqual(back.X!.chunks[1]!.slice(0, 2), [5, 5]);
      server.reset();
      const gene = await back.X!.slice(null, [7]).compute();
      assert.deepEqual(
        Array.from(gene.data as Float32Array),
        Array.from({ length: 40 }, (_, i) => (X.data as Float32Array)[i * 63 + 7]!),
      );
      assert.equal(server.totals().requests, 2);
    } finally {
      await server.close();
    }
  });

  it('streams a lazy X into shards, and shards "auto" follow anndata 0.13\'s sizing', async () => {
    const src = join(dir, "c5.s10.zarr");
    const lazy = await readZarr(src);
    const out = join(dir, "auto.zarr");
    await writeZarr(lazy, out, { format: 3, chunks: [40, 7], shards: "auto" });
    const meta = JSON.parse(readFileSync(join(out, "zarr.json"), "utf8")).consolidated_metadata.metadata["X"];
    // the inner chunk spans axis 0: a shard cannot grow (zarr-python's shards="auto")
    assert.deepEqual(meta.chunk_grid.configuration.chunk_shape, [40, 7]);
    assert.deepEqual((await zarritaX(out)).data, Array.from(X.data as Float32Array));
  });

  it("writeElem writes one element sharded into an existing v3 store", async () => {
    const out = join(dir, "elem.zarr");
    await writeZarr(adata, out, { format: 3 });
    const layer: NDArray = { data: Float64Array.from({ length: 40 * 63 }, (_, i) => i / 7), shape: [40, 63], dtype: "float64" };
    await writeElem(out, "/layers/scaled", layer, { chunks: [8, 63], shards: [16, 63] });
    const arr = await zarr.open.v3(zarr.root(new FileSystemStore(out)).resolve("layers/scaled"), { kind: "array" });
    assert.deepEqual(arr.chunks, [8, 63]);
    assert.deepEqual(Array.from((await zarr.get(arr)).data as Float64Array), Array.from(layer.data as Float64Array));
  });
});
