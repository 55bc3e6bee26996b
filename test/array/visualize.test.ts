import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fromZarr, ones } from "@zask/array";
import { FIXTURES } from "./helpers.ts";

test("visualize() draws the culled, fused graph as SVG by default", async () => {
  const x = await fromZarr(FIXTURES + "dense.c3.gzip.u2.zarr");
  const svg = await x.slice([0, 16]).visualize();
  assert.match(svg, /<svg[\s\S]*<\/svg>\s*$/);
  // fused: one node per touched block fetches the chunk and decodes only the rows it keeps; no
  // from-zarr layer left
  assert.match(svg, /#fetchChunk → @zask\/array\/ops#getitemRows</);
  assert.ok(!svg.includes("from&#45;zarr"));
});

test("visualize({ optimize: false }) keeps every layer's tasks, and format dot gives the DOT source", async () => {
  const x = await fromZarr(FIXTURES + "dense.c3.gzip.u2.zarr");
  const y = x.slice([0, 16]);
  const raw = await y.visualize({ format: "dot", optimize: false });
  const optimized = await y.visualize({ format: "dot" });
  assert.match(raw, /^digraph/);
  assert.ok(raw.includes("from-zarr-") && raw.includes("getitem-"));
  const nodes = (dot: string): number => dot.split("\n").filter((l) => /^\s+n\d+ \[/.test(l)).length;
  assert.ok(nodes(optimized) < nodes(raw), `${nodes(optimized)} fused nodes < ${nodes(raw)} raw nodes`);
});

test("visualize({ filename }) writes the picture in the format its extension names", async () => {
  const dir = await mkdtemp(join(tmpdir(), "zask-viz-"));
  try {
    const x = ones([10, 10], { chunks: 5 }).sum();
    const svg = await x.visualize({ filename: join(dir, "sum.svg") });
    assert.equal(await readFile(join(dir, "sum.svg"), "utf8"), svg);
    // the file in its extension's format; the value in `format` (SVG by default)
    const value = await x.visualize({ filename: join(dir, "sum.dot") });
    assert.match(await readFile(join(dir, "sum.dot"), "utf8"), /^digraph/);
    assert.match(value, /<svg/);
    await assert.rejects(x.visualize({ filename: join(dir, "sum.pdf") }), /Expected the extension of `filename` to be one of svg, png, dot, got `pdf`/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('visualize({ format: "png" }) gives PNG bytes and writes a .png file as PNG', async () => {
  const dir = await mkdtemp(join(tmpdir(), "zask-viz-"));
  try {
    const x = ones([10, 10], { chunks: 5 }).sum();
    const png = await x.visualize({ format: "png" });
    const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    assert.deepEqual([...png.subarray(0, 8)], signature);
    await x.visualize({ filename: join(dir, "sum.png") });
    assert.deepEqual([...(await readFile(join(dir, "sum.png"))).subarray(0, 8)], signature);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
