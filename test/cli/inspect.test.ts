import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { writeZarr } from "@zask/anndata";
import { formatInspection, inspect, pbmcLike, serve } from "zask";
import type { FileServer, Inspection } from "zask";

let dir: string;
let server: FileServer;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zask-inspect-"));
  const adata = pbmcLike({ nObs: 40, nVars: 70 });
  await writeZarr(adata, join(dir, "v2.zarr"), { chunks: [40, 5] });
  await writeZarr(adata, join(dir, "v3.zarr"), { chunks: [40, 7], format: 3 });
  server = await serve(dir, { port: 0, log: false });
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const byPath = (inspection: Inspection) => new Map(inspection.elements.map((e) => [e.path, e]));

test("inspect over HTTP lists each element's encoding, shape, dtype, chunks and codec (zarr v2)", async () => {
  const found = await inspect(`${server.url}v2.zarr`);
  assert.match(found.repr, /^AnnData object with n_obs × n_vars = 40 × 70/);
  const elements = byPath(found);
  assert.deepEqual(elements.get("/X"), {
    path: "/X",
    kind: "array",
    encoding: "array 0.2.0",
    shape: [40, 70],
    dtype: "<f4",
    chunks: [40, 5],
    codec: "blosc(lz4, clevel 5, shuffle 1)",
  });
  assert.equal(elements.get("/")?.encoding, "anndata 0.1.0");
  assert.equal(elements.get("/obs/louvain")?.encoding, "categorical 0.2.0");
  assert.equal(elements.get("/obsp/distances")?.encoding, "csr_matrix 0.1.0");
  assert.equal(elements.get("/var/_index")?.dtype, "string (vlen-utf8)");
});

test("inspect reads a local zarr v3 store's consolidated metadata too", async () => {
  const found = await inspect(join(dir, "v3.zarr"));
  const x = byPath(found).get("/X");
  assert.deepEqual([x?.shape, x?.chunks, x?.dtype], [[40, 70], [40, 7], "float32"]);
  assert.match(x?.codec ?? "", /blosc/);
});

test("formatInspection prints the repr then one table row per element", async () => {
  const text = formatInspection(await inspect(join(dir, "v2.zarr")));
  assert.match(text, /^AnnData object/);
  assert.match(text, /^\/X\s+array\s+array 0\.2\.0\s+\[40, 70\]\s+<f4\s+\[40, 5\]\s+blosc\(lz4/m);
});

test("inspect refuses an empty source with a TypeError", async () => {
  await assert.rejects(inspect(""), TypeError);
});
