// A lazy sparse matrix of more blocks than one window is written a window of blocks at a time.
// Against the whole matrix written at once: the same files byte for byte (a matrix read from a
// store, whose stored values are known), the same matrix to anndata (a derived one, whose chunks
// are guessed from its first window); and the window itself: the first block arrives before the
// other windows' chunks are read.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, readdir, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { FileSystemStore } from "@zarrita/storage";
import * as zarr from "zarrita";
import { SparseArray, SparseMatrix, readZarr, writeElem, type DatasetOptions, type WriteOptions } from "@zask/anndata";
import { DEFAULT_WINDOW_BLOCKS, slice, type SparseArray as LazySparse } from "@zask/array";
import { CSR, serve, tempDir, type FixtureServer } from "./fixtures.ts";
import { PYTHON, skipPython } from "./python.ts";
import { Rng } from "../helpers/random.ts";
import { typedArrayOf } from "../../packages/anndata/dist/ndarray.js";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL("./write_sparse_stream.py", import.meta.url));

let tmp: { dir: string; cleanup: () => Promise<void> };
let wide: string;
before(async () => {
  tmp = await tempDir();
  if (skipPython === false) wide = (await run(PYTHON, [SCRIPT, "generate", tmp.dir])).stdout.trim();
});
after(() => tmp.cleanup());

/** The sparse element at `element` of the store at `store`, lazily, in blocks of about `blockNnz` stored values. */
async function openLazy(store: string, element: string, blockNnz: number): Promise<SparseArray> {
  const group = await zarr.open(zarr.root(new FileSystemStore(store)).resolve(element), { kind: "group" });
  return SparseArray.open(group, { blockNnz });
}

/** Every file under `dir`, by path relative to it. */
async function files(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out.set(path.relative(dir, full), await readFile(full));
  }
  return out;
}

/** Write `m` as element `m` of a new store at `dir`. */
async function writeAt(dir: string, m: unknown, options: WriteOptions & DatasetOptions): Promise<void> {
  await writeElem(dir, "/", {}, { format: options.format });
  await writeElem(dir, "/m", m, options);
}

const majorBlocks = (m: { numBlocks: readonly number[]; format: string }): number => m.numBlocks[m.format === "csr" ? 0 : 1]!;

const CASES: { label: string; options: WriteOptions & DatasetOptions }[] = [
  { label: "v2, chunks guessed", options: {} },
  { label: "v2, chunks of 500", options: { chunks: [500] } },
  { label: "v2, one chunk", options: { chunks: [null] } },
  { label: "v2, zlib, chunks of 64", options: { chunks: [64], compressor: { id: "zlib", level: 3 } } },
  { label: "v3, chunks guessed", options: { format: 3 } },
  { label: "v3, chunks of 300 in shards of 900", options: { format: 3, chunks: [300], shards: [900] } },
  { label: "v3, chunks of 128, shards auto", options: { format: 3, chunks: [128], shards: "auto" } },
  { label: "v3, no compressor, chunks of 7000", options: { format: 3, chunks: [7000], compressor: null } },
  // single values: all-zero chunks (explicit zeros, index 0) are left out of their shards
  { label: "v3, chunks of 1 in shards of 16", options: { format: 3, chunks: [1], shards: [16] } },
];

describe("a lazy sparse matrix written a window of blocks at a time", () => {
  const sources = [
    { label: "CSR X (anndata 0.8)", store: () => CSR, element: "X" },
    { label: "CSC layer (anndata 0.8)", store: () => CSR, element: "layers/counts" },
    { label: "CSR, big-endian float64 with int64 indices and indptr", store: () => wide, element: "X", python: true },
  ];
  for (const src of sources) {
    it(`${src.label}: the same files as the whole matrix written at once`, { skip: src.python === true ? skipPython : false }, async () => {
      const lazy = await openLazy(src.store(), src.element, 40);
      assert.ok(majorBlocks(lazy) > 2 * DEFAULT_WINDOW_BLOCKS, `expected several windows, got ${majorBlocks(lazy)} blocks`);
      const whole = await lazy.computeSparse();
      for (const [k, c] of CASES.entries()) {
        const streamed = path.join(tmp.dir, `s-${src.label.length}-${k}.zarr`);
        const reference = path.join(tmp.dir, `r-${src.label.length}-${k}.zarr`);
        await writeAt(streamed, lazy, c.options);
        await writeAt(reference, whole, c.options);
        const [a, b] = await Promise.all([files(streamed), files(reference)]);
        assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${c.label}: the same files`);
        for (const [name, bytes] of b) assert.ok(a.get(name)!.equals(bytes), `${c.label}: ${name} differs`);
      }
    });
  }

  it("a derived matrix (rows selected, values scaled) reads back in anndata and zask as written whole", { skip: skipPython }, async () => {
    const pairs: { label: string; reference: string; written: string; element: string }[] = [];
    for (const [element, format] of [
      ["X", 2],
      ["layers/csc", 2],
      ["X", 3],
    ] as const) {
      const lazy = await openLazy(wide, element, 30);
      const rows = Array.from({ length: 300 }, (_, i) => i % 7 !== 3);
      const derived = (lazy.slice(rows) as LazySparse).mul(2) as LazySparse;
      assert.ok(majorBlocks(derived) > DEFAULT_WINDOW_BLOCKS, `${element}: expected several windows`);
      const whole = (await derived.computeSparse()) as unknown as { indptr: Int32Array; indices: Int32Array; data: Float64Array; shape: [number, number] };
      const m = new SparseMatrix(derived.format, whole.shape, whole.indptr, whole.indices, whole.data);
      const written = path.join(tmp.dir, `derived-${element.length}-${format}.zarr`);
      const reference = path.join(tmp.dir, `derived-ref-${element.length}-${format}.zarr`);
      await writeAt(written, derived, { format });
      await writeAt(reference, m, { format });
      // zarr-python 2 reads v2; zask reads back both
      if (format === 2) pairs.push({ label: `${element} v${format}`, reference, written, element: "m" });
      const got = await (await openLazy(written, "m", 30)).computeSparse();
      assert.deepEqual([...got.indptr].map(Number), [...m.indptr].map(Number), `${element}: indptr`);
      assert.deepEqual([...got.indices].map(Number), [...m.indices].map(Number), `${element}: indices`);
      assert.deepEqual(got.data, m.data, `${element}: data`);
    }
    const file = path.join(tmp.dir, "pairs.json");
    await writeFile(file, JSON.stringify(pairs));
    const results = JSON.parse((await run(PYTHON, [SCRIPT, "compare", file])).stdout) as { label: string; problems: string[] }[];
    assert.deepEqual(
      results.filter((r) => r.problems.length > 0),
      [],
    );
    assert.equal(results.length, pairs.length);
  });
});

describe("random sparse matrices, streamed and written whole", () => {
  const DTYPES = ["float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"] as const;

  /** A random matrix: empty lines, explicit zeros and duplicates-free sorted indices of a random dtype. */
  function randomMatrix(r: Rng): SparseMatrix {
    const format = r.pick(["csr", "csc"] as const);
    const shape: [number, number] = [r.int(0, 70), r.int(0, 40)];
    const [major, minor] = format === "csr" ? shape : [shape[1], shape[0]];
    const density = r.pick([0, 0.02, 0.2, 0.7, 1]);
    const indptr = new Int32Array(major + 1);
    const idx: number[] = [];
    for (let a = 0; a < major; a++) {
      if (!r.chance(0.15)) for (let j = 0; j < minor; j++) if (r.chance(density)) idx.push(j);
      indptr[a + 1] = idx.length;
    }
    const dtype = r.pick(DTYPES);
    const data = new (typedArrayOf(dtype))(idx.length);
    const big = data instanceof BigInt64Array || data instanceof BigUint64Array;
    for (let i = 0; i < idx.length; i++) {
      // explicit zeros now and then, stored as values
      const v = r.chance(0.1) ? 0 : dtype === "bool" ? 1 : dtype.startsWith("float") ? (r.next() - 0.5) * 1e6 : r.int(1, 100);
      (data as unknown as (number | bigint)[])[i] = big ? BigInt(v) : v;
    }
    const wide = r.chance(0.3);
    const indices = wide ? BigInt64Array.from(idx, (j) => BigInt(j)) : Int32Array.from(idx);
    return new SparseMatrix(format, shape, wide ? BigInt64Array.from(indptr, (v) => BigInt(v)) : indptr, indices, data, dtype);
  }

  function randomOptions(r: Rng): WriteOptions & DatasetOptions {
    const format = r.pick([2, 3] as const);
    const chunk = r.pick([undefined, null, 1, 3, 16, 50, 1000]);
    const compressor = r.pick([
      undefined,
      null,
      { id: "zlib" as const, level: 1 },
      { id: "blosc" as const, cname: "zstd" as const, clevel: 3, shuffle: 2 as const },
    ]);
    const shards =
      format === 3 && typeof chunk === "number"
        ? r.pick([undefined, "auto" as const, [chunk * r.int(1, 4)]])
        : format === 3 && chunk === undefined
          ? r.pick([undefined, "auto" as const])
          : undefined;
    return {
      format,
      ...(chunk === undefined ? {} : { chunks: [chunk] }),
      ...(compressor === undefined ? {} : { compressor }),
      ...(shards === undefined ? {} : { shards }),
    };
  }

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: 12 matrices read back lazily in small blocks write the same files streamed as whole`, async () => {
      const r = new Rng(seed);
      let streamed = 0;
      for (let k = 0; k < 12; k++) {
        const m = randomMatrix(r);
        const label = `seed ${seed} case ${k}: ${m.format} ${m.dtype} [${m.shape.join(", ")}] nnz ${m.nnz}`;
        const source = path.join(tmp.dir, `rand-${seed}-${k}.zarr`);
        await writeAt(source, m, { format: r.pick([2, 3] as const), chunks: [r.pick([1, 7, 64])] });
        const lazy = await openLazy(source, "m", r.int(1, 12));
        if (majorBlocks(lazy) > DEFAULT_WINDOW_BLOCKS) streamed++;
        const options = randomOptions(r);
        const a = path.join(tmp.dir, `rand-${seed}-${k}-streamed.zarr`);
        const b = path.join(tmp.dir, `rand-${seed}-${k}-whole.zarr`);
        await writeAt(a, lazy, options);
        await writeAt(b, await lazy.computeSparse(), options);
        const [fa, fb] = await Promise.all([files(a), files(b)]);
        assert.deepEqual([...fa.keys()].sort(), [...fb.keys()].sort(), `${label}, ${JSON.stringify(options)}: the same files`);
        for (const [name, bytes] of fb) assert.ok(fa.get(name)!.equals(bytes), `${label}, ${JSON.stringify(options)}: ${name} differs`);
        // and what was written is the matrix
        const back = await (await openLazy(a, "m", 1000)).computeSparse();
        assert.deepEqual([...back.indptr].map(Number), [...m.indptr].map(Number), `${label}: indptr`);
        assert.deepEqual([...back.indices].map(Number), [...m.indices].map(Number), `${label}: indices`);
        assert.deepEqual(back.data, m.data, `${label}: data`);
        assert.equal(back.dtype, m.dtype, `${label}: dtype`);
      }
      assert.ok(streamed >= 4, `expected several streamed writes, got ${streamed}`);
    });
  }
});

describe("computeBlocks", () => {
  let server: FixtureServer;
  before(async () => {
    server = await serve(path.dirname(CSR));
  });
  after(() => server.close());

  it("yields the blocks in major order, the first before the other windows' chunks are read", async () => {
    const adata = await readZarr(`${server.url}/${path.basename(CSR)}`);
    const group = await zarr.open(zarr.root(new FileSystemStore(CSR)).resolve("X"), { kind: "group" });
    const local = await SparseArray.open(group, { blockNnz: 40 });
    const whole = await local.computeSparse();
    // the same matrix over HTTP, in the same blocks
    const X = adata.X as SparseArray;
    const remote = await SparseArray.open(
      await zarr.open(zarr.root(new zarr.FetchStore(`${server.url}/${path.basename(CSR)}`)).resolve("X"), { kind: "group" }),
      { blockNnz: 40 },
    );
    assert.ok(X.nnz === whole.data.length);
    const chunkRequests = (): number => server.requests.filter((p) => /\/X\/(data|indices)\/\d+$/.test(p)).length;
    const before = chunkRequests();
    let first: number | undefined;
    let rows = 0;
    let at = 0;
    for await (const b of remote.computeBlocks({ windowBlocks: 3 })) {
      first ??= chunkRequests() - before;
      const n = b.indptr[b.indptr.length - 1]!;
      assert.deepEqual([...b.indices.subarray(0, n)].map(Number), [...whole.indices.subarray(at, at + n)].map(Number), `block at row ${rows}`);
      rows += b.shape[0];
      at += n;
    }
    assert.equal(rows, whole.shape[0]);
    assert.equal(at, whole.data.length);
    const all = chunkRequests() - before;
    // 2936 values in chunks of 128: 23 chunks each of data and indices
    assert.ok(all >= 46, `every chunk read, got ${all} requests`);
    assert.ok(first! > 0 && first! <= 8, `the first window reads its own few chunks, got ${first} of ${all}`);
  });

  it("a chunk that fails in a later window rejects the iteration, naming it; stopping early cancels the window being read", async () => {
    const failing = await serve(path.dirname(CSR));
    const rejections: unknown[] = [];
    const onRejection = (e: unknown): void => {
      rejections.push(e);
    };
    process.on("unhandledRejection", onRejection);
    try {
      const open = async (): Promise<SparseArray> =>
        SparseArray.open(await zarr.open(zarr.root(new zarr.FetchStore(`${failing.url}/${path.basename(CSR)}`)).resolve("X"), { kind: "group" }), {
          blockNnz: 40,
        });
      // the last data chunk fails: the first windows are yielded, then the error
      failing.fail.add(`/${path.basename(CSR)}/X/data/22`);
      let blocks = 0;
      await assert.rejects(
        (async () => {
          for await (const _ of (await open()).computeBlocks({ windowBlocks: 4, retries: 0 })) blocks++;
        })(),
        (e: unknown) => /X\/data\/22/.test(String(e)) && /500/.test(String(e)),
      );
      assert.ok(blocks > 0, "blocks before the failing window were yielded");
      // a caller that stops at the first block while the next window is being read
      failing.fail.clear();
      for await (const _ of (await open()).computeBlocks({ windowBlocks: 4 })) break;
      await new Promise((r) => setTimeout(r, 200));
      // the window being read is cancelled: its rejection is expected, not unhandled
      assert.deepEqual(rejections, []);
    } finally {
      process.off("unhandledRejection", onRejection);
      await failing.close();
    }
  });

  it("refuses a window that is not a positive integer", async () => {
    const X = await openLazy(CSR, "X", 40);
    for (const windowBlocks of [0, 1.5, -2, Number.NaN]) {
      await assert.rejects(X.computeBlocks({ windowBlocks }).next(), { name: "RangeError", message: /windowBlocks/ });
    }
  });

  it("rows 0:10 of a matrix stream as their own blocks", async () => {
    const X = await openLazy(CSR, "X", 40);
    const part = X.slice(slice(0, 10)) as LazySparse;
    const want = await part.computeSparse();
    const got: number[] = [];
    for await (const b of part.computeBlocks({ windowBlocks: 1 })) got.push(...Array.from(b.data.subarray(0, b.indptr[b.indptr.length - 1]!), Number));
    assert.deepEqual(got, Array.from(want.data, Number));
  });
});
