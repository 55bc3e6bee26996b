import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fromTypedArray, fromZarr, type CompressorConfig } from "@zask/array";
import { FIXTURES, expected, mapStore, plain } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "zask-to-zarr-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const python = "/usr/bin/python3";
const hasZarr = spawnSync(python, ["-c", "import zarr, numpy"], { stdio: "ignore" }).status === 0;
const skipPython = hasZarr ? false : `the reference stack is missing (${python} -c "import zarr" failed); see REFERENCE.md`;

/** zarr-python's reading of several arrays (one interpreter start), as the generator writes values. */
function readWithZarrPython(paths: string[]): { shape: number[]; dtype: string; data: unknown[] }[] {
  const script = `
import json, sys, zarr, numpy as np
out = []
for path in sys.argv[1:]:
    a = zarr.open_array(path, mode="r")[...]
    if a.dtype == bool: data = [int(v) for v in a.ravel()]
    elif a.dtype.kind in "iu" and a.dtype.itemsize == 8: data = [str(int(v)) for v in a.ravel()]
    elif a.dtype.kind == "f": data = [float(v) for v in a.ravel()]
    elif a.dtype.kind == "O": data = [str(v) for v in a.ravel()]
    else: data = [int(v) for v in a.ravel()]
    out.append({"shape": list(a.shape), "dtype": str(a.dtype), "data": data})
print(json.dumps(out))
`;
  return JSON.parse(execFileSync(python, ["-c", script, ...paths], { encoding: "utf8", maxBuffer: 1 << 26 }));
}

const compressors: [string, CompressorConfig | null][] = [
  ["blosc-lz4", { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1 }],
  ["zlib", { id: "zlib", level: 1 }],
  ["gzip", { id: "gzip", level: 6 }],
  ["raw", null],
];

const written: { path: string; name: string }[] = [];

for (const name of ["dense.c5x4.blosc-lz4.f4.zarr", "dense.c4x3.zlib.F.i8.zarr", "dense.c4x2.raw.bool.zarr", "strings.c4.vlen-utf8.O.zarr"]) {
  for (const [cname, compressor] of compressors) {
    test(`toZarr writes ${name} with ${cname} (one file per chunk, edge chunks padded) and zask reads it back`, async () => {
      const e = expected.stores[name]!;
      const x = await fromZarr(FIXTURES + name);
      const out = join(dir, `${name}.${cname}`);
      // chunks that do not divide the shape: edge chunks are padded as zarr v2 expects
      const chunks = x.shape.map((n) => Math.max(1, Math.ceil(n / 2) - 1));
      const result = await x.toZarr(out, { path: "a/x", chunks, compressor });
      const nChunks = x.shape.reduce((acc, n, k) => acc * Math.ceil(n / chunks[k]!), 1);
      assert.equal(result.chunks, nChunks);
      const back = await fromZarr(out, { path: "a/x" });
      assert.deepEqual(
        back.chunks.map((c) => c[0]),
        chunks,
      );
      assert.deepEqual(plain(await back.compute()), e.data);
      written.push({ path: join(out, "a/x"), name });
    });
  }
}

test("zarr-python 2.13 reads every array toZarr wrote, with numpy's values", { skip: skipPython }, () => {
  assert.equal(written.length, 16);
  const read = readWithZarrPython(written.map((w) => w.path));
  written.forEach((w, i) => {
    assert.deepEqual(read[i]!.shape, expected.stores[w.name]!.shape, w.path);
    assert.deepEqual(read[i]!.data, expected.stores[w.name]!.data, w.path);
  });
});

test("toZarr refuses to overwrite unless asked, and writes into a zarrita Map store", async () => {
  const x = fromTypedArray(Float32Array.of(1, 2, 3, 4, 5), [5], { chunks: 2 });
  const out = join(dir, "small.zarr");
  await x.toZarr(out);
  await assert.rejects(x.toZarr(out), (err: Error) => err.name === "ZarrArrayError");
  await fromTypedArray(Float32Array.of(9, 9, 9), [3], { chunks: 2 }).toZarr(out, { overwrite: true });
  assert.deepEqual(Array.from((await (await fromZarr(out)).compute()).data as Float32Array), [9, 9, 9]);
  assert.ok(!existsSync(join(out, "2")), "old chunks are removed");
  await assert.rejects(x.toZarr("http://127.0.0.1:1/x.zarr"), TypeError);
  const map = new Map<string, Uint8Array>();
  await x.toZarr(map, { path: "x", compressor: { id: "zlib" } });
  assert.ok(map.has("/x/.zarray") && map.has("/x/0") && map.has("/x/2") && map.has("/.zgroup"));
  const back = await fromZarr(mapStore(map), { path: "x" });
  assert.deepEqual(Array.from((await back.compute()).data as Float32Array), [1, 2, 3, 4, 5]);
});
