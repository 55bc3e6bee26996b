import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SparseArray, SparseStructureError, fromTypedArray, fromZarr, slice, type SparseSource } from "@zask/array";
import { cull, fuse } from "@zask/graph";

/** A 6 × 5 CSR matrix whose rows straddle the 4-value chunks of data and indices. */
function source(indicesOverride?: Int32Array | Int16Array | Uint32Array): { src: SparseSource; dense: Float64Array } {
  const rows = [
    [[0, 1]],
    [
      [1, 2],
      [3, 3],
      [4, 4],
    ],
    [],
    [
      [0, 5],
      [2, 6],
      [3, 7],
      [4, 8],
    ],
    [[2, 9]],
    [
      [1, 10],
      [4, 11],
    ],
  ];
  const indptr = [0];
  const indices: number[] = [];
  const data: number[] = [];
  const dense = new Float64Array(30);
  rows.forEach((r, a) => {
    for (const [j, v] of r) {
      indices.push(j!);
      data.push(v!);
      dense[a * 5 + j!] = v!;
    }
    indptr.push(indices.length);
  });
  const idx = indicesOverride ?? Int32Array.from(indices);
  return {
    src: {
      format: "csr",
      shape: [6, 5],
      indptr: Int32Array.from(indptr),
      data: fromTypedArray(Float64Array.from(data), [data.length], { chunks: [4] }),
      indices: fromTypedArray(idx, [idx.length], { chunks: [4] }),
      path: "/X",
      url: "memory://x",
    },
    dense,
  };
}

/** The indices of {@link source} with position 7 outside the 5 columns, in several integer types. */
const BAD_INDICES = [
  ["int32 9", Int32Array.of(0, 2, 3, 4, 0, 2, 3, 9, 2, 1, 4)],
  ["int32 -1", Int32Array.of(0, 2, 3, 4, 0, 2, 3, -1, 2, 1, 4)],
  ["int16 5", Int16Array.of(0, 2, 3, 4, 0, 2, 3, 5, 2, 1, 4)],
  ["uint32 2^32-1", Uint32Array.of(0, 2, 3, 4, 0, 2, 3, 2 ** 32 - 1, 2, 1, 4)],
] as const;

describe("SparseArray", () => {
  for (const blockNnz of [1, 3, 100]) {
    it(`blocks of ~${blockNnz} stored values over chunks of 4 give the dense values, sums and selections (threads and sync)`, async () => {
      const { src, dense } = source();
      const X = SparseArray.fromSource(src, { blockNnz });
      for (const scheduler of ["threads", "sync"] as const) {
        assert.deepEqual((await X.compute({ scheduler })).data, dense);
        const sums = (await X.sum({ axis: 0 }).compute({ scheduler })).data as Float64Array;
        assert.deepEqual(
          Array.from(sums),
          [0, 1, 2, 3, 4].map((j) => [0, 1, 2, 3, 4, 5].reduce((s, a) => s + dense[a * 5 + j]!, 0)),
        );
        const part = await X.slice(slice(1, 6, 2), [4, 0]).compute({ scheduler });
        assert.deepEqual(Array.from(part.data as Float64Array), [4, 0, 8, 5, 11, 0]);
        const s = await (X.slice([5, 3]) as SparseArray).computeSparse({ scheduler });
        assert.deepEqual([...s.indptr], [0, 2, 6]);
        assert.deepEqual([...s.indices], [1, 4, 0, 2, 3, 4]);
      }
    });
  }

  it("a stored index outside the minor axis is a SparseStructureError naming the matrix, the URL and the position", async () => {
    const { src } = source(Int32Array.of(0, 2, 3, 4, 0, 2, 3, 9, 2, 1, 4));
    const X = SparseArray.fromSource(src, { blockNnz: 100 });
    await assert.rejects(X.sum().compute({ scheduler: "sync" }), (e: Error) => {
      const c = (e as { cause?: unknown }).cause;
      assert.ok(c instanceof SparseStructureError, String(e));
      assert.equal(c.path, "/X");
      assert.equal(c.url, "memory://x");
      assert.equal(c.position, 7);
      return true;
    });
  });

  it("a matrix whose data is shorter than indptr says is refused when made, before any read", () => {
    const { src } = source();
    const shortData = fromTypedArray(
      Float64Array.from({ length: 10 }, (_, i) => i + 1),
      [10],
      { chunks: [4] },
    );
    const shortIndices = fromTypedArray(Int32Array.of(0, 2, 3, 4, 0, 2, 3, 4, 2, 1), [10], { chunks: [4] });
    assert.throws(
      () => SparseArray.fromSource({ ...src, data: shortData }),
      (e: Error) => e instanceof SparseStructureError && /expected 1-d data and indices of equal length, got shapes \[10\] and \[11\]/.test(e.message),
    );
    assert.throws(
      () => SparseArray.fromSource({ ...src, data: shortData, indices: shortIndices }),
      (e: Error) => e instanceof SparseStructureError && e.position === 6 && /expected indptr to end at the 10 stored values, got 11/.test(e.message),
    );
  });

  it("a bad indptr is a SparseStructureError naming the matrix, the URL and the indptr position, for CSR and CSC", () => {
    const { src } = source();
    // [0, 1, 4, 4, 8, 9, 11] is the good one: 6 rows over 11 stored values
    const cases: [string, ArrayLike<number>, number, RegExp][] = [
      ["decreasing", [0, 1, 4, 3, 8, 9, 11], 3, /non-decreasing, got 3 after 4 at position 3/],
      ["not from 0", [1, 1, 4, 4, 8, 9, 11], 0, /start at 0, got 1/],
      ["one short", [0, 1, 4, 4, 8, 11], 6, /expected 7 values in indptr, got 6/],
      ["one too many", [0, 1, 4, 4, 8, 9, 11, 11], 7, /expected 7 values in indptr, got 8/],
      ["short of nnz", [0, 1, 4, 4, 8, 9, 10], 6, /end at the 11 stored values, got 10/],
      ["NaN", [0, 1, Number.NaN, 4, 8, 9, 11], 2, /non-decreasing, got NaN/],
      ["fractional", [0, 1, 4, 4.5, 8, 9, 11], 3, /expected integers in indptr, got 4.5 at position 3/],
    ];
    for (const [what, indptr, position, message] of cases) {
      for (const format of ["csr", "csc"] as const) {
        const shape: [number, number] = format === "csr" ? [6, 5] : [5, 6];
        assert.throws(
          () => SparseArray.fromSource({ ...src, format, shape, indptr: Float64Array.from(indptr) }),
          (e: Error) => {
            assert.ok(e instanceof SparseStructureError, `${what} ${format}: ${String(e)}`);
            assert.equal(e.path, "/X");
            assert.equal(e.url, "memory://x");
            assert.equal(e.position, position, `${what} ${format}`);
            assert.match(e.message, message);
            return true;
          },
        );
      }
    }
    assert.throws(() => SparseArray.fromSource({ ...src, shape: [6, -1] }), /expected a shape of two non-negative integers, got \[6, -1\]/);
    assert.throws(() => SparseArray.fromSource({ ...src, shape: [6.5, 5] }), SparseStructureError);
    const floatIndices = fromTypedArray(Float64Array.of(0, 2, 3, 4, 0, 2, 3, 4, 2, 1, 4), [11], { chunks: [4] });
    assert.throws(() => SparseArray.fromSource({ ...src, indices: floatIndices }), /expected integer indices, got float64/);
  });

  it("column selections of every block size equal the dense columns, picked through chunk ends", async () => {
    const { src, dense } = source();
    for (const blockNnz of [1, 2, 5, 100]) {
      const X = SparseArray.fromSource(src, { blockNnz });
      for (const cols of [[0], [4], [1, 3], [0, 1, 2, 3, 4], []]) {
        const got = await X.slice(null, cols).compute();
        const want = [0, 1, 2, 3, 4, 5].flatMap((a) => cols.map((j) => dense[a * 5 + j]!));
        assert.deepEqual(Array.from(got.data as Float64Array), want, `blockNnz ${blockNnz} [${cols}]`);
      }
    }
  });

  it("a column selection checks every stored index, whatever its integer type, and names the first one outside the minor axis", async () => {
    for (const [what, bad] of BAD_INDICES) {
      for (const blockNnz of [1, 100]) {
        const X = SparseArray.fromSource(source(bad).src, { blockNnz });
        // column 0 is not stored at position 7: the check must not depend on what is picked
        await assert.rejects(X.slice(null, [0]).compute({ scheduler: "sync" }), (e: Error) => {
          const c = (e as { cause?: unknown }).cause ?? e;
          assert.ok(c instanceof SparseStructureError, `${what}, blockNnz ${blockNnz}: ${String(e)}`);
          assert.equal(c.position, 7, what);
          return true;
        });
      }
    }
  });

  it("column selections over int16 and uint32 indices equal the dense columns", async () => {
    const { src: int32, dense } = source();
    const stored = Array.from((await int32.indices.compute()).data as Int32Array);
    for (const idx of [Int16Array.from(stored), Uint32Array.from(stored)]) {
      const { src, dense: want } = source(idx);
      assert.deepEqual(want, dense);
      const X = SparseArray.fromSource(src, { blockNnz: 3 });
      const got = await X.slice(null, [1, 4]).compute();
      assert.deepEqual(
        Array.from(got.data as Float64Array),
        [0, 1, 2, 3, 4, 5].flatMap((a) => [1, 4].map((j) => dense[a * 5 + j]!)),
        idx.constructor.name,
      );
    }
  });

  it("plan() counts the dense bytes of the blocks an op that does not keep zeros densifies", () => {
    const { src } = source();
    const X = SparseArray.fromSource(src, { blockNnz: 3 });
    assert.equal(X.add(1).plan().densifiedBytes, 6 * 5 * 8);
    assert.equal(X.add(1).slice(slice(0, 1)).plan().densifiedBytes, X.chunks[0]![0]! * 5 * 8, "only the blocks the selection keeps");
    assert.equal(X.log1p().plan().densifiedBytes, 0);
  });
});

describe("SparseArray column selections over many stored values", () => {
  it("a column selection that keeps thousands of values across chunks equals the dense selection", async () => {
    // 400 × 300, about a third stored, in data/indices chunks of 9973 values: rows straddle
    // chunks, and each block keeps thousands of values (more than the gather's first buffer)
    const m = 400;
    const n = 300;
    const dense = new Float64Array(m * n);
    const indptr = [0];
    const indices: number[] = [];
    const data: number[] = [];
    for (let a = 0; a < m; a++) {
      for (let j = 0; j < n; j++) {
        if ((a * 7 + j * 13) % 3 !== 0) continue;
        const v = a * 1000 + j + 0.5;
        indices.push(j);
        data.push(v);
        dense[a * n + j] = v;
      }
      indptr.push(indices.length);
    }
    const X = SparseArray.fromSource(
      {
        format: "csr",
        shape: [m, n],
        indptr: Int32Array.from(indptr),
        data: fromTypedArray(Float64Array.from(data), [data.length], { chunks: [9973] }),
        indices: fromTypedArray(Int32Array.from(indices), [indices.length], { chunks: [9973] }),
        path: "/X",
        url: "memory://x",
      },
      { blockNnz: 20_000 },
    );
    const cols = Array.from({ length: 150 }, (_, k) => 2 * k + 1);
    for (const scheduler of ["threads", "sync"] as const) {
      const got = await X.slice(null, cols).compute({ scheduler });
      const want = new Float64Array(m * cols.length);
      for (let a = 0; a < m; a++) cols.forEach((j, k) => (want[a * cols.length + k] = dense[a * n + j]!));
      assert.deepEqual(got.data, want, scheduler);
    }
  });
});

describe("SparseArray column selections through zarr chunks on the pool", () => {
  /** The 6 × 5 matrix of {@link source} with `data` and `indices` written as zarr arrays in chunks of 4 and read back lazily. */
  async function zarrSource(
    dir: string,
    indices?: Int32Array | Int16Array | Uint32Array | BigInt64Array | BigUint64Array,
    data?: Float64Array,
    sharded = false,
  ): Promise<{ src: SparseSource; dense: Float64Array }> {
    const { src, dense } = source();
    const d = data ?? ((await src.data.compute()).data as Float64Array);
    const x = indices ?? ((await src.indices.compute()).data as Int32Array);
    const root = await mkdtemp(join(dir, "csr-"));
    // sharded: zarr v3 shards of two inner chunks, as anndata 0.13 writes by default
    const format = sharded ? ({ format: 3, shards: [8] } as const) : {};
    await fromTypedArray(d, [d.length], { chunks: [4] }).toZarr(join(root, "data"), format);
    await fromTypedArray(x, [x.length], { chunks: [4] }).toZarr(join(root, "indices"), format);
    return { src: { ...src, data: await fromZarr(join(root, "data")), indices: await fromZarr(join(root, "indices")), url: root }, dense };
  }
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zask-sparse-pick-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const sharded of [false, true]) {
    it(`column selections of every block size, and with rows in any order, equal the dense columns${sharded ? " (sharded zarr v3)" : ""}`, async () => {
      const { src, dense } = await zarrSource(dir, undefined, undefined, sharded);
      if (sharded) assert.deepEqual(src.data.shards, [8]);
      for (const blockNnz of [1, 3, 100]) {
        const X = SparseArray.fromSource(src, { blockNnz, smallReadBytes: 0 });
        for (const cols of [[0], [4], [1, 3], [0, 1, 2, 3, 4], []]) {
          const x = X.slice(null, cols);
          assert.ok(
            [...x.graph.layers.keys()].some((k) => k.startsWith("sparse-pick-")),
            "read by chunk-pair picks",
          );
          const want = [0, 1, 2, 3, 4, 5].flatMap((a) => cols.map((j) => dense[a * 5 + j]!));
          assert.deepEqual(Array.from((await x.compute()).data as Float64Array), want, `blockNnz ${blockNnz} [${cols}]`);
        }
        // each pick fuses with its two fetches, so the pool's staging bounds the fetched bytes waiting for it
        const picked = X.slice(null, [1, 3]);
        assert.ok([...picked.graph.layers.keys()].some((k) => k.startsWith("fetch-")));
        const fused = fuse(cull(picked.graph, picked.keys()), picked.keys());
        assert.ok(![...fused.layers.keys()].some((k) => k.startsWith("fetch-")), `fetches left unfused: ${[...fused.layers.keys()].join(", ")}`);
        const rows = [5, 1, 1, 3, 2];
        const got = await X.slice(rows, [1, 4]).compute();
        assert.deepEqual(
          Array.from(got.data as Float64Array),
          rows.flatMap((a) => [1, 4].map((j) => dense[a * 5 + j]!)),
          `blockNnz ${blockNnz} rows [${rows}]`,
        );
        const s = await (X.slice([5, 3], [0, 2, 4]) as SparseArray).computeSparse();
        assert.deepEqual([...s.indptr], [0, 1, 4]);
        assert.deepEqual([...s.indices], [2, 0, 1, 2]);
        assert.deepEqual([...s.data], [11, 5, 6, 8]);
        // a small read of these blosc chunks (v2, v3 or shards' inner chunks) picks on the main thread
        const small = SparseArray.fromSource(src, { blockNnz }).slice(null, [1, 4]);
        assert.ok(
          [...small.graph.layers.keys()].some((k) => k.startsWith("sparse-pick-")),
          "the small read picks",
        );
        assert.deepEqual(
          Array.from((await small.compute()).data as Float64Array),
          [0, 1, 2, 3, 4, 5].flatMap((a) => [1, 4].map((j) => dense[a * 5 + j]!)),
          `small read, blockNnz ${blockNnz}`,
        );
      }
    });
  }

  it("every stored index a picked chunk range holds is checked, whatever its integer type, and the first bad one named", async () => {
    const wide = (v: bigint) => BigInt64Array.of(0n, 2n, 3n, 4n, 0n, 2n, 3n, v, 2n, 1n, 4n);
    for (const [what, bad] of [
      ...BAD_INDICES,
      ["int64 2^40", wide(2n ** 40n)],
      ["int64 2^32", wide(2n ** 32n)],
      ["int64 -1", wide(-1n)],
      ["int64 -2^31-1", wide(-(2n ** 31n) - 1n)],
      ["uint64 2^63", BigUint64Array.of(0n, 2n, 3n, 4n, 0n, 2n, 3n, 2n ** 63n, 2n, 1n, 4n)],
    ] as const) {
      const { src } = await zarrSource(dir, bad);
      // the pool's picks, a small read's picks, and the gather a reduction reads
      for (const [how, options, query] of [
        ["picked on the pool, blockNnz 1", { blockNnz: 1, smallReadBytes: 0 }, (X: SparseArray) => X.slice(null, [0])],
        ["picked on the pool, blockNnz 100", { blockNnz: 100, smallReadBytes: 0 }, (X: SparseArray) => X.slice(null, [0])],
        ["picked on the main thread", {}, (X: SparseArray) => X.slice(null, [0])],
        ["gathered", {}, (X: SparseArray) => X.sum({ axis: 0 })],
      ] as const) {
        const X = SparseArray.fromSource(src, options);
        // column 0 is not stored at position 7: the check must not depend on what is picked
        await assert.rejects(query(X).compute(), (e: Error) => {
          const c = (e as { cause?: unknown }).cause ?? e;
          assert.ok(c instanceof SparseStructureError, `${what}, ${how}: ${String(e)}`);
          assert.equal(c.position, 7, `${what}, ${how}`);
          assert.equal(c.url, src.url, `${what}, ${how}`);
          // the index as stored, not as read
          const stored = String(bad[7]);
          assert.ok(c.message.includes(`got ${stored} at position 7`), `${what}, ${how}: ${c.message}`);
          return true;
        });
      }
    }
  });

  it("int64 and uint64 indices give the values int32 ones give: picked on the pool and on the main thread, gathered and reduced", async () => {
    const { src, dense } = await zarrSource(dir);
    const narrow = (await src.indices.compute()).data as Int32Array;
    for (const wide of [BigInt64Array.from(narrow, (j) => BigInt(j)), BigUint64Array.from(narrow, (j) => BigInt(j))]) {
      const { src: w } = await zarrSource(dir, wide);
      assert.equal(w.indices.dtype, wide instanceof BigInt64Array ? "int64" : "uint64");
      for (const options of [{ blockNnz: 1, smallReadBytes: 0 }, { blockNnz: 100, smallReadBytes: 0 }, {}, { blockNnz: 3 }]) {
        const X = SparseArray.fromSource(w, options);
        const what: string = `${w.indices.dtype} ${JSON.stringify(options)}`;
        const cols = X.slice(null, [1, 3, 4]);
        assert.ok(
          [...cols.graph.layers.keys()].some((k) => k.startsWith("sparse-pick-")),
          `${what}: picked`,
        );
        const want = [0, 1, 2, 3, 4, 5].flatMap((a) => [1, 3, 4].map((j) => dense[a * 5 + j]!));
        assert.deepEqual(Array.from((await cols.compute()).data as Float64Array), want, what);
        const rows = [5, 1, 1, 3];
        assert.deepEqual(
          Array.from((await X.slice(rows, [0, 4]).compute()).data as Float64Array),
          rows.flatMap((a) => [0, 4].map((j) => dense[a * 5 + j]!)),
          `${what}: rows [${rows}]`,
        );
        const rowSums = [0, 1, 2, 3, 4, 5].map((a) => [0, 1, 2, 3, 4].reduce((t, j) => t + dense[a * 5 + j]!, 0));
        const perRow = X.sum({ axis: 1 });
        // the gather reads the indices decoded to int32 by the read's own layer, which fetches
        // what the int32 store's read fetches
        assert.ok(
          [...perRow.graph.layers.keys()].some((k) => k.startsWith("narrowed-")),
          `${what}: indices decoded to int32`,
        );
        assert.equal(perRow.plan().requests, SparseArray.fromSource(src, options).sum({ axis: 1 }).plan().requests, `${what}: plan`);
        assert.deepEqual(Array.from((await perRow.compute()).data as Float64Array), rowSums, `${what}: sum per row`);
        // a sum per column adds each chunk pair's values, its indices narrowed inside the pair's task
        const sums = [0, 1, 2, 3, 4].map((j) => [0, 1, 2, 3, 4, 5].reduce((t, a) => t + dense[a * 5 + j]!, 0));
        const sum = X.sum({ axis: 0 });
        assert.ok(![...sum.graph.layers.keys()].some((k) => k.startsWith("sparse-read-")), `${what}: no blocks gathered`);
        assert.equal(sum.plan().requests, SparseArray.fromSource(src, options).sum({ axis: 0 }).plan().requests, `${what}: plan per column`);
        assert.deepEqual(Array.from((await sum.compute()).data as Float64Array), sums, `${what}: sum over rows`);
        assert.deepEqual(Array.from((await X.compute()).data as Float64Array), Array.from(dense), `${what}: all of it`);
      }
    }
  });

  it("a zarr data array shorter than indptr says is refused when the matrix is made, naming it", async () => {
    const { src } = await zarrSource(
      dir,
      undefined,
      Float64Array.from({ length: 10 }, (_, i) => i + 1),
    );
    assert.throws(
      () => SparseArray.fromSource(src, { smallReadBytes: 0 }),
      (e: Error) => e instanceof SparseStructureError && e.path === src.path && /got shapes \[10\] and \[11\]/.test(e.message),
    );
  });
});
