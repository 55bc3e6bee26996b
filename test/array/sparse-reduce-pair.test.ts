// Sums, means, variances, extremes and nonzero counts of a stored sparse matrix over its major
// axis (or both) are made from one partial per data/indices chunk pair
// (ops/sparse-reduce-pair.ts), not from gathered blocks. These tests check the values against a
// float64 reference on random stored matrices (dtypes, chunkings, codecs, zarr v2 and sharded
// v3, index widths, both threads), that no block is gathered, and that bad indices are refused
// with the matrix, its URL and the position.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SparseArray, SparseStructureError, fromTypedArray, fromZarr, type SparseSource } from "@zask/array";
import type { DataType, ToZarrOptions } from "@zask/array";
import { cull, fuse } from "@zask/graph";
import { Profiler } from "@zask/scheduler";
import { serveFixtures, type FixtureServer } from "../helpers/fixture-server.js";
import { Rng } from "../helpers/random.js";

type Compressor = { id: "blosc"; cname: "lz4"; clevel: number; shuffle: 0 | 1 } | { id: "zlib"; level: number } | null;

interface Case {
  format: "csr" | "csc";
  rows: number;
  cols: number;
  dtype: DataType;
  indptr: Int32Array;
  indices: number[];
  values: number[];
  chunk: number;
  compressor: Compressor;
  wide: boolean;
  /** Read over HTTP (where plain blosc chunks decode and add up in WebAssembly), else from disk. */
  http: boolean;
  /** Written as zarr v3 (zlib as gzip), in shards of this many chunks, or as zarr v2 (0). */
  shardChunks?: number;
}

const DTYPES: DataType[] = ["float32", "float64", "int32", "uint32", "int16", "uint16", "int8", "uint8", "bool"];

function typed(
  dtype: DataType,
  values: readonly number[],
): Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array {
  switch (dtype) {
    case "float32":
      return Float32Array.from(values);
    case "float64":
      return Float64Array.from(values);
    case "int32":
      return Int32Array.from(values);
    case "uint32":
      return Uint32Array.from(values);
    case "int16":
      return Int16Array.from(values);
    case "uint16":
      return Uint16Array.from(values);
    case "int8":
      return Int8Array.from(values);
    default:
      return Uint8Array.from(values);
  }
}

/**
 * A random stored matrix: empty lines (some at the end), explicit zeros, NaN in floats, and in
 * about a third of them lines that store an index twice (in stored order or shuffled).
 */
function randomCase(rng: Rng): Case {
  const format = rng.pick(["csr", "csc"] as const);
  const rows = rng.int(1, 40);
  const cols = rng.int(1, 30);
  const dtype = rng.pick(DTYPES);
  const [major, minor] = format === "csr" ? [rows, cols] : [cols, rows];
  const density = rng.pick([0.05, 0.3, 0.9]);
  const indptr = new Int32Array(major + 1);
  const indices: number[] = [];
  const values: number[] = [];
  const float = dtype.startsWith("float");
  const dups = rng.chance(0.35);
  const shuffle = dups && rng.chance(0.5);
  for (let a = 0; a < major; a++) {
    if (a >= major - 2 && rng.chance(0.5)) {
      indptr[a + 1] = indices.length;
      continue;
    }
    const line: [number, number][] = [];
    for (let j = 0; j < minor; j++) {
      if (!rng.chance(density)) continue;
      let v: number;
      if (dtype === "bool") v = rng.chance(0.8) ? 1 : 0;
      else if (float) v = rng.chance(0.02) ? Number.NaN : rng.chance(0.1) ? 0 : (rng.next() - 0.3) * 1000;
      else v = rng.chance(0.1) ? 0 : rng.int(dtype.startsWith("u") ? 0 : -100, 100);
      line.push([j, v]);
      // a second value at the same index, small enough that no integer sum wraps
      if (dups && rng.chance(0.25)) line.push([j, dtype === "bool" ? 1 : float ? (rng.next() - 0.5) * 100 : rng.int(dtype.startsWith("u") ? 0 : -5, 5)]);
    }
    if (shuffle)
      for (let k = line.length - 1; k > 0; k--) {
        const t = rng.int(0, k);
        [line[k], line[t]] = [line[t]!, line[k]!];
      }
    for (const [j, v] of line) {
      indices.push(j);
      values.push(v);
    }
    indptr[a + 1] = indices.length;
  }
  const nnz = indices.length;
  const chunk = rng.pick([1, 3, 7, Math.max(1, nnz), nnz + 5]);
  const compressor = rng.pick<Compressor>([
    { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1 },
    { id: "blosc", cname: "lz4", clevel: 1, shuffle: 0 },
    { id: "zlib", level: 1 },
    null,
  ]);
  return {
    format,
    rows,
    cols,
    dtype,
    indptr,
    indices,
    values: Array.from(typed(dtype, values), Number),
    chunk,
    compressor,
    wide: rng.chance(0.3),
    http: rng.chance(0.5),
    shardChunks: rng.pick([0, 0, 1, 3]),
  };
}

async function open(dir: string, server: FixtureServer, c: Case, indices?: readonly number[]): Promise<SparseSource> {
  const root = await mkdtemp(join(dir, "m-"));
  const ix = indices ?? c.indices;
  const idx = c.wide ? BigInt64Array.from(ix, (j) => BigInt(j)) : Int32Array.from(ix);
  const n = c.indices.length;
  // a chunk longer than the array is cut to it, as toZarr cuts it
  const chunks = [Math.max(1, Math.min(c.chunk, n))];
  const k = c.shardChunks ?? 0;
  // zarr v3 (as anndata 0.13 writes) has no zlib codec: gzip instead
  const compressor: ToZarrOptions["compressor"] = c.compressor?.id === "zlib" && k > 0 ? { id: "gzip", level: 1 } : c.compressor;
  const options: ToZarrOptions = k > 0 ? { format: 3, shards: [chunks[0]! * k], compressor } : { compressor };
  await fromTypedArray(typed(c.dtype, c.values), [n], { chunks }).toZarr(join(root, "data"), options);
  await fromTypedArray(idx, [n], { chunks }).toZarr(join(root, "indices"), options);
  const at = c.http ? `${server.url}/${basename(root)}` : root;
  return {
    format: c.format,
    shape: [c.rows, c.cols],
    indptr: c.indptr,
    data: await fromZarr(`${at}/data`),
    indices: await fromZarr(`${at}/indices`),
    path: "/X",
    url: at,
  };
}

/**
 * numpy's var (ddof 0, two passes in float64), min and max of each minor line of the dense
 * matrix, implicit zeros included, and over all of it.
 */
function denseStats(c: Case): { perMinor: { var: number; min: number; max: number }[]; all: { var: number; min: number; max: number } } {
  const lines = denseLines(c);
  const stats = (xs: readonly number[]): { var: number; min: number; max: number } => {
    const mean = xs.reduce((t, x) => t + x, 0) / xs.length;
    const v = xs.reduce((t, x) => t + (x - mean) ** 2, 0) / xs.length;
    const nan = xs.some(Number.isNaN);
    return { var: v, min: nan ? Number.NaN : Math.min(...xs), max: nan ? Number.NaN : Math.max(...xs) };
  };
  return { perMinor: lines.map(stats), all: stats(lines.flat()) };
}

/**
 * The dense matrix by minor line (`lines[j][a]`), as scipy's toarray makes it: an index stored
 * twice holds the sum of its values in the dtype (the "bool" cases are stored as uint8).
 */
function denseLines(c: Case): number[][] {
  const minor = c.format === "csr" ? c.cols : c.rows;
  const major = c.format === "csr" ? c.rows : c.cols;
  const lines: number[][] = Array.from({ length: minor }, () => new Array<number>(major).fill(0));
  const set = new Set<number>();
  for (let a = 0; a < major; a++) {
    set.clear();
    for (let p = c.indptr[a]!; p < c.indptr[a + 1]!; p++) {
      const j = c.indices[p]!;
      const v = c.values[p]!;
      const old = lines[j]![a]!;
      if (!set.has(j)) lines[j]![a] = v;
      else lines[j]![a] = c.dtype === "float32" ? Math.fround(old + v) : old + v;
      set.add(j);
    }
  }
  return lines;
}

/** float64 sums per minor position, in stored order, and over all; or the dense matrix's nonzero counts. */
function reference(c: Case, count: boolean): { perMinor: number[]; all: number } {
  if (count) {
    const perMinor = denseLines(c).map((line) => line.filter((v) => v !== 0).length);
    return { perMinor, all: perMinor.reduce((t, n) => t + n, 0) };
  }
  const minor = c.format === "csr" ? c.cols : c.rows;
  const perMinor = new Array<number>(minor).fill(0);
  let all = 0;
  c.indices.forEach((j, p) => {
    const v = c.values[p]!;
    perMinor[j]! += v;
    all += v;
  });
  return { perMinor, all };
}

/** The matrix of the major lines `sel` of `c` (in that order, repeats kept). */
function selectMajor(c: Case, sel: readonly number[]): Case {
  const indptr = new Int32Array(sel.length + 1);
  const indices: number[] = [];
  const values: number[] = [];
  sel.forEach((a, i) => {
    for (let p = c.indptr[a]!; p < c.indptr[a + 1]!; p++) {
      indices.push(c.indices[p]!);
      values.push(c.values[p]!);
    }
    indptr[i + 1] = indices.length;
  });
  const shape = c.format === "csr" ? { rows: sel.length, cols: c.cols } : { rows: c.rows, cols: sel.length };
  return { ...c, ...shape, indptr, indices, values };
}

function close(got: number, want: number, tol: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  return Math.abs(got - want) <= tol * Math.max(1, Math.abs(want));
}

describe("sparse reductions by chunk pair", () => {
  let dir: string;
  let server: FixtureServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zask-pair-reduce-"));
    server = await serveFixtures(dir);
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("equal a float64 reference on 60 random stored matrices, on the main thread and on the pool, without gathering a block", async () => {
    const rng = new Rng(20261207);
    let cases = 0;
    let laned = 0;
    for (let i = 0; i < 60; i++) {
      const c = randomCase(rng);
      if (c.indices.length === 0) continue;
      cases++;
      const src = await open(dir, server, c);
      const pool = rng.chance(0.5);
      const X = SparseArray.fromSource(src, pool ? { smallReadBytes: 0 } : {});
      const what = `case ${i}: ${c.format} ${c.rows}×${c.cols} ${c.dtype} nnz ${c.indices.length} chunk ${c.chunk} ${JSON.stringify(c.compressor)}${c.shardChunks ? ` v3 shards of ${c.shardChunks}` : ""}${c.wide ? " int64 indices" : ""}${c.http ? " http" : ""}${pool ? " pool" : ""}`;
      const majorAxis = c.format === "csr" ? 0 : 1;
      const total = c.rows * c.cols;
      const major = c.format === "csr" ? c.rows : c.cols;
      // float32 results round once more
      const tol = c.dtype === "float32" ? 1e-6 : 1e-12;
      for (const kind of ["sum", "mean", "countNonzero"] as const) {
        const ref = reference(c, kind === "countNonzero");
        for (const axis of [majorAxis, undefined]) {
          const q = X[kind](axis === undefined ? {} : { axis });
          assert.ok(![...q.graph.layers.keys()].some((k) => k.startsWith("sparse-read-")), `${what}: ${kind} over ${axis}: no blocks`);
          assert.equal(q.graph.layers.get(`${kind}-chunk-${q.name.slice(kind.length + 1)}`) !== undefined, true, `${what}: ${kind} has its chunk-pair layer`);
          const prof = new Profiler();
          const got = Array.from((await q.compute({ inlineThreshold: 0, callbacks: [prof] })).data as ArrayLike<number | bigint>, Number);
          // a single pair's task fuses with the last step (its key is then the last step's)
          const lanes = new Set(prof.tasks.filter((t) => t.key.includes("-chunk-")).map((t) => t.lane.includes("pool")));
          if (lanes.size > 0) {
            laned++;
            assert.deepEqual([...lanes], [pool], `${what}: ${kind} pair tasks ran ${pool ? "off" : "on"} the pool`);
          }
          const sums = axis === undefined ? [ref.all] : ref.perMinor;
          const want = kind === "mean" ? sums.map((s) => s / (axis === undefined ? total : major)) : sums;
          assert.equal(got.length, want.length, `${what}: ${kind} length`);
          got.forEach((g, k) => assert.ok(close(g, want[k]!, tol), `${what}: ${kind} over ${axis ?? "all"} at ${k}: ${g} vs ${want[k]}`));
        }
      }
      const stats = denseStats(c);
      for (const kind of ["var", "std", "min", "max"] as const) {
        for (const axis of [majorAxis, undefined]) {
          const q = X[kind](axis === undefined ? {} : { axis });
          assert.ok(![...q.graph.layers.keys()].some((k) => k.startsWith("sparse-read-")), `${what}: ${kind} over ${axis}: no blocks`);
          const got = Array.from((await q.compute()).data as ArrayLike<number | bigint>, Number);
          const want = (axis === undefined ? [stats.all] : stats.perMinor).map((st) =>
            kind === "std" ? Math.sqrt(st.var) : kind === "var" ? st.var : st[kind],
          );
          // var of float32 rounds once more; min and max are stored values (or 0), exactly
          const t = kind === "min" || kind === "max" ? 0 : c.dtype === "float32" ? 1e-5 : 1e-9;
          got.forEach((g, k) => assert.ok(close(g, want[k]!, t), `${what}: ${kind} over ${axis ?? "all"} at ${k}: ${g} vs ${want[k]}`));
        }
      }
      // the same chunks as reading the whole matrix
      const sum = X.sum({ axis: majorAxis });
      assert.equal(sum.plan().requests, X.plan().requests, `${what}: plan`);
      // each pair fuses with its two fetches, so the pool's staging bounds the fetched bytes waiting for it
      const fused = fuse(cull(sum.graph, sum.keys()), sum.keys());
      assert.ok(![...fused.layers.keys()].some((k) => k.startsWith("fetch-")), `${what}: fetches left unfused: ${[...fused.layers.keys()].join(", ")}`);
    }
    assert.ok(cases >= 50 && laned >= 100, `only ${cases} non-empty cases, ${laned} queries of several pairs`);
  });

  it("reductions of selected lines (masks, unordered, repeated, none) equal the reference, read by chunk pair", async () => {
    const rng = new Rng(7);
    let checked = 0;
    for (let i = 0; i < 30; i++) {
      const c = randomCase(rng);
      if (c.indices.length === 0) continue;
      const src = await open(dir, server, c);
      const X = SparseArray.fromSource(src, rng.chance(0.5) ? { smallReadBytes: 0 } : {});
      const majorAxis = c.format === "csr" ? 0 : 1;
      const major = c.format === "csr" ? c.rows : c.cols;
      const mask = Array.from({ length: major }, () => rng.chance(0.4));
      const picks = Array.from({ length: rng.int(1, 2 * major) }, () => rng.int(0, major - 1));
      for (const sel of [mask, picks, [] as number[]]) {
        const positions = typeof sel[0] === "boolean" ? (sel as boolean[]).flatMap((b, a) => (b ? [a] : [])) : (sel as number[]);
        const sub = selectMajor(c, positions);
        const selectors = majorAxis === 0 ? [sel] : [null, sel];
        const Y = X.slice(...(selectors as Parameters<typeof X.slice>));
        const what = `case ${i}: ${c.format} ${c.dtype} chunk ${c.chunk} ${c.http ? "http" : "disk"}, lines [${positions.join(", ")}]`;
        const sums = reference(sub, false).perMinor;
        const stats = denseStats(sub);
        for (const kind of ["sum", "mean", "var", "max"] as const) {
          if (positions.length === 0 && kind === "max") continue; // no identity: refused as numpy does
          const q = Y[kind]({ axis: majorAxis });
          if (positions.length > 0 && sub.indices.length > 0) {
            assert.ok(![...q.graph.layers.keys()].some((k) => k.startsWith("sparse-read-")), `${what}: ${kind} read by chunk pair`);
          }
          const got = Array.from((await q.compute()).data as ArrayLike<number | bigint>, Number);
          const want =
            kind === "sum" ? sums : kind === "mean" ? sums.map((v) => v / positions.length) : stats.perMinor.map((st) => (kind === "var" ? st.var : st.max));
          const tol = kind === "max" ? 0 : c.dtype === "float32" ? 1e-5 : 1e-9;
          got.forEach((g, k) => assert.ok(close(g, want[k]!, tol), `${what}: ${kind} at ${k}: ${g} vs ${want[k]}`));
          checked++;
        }
      }
    }
    assert.ok(checked >= 150, `only ${checked} queries checked`);
  });

  it("a sum over the minor axis, or of a derived matrix, still reduces its blocks", () => {
    const c: Case = {
      format: "csr",
      rows: 3,
      cols: 2,
      dtype: "float32",
      indptr: Int32Array.of(0, 1, 2, 3),
      indices: [0, 1, 0],
      values: [1, 2, 3],
      chunk: 2,
      compressor: null,
      wide: false,
      http: false,
    };
    return open(dir, server, c).then(async (src) => {
      const X = SparseArray.fromSource(src);
      for (const q of [X.sum({ axis: 1 }), X.mul(2).sum({ axis: 0 }), X.any({ axis: 0 }), X.max({ axis: 1 })]) {
        assert.ok(
          [...q.graph.layers.keys()].some((k) => k.startsWith("sparse-read-")),
          q.name,
        );
      }
      assert.deepEqual(Array.from((await X.mul(2).sum({ axis: 0 }).compute()).data as Float32Array), [8, 4]);
    });
  });

  for (const [label, compressor, wide, http] of [
    ["blosc over HTTP, decoded in WebAssembly", { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1 }, false, true],
    ["blosc from disk", { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1 }, false, false],
    ["zlib over HTTP", { id: "zlib", level: 1 }, false, true],
    ["blosc over HTTP, int64 indices", { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1 }, true, true],
  ] as const) {
    it(`an index outside the minor axis is refused with the matrix, its URL and the position (${label})`, async () => {
      const c: Case = {
        format: "csr",
        rows: 4,
        cols: 3,
        dtype: "float32",
        indptr: Int32Array.of(0, 2, 3, 5, 6),
        indices: [0, 2, 1, 0, 1, 2],
        values: [1, 2, 3, 4, 5, 6],
        chunk: 4,
        compressor,
        wide,
        http,
      };
      const bad = wide ? 2 ** 40 : 3;
      const indices = [...c.indices];
      indices[4] = bad;
      const src = await open(dir, server, c, indices);
      for (const smallReadBytes of [0, undefined]) {
        const X = SparseArray.fromSource(src, smallReadBytes === undefined ? {} : { smallReadBytes });
        for (const q of [X.mean({ axis: 0 }), X.countNonzero()]) {
          await assert.rejects(
            q.compute(),
            (e: Error) => {
              const c = (e as { cause?: unknown }).cause ?? e;
              return (
                c instanceof SparseStructureError && c.path === "/X" && c.url === src.url && c.position === 4 && c.message.includes(`got ${bad} at position 4`)
              );
            },
            `${label}, smallReadBytes ${smallReadBytes}`,
          );
        }
      }
    });
  }
});
