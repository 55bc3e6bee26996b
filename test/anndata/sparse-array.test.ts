import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { SparseArray, SparseMatrix, readZarr, writeDispatched } from "@zask/anndata";
import { SparseArray as LazySparse, fromTypedArray, slice, type Array as LazyArray } from "@zask/array";
import { CSR, FIXTURES, expected, rawValues, serve, tempDir, type FixtureServer } from "./fixtures.ts";
import { Profiler } from "@zask/scheduler";
import { pythonJson, skipPython } from "./python.ts";

interface Want {
  shape: number[];
  values: (number | null)[];
}
const scipy = JSON.parse(await readFile(path.join(FIXTURES, "pbmc-like.csr.expected.json"), "utf8")) as Record<"X" | "counts", Record<string, Want>>;

/** Values equal to scipy's within float32 rounding (relative 1e-5), NaN as null. */
function close(got: ArrayLike<number | bigint>, want: Want, what: string): void {
  assert.equal(got.length, want.values.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const g = Number(got[i]);
    const w = want.values[i]!;
    if (w === null) assert.ok(Number.isNaN(g), `${what}[${i}]: expected NaN, got ${g}`);
    else assert.ok(Math.abs(g - w) <= 1e-5 * Math.max(1, Math.abs(w)), `${what}[${i}]: expected ${w}, got ${g}`);
  }
}

const names = ["X", "counts"] as const;
const open = async (name: (typeof names)[number], blockNnz?: number, smallReadBytes?: number): Promise<SparseArray> => {
  if (blockNnz === undefined && smallReadBytes === undefined) {
    const adata = await readZarr(CSR);
    return (name === "X" ? adata.X : adata.layers.counts) as SparseArray;
  }
  const zarr = await import("zarrita");
  const { FileSystemStore } = await import("@zarrita/storage");
  const root = zarr.root(new FileSystemStore(CSR));
  const group = await zarr.open(root.resolve(name === "X" ? "X" : "layers/counts"), { kind: "group" });
  return SparseArray.open(group, { ...(blockNnz === undefined ? {} : { blockNnz }), ...(smallReadBytes === undefined ? {} : { smallReadBytes }) });
};

describe("sparse reductions against scipy", () => {
  for (const name of names) {
    for (const blockNnz of [undefined, 300]) {
      it(`${name} (${name === "X" ? "CSR" : "CSC"}, ${blockNnz === undefined ? "one block" : "blocks of ~300 stored values"}): sum, mean, var, min, max and countNonzero over axis 0, 1 and all equal scipy's`, async () => {
        const m = await open(name, blockNnz);
        if (blockNnz !== undefined) assert.ok(m.numBlocks[m.format === "csr" ? 0 : 1]! > 3);
        for (const axis of [0, 1, undefined]) {
          const tag = axis === undefined ? "all" : String(axis);
          for (const kind of ["sum", "mean", "var", "min", "max", "countNonzero"] as const) {
            const got = await m[kind]({ axis }).compute();
            close(got.data as Float64Array, scipy[name][`${kind === "countNonzero" ? "count_nonzero" : kind}.${tag}`]!, `${name}.${kind}.${tag}`);
          }
          // negated, the implicit zeros are the maxima wherever a line is not full
          close((await m.neg().max({ axis }).compute()).data as Float32Array, scipy[name][`negmax.${tag}`]!, `${name}.negmax.${tag}`);
          close((await m.neg().min({ axis }).compute()).data as Float32Array, scipy[name][`negmin.${tag}`]!, `${name}.negmin.${tag}`);
        }
      });
    }
  }

  it("sums of float32 matrices come back float32, counts int64, means float32 accumulated in float64", async () => {
    const m = await open("X");
    assert.equal(m.sum({ axis: 0 }).dtype, "float32");
    assert.equal(m.countNonzero({ axis: 0 }).dtype, "int64");
    assert.equal(m.mean().dtype, "float32");
  });
});

describe("sparse selections and elementwise ops against scipy", () => {
  for (const name of names) {
    it(`${name}: column and row selections, zero-preserving ops and vector products stay sparse and equal scipy's`, async () => {
      const m = await open(name, 300);
      const cols = m.slice(null, [3, 1, 3, 59]);
      assert.ok(cols instanceof LazySparse);
      const taken = await cols.compute();
      assert.deepEqual(taken.shape, [97, 4]);
      close(taken.data as Float32Array, scipy[name].take_cols!, "take_cols");
      close((await m.slice(slice(10, 40)).mean({ axis: 0 }).compute()).data as Float32Array, scipy[name].rows_10_40_mean0!, "rows 10:40");
      close((await m.slice([50, 2, 2, 96]).sum({ axis: 1 }).compute()).data as Float32Array, scipy[name].rows_list_sum1!, "rows list");
      for (const [label, x] of [
        ["log1p_sum0", m.log1p().sum({ axis: 0 })],
        ["power2_sum0", m.pow(2).sum({ axis: 0 })],
        ["sqrt_mean1", m.sqrt().mean({ axis: 1 })],
        ["expm1_max1", (m as SparseArray).expm1().max({ axis: 1 })],
      ] as const) {
        assert.ok(!x.graph.layers.has(`sparse-todense`) && ![...x.graph.layers.keys()].some((k) => k.startsWith("sparse-todense")), `${label} stays sparse`);
        close((await x.compute()).data as Float32Array, scipy[name][label]!, label);
      }
      const rowvec = fromTypedArray(
        Float32Array.from({ length: 60 }, (_, i) => (i + 1) / 10),
        [60],
      );
      const byRow = m.mul(rowvec);
      assert.ok(byRow instanceof LazySparse);
      close((await byRow.compute()).data as Float32Array, scipy[name].mul_rowvec!, "mul rowvec");
      const colvec = fromTypedArray(
        Float32Array.from({ length: 97 }, (_, i) => (i + 1) / 7),
        [97, 1],
      );
      close((await m.mul(colvec).sum({ axis: 0 }).compute()).data as Float32Array, scipy[name].mul_colvec_sum0!, "mul colvec");
      close((await m.mul(2.5).var({ axis: 0 }).compute()).data as Float32Array, scipy[name].mul_scalar_var0!, "mul scalar");
    });
  }

  for (const name of names) {
    it(`${name}: a minor selection in order, alone and after major selections, is picked per chunk pair and equals scipy's, written from the picks on the main thread or gathered on the pool`, async () => {
      const csr = name === "X";
      const picked = [1, 3, 59];
      const queries: [string, (m: SparseArray) => LazyArray][] = csr
        ? [
            ["pick_minor", (m) => m.slice(null, picked)],
            ["pick_minor_major_range", (m) => m.slice(slice(10, 40), picked)],
            ["pick_minor_major_list", (m) => m.slice([50, 2, 2, 96], picked)],
          ]
        : [
            ["pick_minor", (m) => m.slice(picked)],
            ["pick_minor_major_range", (m) => m.slice(picked, slice(10, 40))],
            ["pick_minor_major_list", (m) => m.slice(picked, [40, 2, 2, 17])],
          ];
      for (const [blockNnz, smallReadBytes] of [
        [undefined, undefined],
        [300, undefined],
        [300, 0],
      ] as const) {
        const m = await open(name, blockNnz, smallReadBytes);
        for (const [label, q] of queries) {
          const what = `${name} ${label} (blockNnz ${blockNnz}, smallReadBytes ${smallReadBytes})`;
          const prof = new Profiler();
          const got = await q(m).compute({ callbacks: [prof] });
          assert.deepEqual(got.shape, scipy[name][label]!.shape, what);
          close(got.data as Float32Array, scipy[name][label]!, what);
          const ran = (re: RegExp): number => prof.tasks.filter((t) => re.test(t.key)).length;
          assert.ok(ran(/sparse-pick/) > 0, `${what}: picked per chunk pair`);
          // a small read's answer comes from its picks; the pool's blocks are gathered first
          assert.equal(ran(/^\["sparse-read/) === 0, smallReadBytes === undefined, `${what}: gathered blocks ${ran(/^\["sparse-read/)}`);
        }
      }
    });
  }

  it("adding a nonzero scalar densifies, and plan() counts the dense bytes it makes", async () => {
    const m = await open("X");
    const plus = m.add(1);
    assert.ok(!(plus instanceof LazySparse));
    const sum = await plus.sum({ dtype: "float64" }).compute();
    close(sum.data as Float64Array, scipy.X.add1_sum!, "add 1");
    assert.equal(plus.plan().densifiedBytes, 97 * 60 * 4);
    assert.equal(m.mul(2).plan().densifiedBytes, 0);
  });

  it("computeSparse returns the selection compressed, equal to the dense answer", async () => {
    const m = await open("X", 300);
    const part = m.slice(slice(5, 50), [0, 7, 8]);
    const s = await (part as LazySparse).computeSparse();
    assert.equal(s.format, "csr");
    assert.deepEqual(s.shape, [45, 3]);
    const dense = new SparseMatrix("csr", [45, 3], s.indptr, s.indices, s.data).toDense();
    assert.deepEqual(dense, (await part.compute()).data);
    const whole = await m.computeSparse();
    assert.ok(whole instanceof SparseMatrix);
    assert.equal(whole.nnz, scipy.X.nnz);
    assert.deepEqual(whole.toDense(), await rawValues(expected.counts.file, "float32"));
  });
});

describe("column selections read a chunk pair per task", () => {
  /** Python's dense X (float32, 97 × 60), columns `cols` of rows `rows`, in that order. */
  const denseX = async (rows: readonly number[], cols: readonly number[]): Promise<number[]> => {
    const all = await rawValues(expected.counts.file, "float32");
    return rows.flatMap((a) => cols.map((j) => all[a * 60 + j]!));
  };
  const allRows = Array.from({ length: 97 }, (_, a) => a);

  for (const blockNnz of [40, 300, 2 ** 20]) {
    it(`X (blocks of ~${blockNnz} stored values): column selections, with and without row selections, equal Python's dense X`, async () => {
      const m = await open("X", blockNnz, 0);
      for (const cols of [[7], [0, 1, 2, 59], Array.from({ length: 59 }, (_, j) => (j < 5 ? j : j + 1))]) {
        const x = m.slice(null, cols);
        // the pick tasks, not decoded chunks, feed the blocks
        assert.ok(
          [...x.graph.layers.keys()].some((k) => k.startsWith("sparse-pick-")),
          `[${cols.length} columns] picks`,
        );
        assert.deepEqual(Array.from((await x.compute()).data as Float32Array), await denseX(allRows, cols), `${cols.length} columns`);
      }
      const rows = [90, 3, 3, 41, 0, 96];
      const cols = [2, 10, 33];
      const picked = await m.slice(rows, cols).compute();
      assert.deepEqual(Array.from(picked.data as Float32Array), await denseX(rows, cols), "rows out of order and repeated");
      const part = await m.slice(slice(20, 60), cols).compute();
      assert.deepEqual(Array.from(part.data as Float32Array), await denseX(allRows.slice(20, 60), cols), "rows 20:60");
      const small = (await open("X", blockNnz)).slice(rows, cols);
      // a small read of these blosc chunks picks too, on the main thread, in WebAssembly memory
      assert.ok(
        [...small.graph.layers.keys()].some((k) => k.startsWith("sparse-pick-")),
        "the main-thread read picks",
      );
      const inline = await small.compute();
      assert.deepEqual(picked.data, inline.data, "the same answer as the main-thread read");
    });
  }

  it("a column selection of CSC (rows of the matrix) equals Python's dense layer", async () => {
    const m = await open("counts", 300, 0);
    const x = m.slice([0, 4, 80]);
    assert.ok([...x.graph.layers.keys()].some((k) => k.startsWith("sparse-pick-")));
    assert.deepEqual(
      Array.from((await x.compute()).data as Float32Array),
      await denseX(
        [0, 4, 80],
        Array.from({ length: 60 }, (_, j) => j),
      ),
    );
  });

  it("requests each data and indices chunk once, as plan() counts", async () => {
    const server = await serve(FIXTURES);
    try {
      const zarr = await import("zarrita");
      const { HttpStore } = await import("@zask/array");
      const group = await zarr.open(zarr.root(new HttpStore(`${server.url}/pbmc-like.csr.zarr`)).resolve("X"), { kind: "group" });
      const m = await SparseArray.open(group, { blockNnz: 40, smallReadBytes: 0 });
      for (const cols of [[7], Array.from({ length: 59 }, (_, j) => j + 1)]) {
        server.requests.length = 0;
        const x = m.slice(null, cols);
        const plan = x.plan();
        await x.compute();
        const parts = server.requests.filter((r) => /\/X\/(data|indices)\//.test(r));
        assert.equal(new Set(parts).size, parts.length, `a chunk requested twice: ${parts.join(" ")}`);
        assert.equal(parts.length, 46, "all of X: 23 + 23 chunks");
        assert.equal(plan.requests, parts.length, "plan() counts what the server saw");
      }
    } finally {
      await server.close();
    }
  });
});

describe("sparse blocks and reads", () => {
  let server: FixtureServer;
  before(async () => {
    server = await serve(FIXTURES);
  });
  after(() => server.close());

  it("blocks hold about blockNnz stored values each, cut from indptr and at chunk ends", async () => {
    for (const target of [300, 2 ** 20]) {
      const m = await open("X", target);
      const ip = m.indptr as Int32Array;
      const chunkOf = (p: number): number => Math.floor(p / 128); // data and indices chunks of 128
      let start = 0;
      for (const rows of m.chunks[0]!) {
        const lo = ip[start]!;
        const hi = ip[start + rows]!;
        const withoutLast = ip[start + rows - 1]! - lo;
        assert.ok(rows === 1 || withoutLast <= target, `a block of ${rows} rows holds ${hi - lo}`);
        // a block lies in one chunk, or is one row straddling two
        assert.ok(rows === 1 || hi === lo || chunkOf(lo) === chunkOf(hi - 1), `rows ${start}+${rows} span chunks ${chunkOf(lo)}-${chunkOf(hi - 1)}`);
        const next = start + rows;
        if (next < 97 && rows > 0 && ip[next + 1]! > ip[next]! && hi > lo) {
          const stays = chunkOf(ip[next]!) === chunkOf(lo) && chunkOf(ip[next + 1]! - 1) === chunkOf(lo) && ip[next + 1]! - lo <= target;
          assert.ok(!stays || rows === 1, `block at row ${start} ended although row ${next} fitted`);
        }
        start = next;
      }
    }
  });

  it("one compute requests each data and indices chunk at most once, as plan() counts, however many blocks share it", async () => {
    const adata = await readZarr(`${server.url}/pbmc-like.csr.zarr`);
    const X = adata.X as SparseArray;
    const queries: [string, () => LazyArray][] = [
      ["mean per gene", () => X.mean({ axis: 0 })],
      [
        "59 genes",
        () =>
          X.slice(
            null,
            Array.from({ length: 60 }, (_, i) => i !== 5),
          ),
      ],
      ["one gene", () => X.slice(null, [7])],
      ["rows 0:10", () => X.slice(slice(0, 10))],
    ];
    for (const [label, q] of queries) {
      server.requests.length = 0;
      const x = q();
      const plan = x.plan();
      await x.compute();
      const parts = server.requests.filter((r) => /\/X\/(data|indices)\//.test(r));
      assert.equal(new Set(parts).size, parts.length, `${label}: a chunk requested twice: ${parts.join(" ")}`);
      assert.equal(plan.requests, parts.length, `${label}: plan() counts what the server saw`);
    }
    // 2936 stored values in chunks of 128: all of X is 23 + 23 chunks, rows 0:10 far fewer
    server.requests.length = 0;
    await X.mean({ axis: 0 }).compute();
    assert.equal(server.requests.length, 46);
  });

  it("a read under smallReadBytes decodes, gathers and reduces on the main thread even when every cpu op may go to the pool", async () => {
    const zarr = await import("zarrita");
    const { FileSystemStore } = await import("@zarrita/storage");
    const group = await zarr.open(zarr.root(new FileSystemStore(CSR)).resolve("X"), { kind: "group" });
    // lanes of the decodes (a column selection decodes inside its chunk pair's pick, a mean per
    // gene inside its chunk pair's partial sum), and of the gathers with the per-block
    // reductions (not the combine steps after them); a small column selection's dense answer is
    // written from its picks by the final task, with no gathers
    const run = async (m: SparseArray, q: (m: SparseArray) => LazyArray): Promise<{ decodes: string[]; blocks: string[]; final: string[]; data: number[] }> => {
      const prof = new Profiler();
      const out = await q(m).compute({ inlineThreshold: 0, callbacks: [prof] });
      const lanes = (re: RegExp): string[] => [...new Set(prof.tasks.filter((t) => re.test(t.key)).map((t) => t.lane))];
      const blocks = lanes(/^\["sparse-read|-chunk-/);
      return { decodes: lanes(/from-zarr|sparse-pick|-chunk-/), blocks, final: lanes(/^sparse-final/), data: Array.from(out.data as ArrayLike<number>) };
    };
    const small = await SparseArray.open(group, { blockNnz: 300 });
    const large = await SparseArray.open(group, { blockNnz: 300, smallReadBytes: 0 });
    // with the lanes the small read gathers blocks on, and makes the answer from them on
    const queries: [string, (m: SparseArray) => LazyArray, string[], string[]][] = [
      // each chunk pair's partial sum is one task with its two fetches
      ["mean per gene", (m) => m.mean({ axis: 0 }), ["io+inline"], []],
      ["two genes", (m) => m.slice(null, [3, 7]), [], ["inline"]],
    ];
    for (const [label, q, gathered, final] of queries) {
      const a = await run(small, q);
      const b = await run(large, q);
      assert.ok(a.decodes.length > 0 && b.blocks.length > 0, label);
      assert.ok(!a.decodes.some((l) => l.includes("pool")), `${label}: the small read decoded on ${a.decodes.join(", ")}`);
      assert.deepEqual(a.blocks, gathered, `${label}: the small read gathered and reduced on ${a.blocks.join(", ")}`);
      assert.deepEqual(a.final, final, `${label}: the small read's answer made on ${a.final.join(", ")}`);
      assert.ok(
        b.decodes.every((l) => l.includes("pool")),
        `${label}: smallReadBytes 0 decoded on ${b.decodes.join(", ")}`,
      );
      assert.ok(
        b.blocks.every((l) => l.includes("pool")),
        `${label}: smallReadBytes 0 gathered and reduced on ${b.blocks.join(", ")}`,
      );
      assert.deepEqual(a.data, b.data, `${label}: same answer`);
    }
    await assert.rejects(SparseArray.open(group, { smallReadBytes: -1 }), RangeError);
  });

  it("blocks of a small blockNnz still read each chunk once", async () => {
    const m = await open("X", 50);
    assert.ok(m.numBlocks[0]! > 40);
    assert.equal(m.mean({ axis: 0 }).plan().requests, 46);
  });
});

describe("writing sparse matrices", () => {
  it("writeDispatched writes sparse X and layers with the chunks the callback asks for, and anndata 0.8 reads them back equal", {
    skip: skipPython,
  }, async () => {
    const adata = await readZarr(CSR);
    const { dir, cleanup } = await tempDir();
    try {
      const out = path.join(dir, "rechunked.zarr");
      await writeDispatched(out, "/", adata, (write, store, key, elem, options, { encodingType }) => {
        if (encodingType === "csr_matrix" && key === "/X") options = { ...options, chunks: [500] };
        if (encodingType === "csc_matrix") options = { ...options, chunks: [1000] };
        return write(store, key, elem, options);
      });
      const code = `
import json, sys, zarr, anndata, numpy as np
a = anndata.read_zarr(sys.argv[1])
g = zarr.open(sys.argv[1], mode="r")
print(json.dumps({
  "x": a.X.format, "counts": a.layers["counts"].format,
  "xchunks": [list(g["X"][p].chunks) for p in ("data", "indices", "indptr")],
  "cchunks": [list(g["layers/counts"][p].chunks) for p in ("data", "indices", "indptr")],
  "same": bool((a.X.toarray() == a.layers["counts"].toarray()).all()),
  "sum": float(a.X.sum(dtype=np.float64)),
}))`;
      const r = (await pythonJson(code, out)) as { x: string; counts: string; xchunks: number[][]; cchunks: number[][]; same: boolean; sum: number };
      assert.equal(r.x, "csr");
      assert.equal(r.counts, "csc");
      assert.deepEqual(r.xchunks, [[500], [500], [98]]);
      assert.deepEqual(r.cchunks, [[1000], [1000], [61]]);
      assert.ok(r.same);
      close([r.sum], { shape: [], values: scipy.X["sum.all"]!.values }, "sum");
    } finally {
      await cleanup();
    }
  });

  it("chunks that are not one length for the 1-d parts of a sparse element are refused, naming it", async () => {
    const adata = await readZarr(CSR);
    await assert.rejects(
      writeDispatched(new Map(), "/", adata, (write, store, key, elem, options, { encodingType }) =>
        write(store, key, elem, encodingType === "csr_matrix" ? { ...options, chunks: [97, 10] } : options),
      ),
      /Expected `chunks` of sparse element \/X to be one positive length/,
    );
  });
});
