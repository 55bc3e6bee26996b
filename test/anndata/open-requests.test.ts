// What opening a store over HTTP costs: exactly the consolidated metadata and one request per
// chunk of each element read eagerly — no probes for absent nodes, nothing read twice.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { AnnData, DataFrame, readZarr, writeZarr } from "@zask/anndata";
import { CSR, DENSE_C25, DENSE_C5, serve, tempDir, type FixtureServer } from "./fixtures.js";

interface ArrayMeta {
  path: string;
  shape: number[];
  chunks: number[];
  isString: boolean;
}

/** The arrays of a store, from its consolidated metadata (v2 `.zmetadata` or v3 root `zarr.json`). */
async function arraysOf(store: string): Promise<{ format: 2 | 3; arrays: ArrayMeta[] }> {
  try {
    const doc = JSON.parse(await readFile(path.join(store, ".zmetadata"), "utf8")) as { metadata: Record<string, any> };
    const arrays = Object.entries(doc.metadata)
      .filter(([k]) => k.endsWith("/.zarray"))
      .map(([k, m]) => ({ path: k.slice(0, -"/.zarray".length), shape: m.shape, chunks: m.chunks, isString: m.dtype === "|O" || /^[<>|][US]/.test(m.dtype) }));
    return { format: 2, arrays };
  } catch {
    const doc = JSON.parse(await readFile(path.join(store, "zarr.json"), "utf8")) as { consolidated_metadata: { metadata: Record<string, any> } };
    const arrays = Object.entries(doc.consolidated_metadata.metadata)
      .filter(([, m]) => m.node_type === "array")
      .map(([k, m]) => ({ path: k.replace(/^\//, ""), shape: m.shape, chunks: m.chunk_grid.configuration.chunk_shape, isString: m.data_type === "string" }));
    return { format: 3, arrays };
  }
}

/**
 * The arrays a lazy `readZarr` reads now: dataframe columns (obs, var, raw/var), strings and
 * scalars of uns, and the indptr of each sparse matrix. Numeric n-d arrays stay lazy.
 */
function isEager(a: ArrayMeta): boolean {
  if (/^(obs|var|raw\/var)\//.test(a.path)) return true;
  if (a.path.endsWith("/indptr")) return true;
  return a.path.startsWith("uns/") && (a.isString || a.shape.length === 0);
}

const chunkCount = (a: ArrayMeta) => a.shape.reduce((n, s, i) => n * Math.ceil(s / a.chunks[i]!), 1);

/** Check the requests of one `readZarr(url)` against the store's own metadata. */
async function checkOpen(server: FixtureServer, urlPath: string, store: string): Promise<number> {
  const { format, arrays } = await arraysOf(store);
  const eager = arrays.filter(isEager);
  server.requests.length = 0;
  server.answers.length = 0;
  await readZarr(`${server.url}${urlPath}`);
  const answers = server.answers.map((a) => ({ ...a, path: a.path.slice(urlPath.length) }));
  // zarrita looks for v2 consolidated metadata first: a v3 store answers that one 404.
  const discovery =
    format === 2
      ? [{ path: "/.zmetadata", status: 200 }]
      : [
          { path: "/.zmetadata", status: 404 },
          { path: "/zarr.json", status: 200 },
        ];
  assert.deepEqual(
    answers.filter((a) => discovery.some((d) => d.path === a.path)).sort((x, y) => x.path.localeCompare(y.path)),
    discovery,
  );
  const rest = answers.filter((a) => !discovery.some((d) => d.path === a.path));
  assert.deepEqual(
    rest.filter((a) => a.status !== 200),
    [],
    "no request but discovery may miss",
  );
  const paths = rest.map((a) => a.path);
  assert.equal(new Set(paths).size, paths.length, `a key was read twice: ${paths.join(" ")}`);
  for (const p of paths) {
    const owner = eager.find((a) => p.startsWith(`/${a.path}/`) && !p.slice(a.path.length + 2).includes(".z") && !p.endsWith("zarr.json"));
    assert.ok(owner, `${p} is not a chunk of an eagerly read array`);
  }
  for (const a of eager) {
    const got = paths.filter((p) => p.startsWith(`/${a.path}/`)).length;
    assert.equal(got, chunkCount(a), `chunks read of ${a.path}`);
  }
  const total = discovery.length + eager.reduce((n, a) => n + chunkCount(a), 0);
  assert.equal(answers.length, total);
  return total;
}

describe("readZarr over HTTP: the requests of an open", () => {
  let fixtures: FixtureServer;
  let written: FixtureServer;
  let dir: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    // Stores without raw (absent nodes the open must not ask for), in both zarr formats.
    dir = await tempDir();
    const full = await readZarr(CSR, { lazy: false });
    const noRaw = new AnnData({ X: full.X, obs: full.obs, var: full.var, obsm: full.obsm, layers: full.layers, uns: full.uns });
    await writeZarr(noRaw, path.join(dir.dir, "no-raw.v2.zarr"), { format: 2 });
    await writeZarr(noRaw, path.join(dir.dir, "no-raw.v3.zarr"), { format: 3 });
    fixtures = await serve(path.dirname(CSR));
    written = await serve(dir.dir);
  });
  after(async () => {
    await fixtures.close();
    await written.close();
    await dir.cleanup();
  });

  it("reads a dense store's .zmetadata and each chunk of its dataframes and uns scalars once, and nothing else", async () => {
    assert.equal(await checkOpen(fixtures, "/pbmc-like.dense.c5.zarr", DENSE_C5), 33);
    assert.equal(await checkOpen(fixtures, "/pbmc-like.dense.c25.zarr", DENSE_C25), 33);
  });

  it("reads a sparse store's indptr chunks and raw/var too", async () => {
    assert.equal(await checkOpen(fixtures, "/pbmc-like.csr.zarr", CSR), 35);
  });

  it("does not ask the server for a node its consolidated .zmetadata does not list", async () => {
    assert.equal(await checkOpen(written, "/no-raw.v2.zarr", path.join(dir.dir, "no-raw.v2.zarr")), 28);
  });

  it("does not ask the server for a node its consolidated zarr.json (v3) does not list", async () => {
    assert.equal(await checkOpen(written, "/no-raw.v3.zarr", path.join(dir.dir, "no-raw.v3.zarr")), 29);
  });

  it("reads keys that need percent-encoding (a column named with a space and an accent) by their encoded URL", async () => {
    const obs = new DataFrame({ index: ["a", "b"], columns: { "cell type é": ["T", "B é"] } });
    await writeZarr(new AnnData({ obs, var: new DataFrame({ index: ["g"] }) }), path.join(dir.dir, "spaces.zarr"));
    written.answers.length = 0;
    const adata = await readZarr(`${written.url}/spaces.zarr`);
    assert.deepEqual(adata.obs.get("cell type é"), ["T", "B é"]);
    assert.deepEqual(
      written.answers.filter((a) => a.status !== 200),
      [],
    );
  });
});
