// Element names are data: a column Python named "a ", "Unnamed: 0", "x%y", "h#s" or "q?r" is
// read and written under exactly that name, from disk and over HTTP.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { readZarr, writeZarr } from "@zask/anndata";
import { close } from "@zask/scheduler";
import { FIXTURES, serve, tempDir, type FixtureServer } from "./fixtures.js";

const STORE = path.join(FIXTURES, "names.obs-columns.zarr");
const expected = JSON.parse(await readFile(path.join(FIXTURES, "names.expected.json"), "utf8")) as {
  columns: string[];
  values: Record<string, number[]>;
  obsNames: string[];
  varNames: string[];
};
const PYTHON = "/usr/bin/python3";
const hasPython = (() => {
  try {
    execFileSync(PYTHON, ["-c", "import anndata, zarr"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

async function checkColumns(source: string): Promise<void> {
  const adata = await readZarr(source);
  assert.deepEqual(adata.obs.columns, expected.columns);
  for (const name of expected.columns)
    assert.deepEqual(Array.from(adata.obs.get(name) as ArrayLike<number>), expected.values[name], `column ${JSON.stringify(name)}`);
  assert.deepEqual([...adata.obs.index], expected.obsNames);
  assert.deepEqual([...adata.var.index], expected.varNames);
}

describe("element names that URLs and paths mangle", () => {
  let server: FixtureServer;
  before(async () => (server = await serve(FIXTURES)));
  after(async () => {
    await server.close();
    await close();
  });

  it("each obs column Python wrote reads back with its own values from disk", async () => {
    await checkColumns(STORE);
  });

  it("each obs column reads back with its own values over HTTP, its name percent-encoded in the URL", async () => {
    server.requests.length = 0;
    await checkColumns(`${server.url}/names.obs-columns.zarr`);
    // the server decodes each request path: these are the exact names, not trimmed or cut at # or ?
    for (const name of expected.columns)
      assert.ok(server.requests.includes(`/names.obs-columns.zarr/obs/${name}/0`), `${name}: ${server.requests.join(" | ")}`);
  });

  it("writeZarr writes each column under its exact name, and Python reads each column's values back", {
    skip: hasPython ? false : "no /usr/bin/python3 with anndata",
  }, async () => {
    const adata = await readZarr(STORE, { lazy: false });
    const { dir, cleanup } = await tempDir();
    try {
      const out = path.join(dir, "names.zarr");
      await writeZarr(adata, out);
      const script = [
        "import anndata, json, sys",
        "a = anndata.read_zarr(sys.argv[1]).obs",
        "print(json.dumps({'columns': list(a.columns), 'values': {c: [int(v) for v in a[c]] for c in a.columns}, 'obsNames': list(a.index)}))",
      ].join("\n");
      const { stdout } = await promisify(execFile)(PYTHON, ["-c", script, out], { env: { ...process.env, PYTHONUTF8: "1" } });
      const back = JSON.parse(stdout) as typeof expected;
      assert.deepEqual(back.columns, expected.columns);
      assert.deepEqual(back.values, expected.values);
      assert.deepEqual(back.obsNames, expected.obsNames);
    } finally {
      await cleanup();
    }
  });
});
