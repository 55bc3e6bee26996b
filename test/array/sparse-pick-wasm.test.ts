// The pick of a sparse chunk pair decoded in WebAssembly memory (sparsePickChunk's fast path):
// against a plain JS pick of the same values, on chunks numcodecs encodes here with every codec
// the path takes and one it leaves to numcodecs (zstd), for values of every item size, and on bad
// chunks and indices; and the JS pick of int64 and uint64 indices.
import assert from "node:assert/strict";
import { test } from "node:test";
import Blosc from "numcodecs/blosc";
// Built modules throughout: the ops throw the error classes of dist.
import { ChunkDecodeError, SparseStructureError } from "@zask/array";
import { minorMap, sparsePickChunk, type SparsePickLayout } from "@zask/array/ops";
import { decodeBloscInWasm, decodeBloscSync, MAX_WASM_DECODE_BYTES } from "../../packages/array/dist/codecs/blosc-decode.js";
import { wasmKernels } from "../../packages/array/dist/codecs/blosc-kernels.js";
import { prng } from "./helpers.ts";

const MINOR = 300;
const LEN = 5000;
const TOTAL = 3 * LEN - 700; // the last chunk is an edge chunk

/** Stored indices of rows of ~10% density (sorted within a row) and their values. */
function matrix(seed: number): { indices: Int32Array; data: Float32Array } {
  const rand = prng(seed);
  const indices = new Int32Array(TOTAL);
  let k = 0;
  while (k < TOTAL) for (let j = 0; j < MINOR && k < TOTAL; j++) if (rand() < 0.1) indices[k++] = j;
  const data = Float32Array.from({ length: TOTAL }, () => Math.round(rand() * 1000) / 8);
  return { indices, data };
}

type Compressor = { cname: string; clevel: number; shuffle: number };

/** The index types the pick reads in WebAssembly, with their zarr dtypes and arrays. */
type IndexType = "int32" | "int64" | "uint64";
const ZARR_DTYPES = { int32: "<i4", int64: "<i8", uint64: "<u8", float32: "<f4" } as const;

function meta(dtype: IndexType | "float32", c: Compressor, path: string) {
  const document = JSON.stringify({
    chunks: [LEN],
    compressor: { id: "blosc", blocksize: 0, ...c },
    dtype: ZARR_DTYPES[dtype],
    fill_value: 0,
    filters: null,
    order: "C",
    shape: [TOTAL],
    zarr_format: 2,
  });
  return { zarrFormat: 2 as const, document, dtype, path };
}

/** `indices` as `type`: int32 as they are, else widened to 64 bits (a bad index keeps its value). */
function widened(indices: Int32Array, type: IndexType): Int32Array | BigInt64Array | BigUint64Array {
  if (type === "int32") return indices;
  return type === "int64" ? BigInt64Array.from(indices, (j) => BigInt(j)) : BigUint64Array.from(indices, (j) => BigInt.asUintN(64, BigInt(j)));
}

/** Chunk `c` of `values`, zero-padded to the chunk length as zarr v2 stores an edge chunk, encoded. */
async function encoded(values: Int32Array | Float32Array | BigInt64Array | BigUint64Array, c: number, compressor: Compressor): Promise<Uint8Array> {
  // the same typed array type as `values` (the casts only name one of them)
  const chunk = new (values.constructor as Int32ArrayConstructor)(LEN);
  chunk.set(values.subarray(c * LEN, Math.min(TOTAL, (c + 1) * LEN)) as Int32Array);
  return Blosc.fromConfig({ blocksize: 0, ...compressor }).encode(new Uint8Array(chunk.buffer));
}

function layout(c: number, p0: number, p1: number, picked: number[]): SparsePickLayout {
  return { chunk: c, chunkLen: LEN, p0, p1, minor: MINOR, minorMap: minorMap(picked, MINOR), dtype: "float32", path: "/X", url: "http://h/s.zarr/X" };
}

async function pick(
  values: { indices: Int32Array; data: Float32Array },
  c: number,
  range: [number, number],
  picked: number[],
  compressor: Compressor,
  bytes?: { data?: Uint8Array; indices?: Uint8Array },
  indexType: IndexType = "int32",
  stored?: BigInt64Array | BigUint64Array,
) {
  const shape = [Math.min(LEN, TOTAL - c * LEN)];
  const dBytes = bytes?.data ?? (await encoded(values.data, c, compressor));
  const xBytes = bytes?.indices ?? (await encoded(stored ?? widened(values.indices, indexType), c, compressor));
  return sparsePickChunk(
    layout(c, range[0], range[1], picked),
    dBytes,
    xBytes,
    [meta("float32", compressor, "/X/data"), [c], shape, { key: String(c), url: `http://h/s.zarr/X/data/${c}` }],
    [meta(indexType, compressor, "/X/indices"), [c], shape, { key: String(c), url: `http://h/s.zarr/X/indices/${c}` }],
  );
}

/** A pick's global stored positions. */
function globalPositions(p: { base: number; positions: Int32Array }): number[] {
  return Array.from(p.positions, (at) => p.base + at);
}

/** The pick in plain JS: the stored values in [p0, p1) whose index is selected, renumbered. */
function reference(values: { indices: Int32Array; data: Float32Array }, [p0, p1]: [number, number], picked: number[]) {
  const positions: number[] = [];
  const indices: number[] = [];
  const data: number[] = [];
  for (let p = p0; p < p1; p++) {
    const t = picked.indexOf(values.indices[p]!);
    if (t < 0) continue;
    positions.push(p);
    indices.push(t);
    data.push(values.data[p]!);
  }
  return { positions, indices, data };
}

const CODECS: Compressor[] = [
  { cname: "lz4", clevel: 5, shuffle: 1 },
  { cname: "lz4", clevel: 5, shuffle: 0 },
  { cname: "lz4hc", clevel: 5, shuffle: 1 },
  { cname: "blosclz", clevel: 5, shuffle: 1 },
  { cname: "zlib", clevel: 5, shuffle: 1 },
  { cname: "lz4", clevel: 0, shuffle: 1 }, // memcpyed
  { cname: "zstd", clevel: 5, shuffle: 1 }, // left to numcodecs: the decodeChunk path
];

/**
 * Every pick of `values`' chunks 0 and 2 (the edge chunk), over whole and trimmed ranges (and
 * with `empty`, an empty one), with each compressor and selection, equals the plain JS pick.
 */
async function assertPicks(
  values: { indices: Int32Array; data: Float32Array },
  compressors: readonly Compressor[],
  selections: readonly number[][],
  indexType: IndexType,
  empty: boolean,
): Promise<void> {
  for (const compressor of compressors) {
    for (const c of [0, 2]) {
      const base = c * LEN;
      const end = Math.min(TOTAL, base + LEN);
      const ranges: [number, number][] = [[base, end], [base + 17, end - 33], ...(empty ? [[base + 4, base + 4] as [number, number]] : [])];
      for (const range of ranges) {
        for (const picked of selections) {
          const got = await pick(values, c, range, picked, compressor, undefined, indexType);
          const want = reference(values, range, picked);
          const what = `${indexType} ${JSON.stringify(compressor)} chunk ${c} [${range}] ${picked.length} picked`;
          assert.deepEqual(globalPositions(got), want.positions, what);
          assert.deepEqual(Array.from(got.indices), want.indices, what);
          assert.deepEqual(Array.from(got.data as Float32Array), want.data, what);
          assert.ok(got.data instanceof Float32Array, what);
        }
      }
    }
  }
}

test("picks equal a plain JS pick for every codec, selection size and range, edge chunk included", async () => {
  assert.ok(wasmKernels() !== null, "this Node has WebAssembly SIMD: the fast path is what runs");
  const selections = [[7], [0, 299], [3, 5, 8], [10, 20, 30, 40], [1, 2, 3, 4, 5], Array.from({ length: 120 }, (_, j) => 2 * j + 1)];
  await assertPicks(matrix(1), CODECS, selections, "int32", true);
});

test("an index outside the minor axis is a SparseStructureError at its position, wherever it lies in a group of four", async () => {
  const values = matrix(2);
  for (const compressor of [CODECS[0]!, CODECS[6]!]) {
    for (const at of [LEN + 100, LEN + 101, LEN + 102, LEN + 103, 2 * LEN - 1]) {
      for (const bad of [MINOR, -1, 2 ** 31 - 1]) {
        const broken = { indices: values.indices.slice(), data: values.data };
        broken.indices[at] = bad;
        for (const picked of [[7], [1, 2, 3, 4, 5, 6]]) {
          await assert.rejects(pick(broken, 1, [LEN, 2 * LEN], picked, compressor), (e: unknown) => {
            assert.ok(e instanceof SparseStructureError, String(e));
            assert.equal(e.position, at);
            assert.match(e.message, new RegExp(`expected indices in \\[0, ${MINOR}\\), got ${bad} at position ${at}`));
            return true;
          });
        }
        // outside the range the blocks read, it is not looked at
        const inside = await pick(broken, 1, [LEN, at], [7], compressor);
        assert.deepEqual(globalPositions(inside), reference(broken, [LEN, at], [7]).positions);
      }
    }
  }
});

test("a truncated or short chunk is a ChunkDecodeError naming it, a range past the array's end a SparseStructureError", async () => {
  const values = matrix(3);
  const lz4 = CODECS[0]!;
  const data = await encoded(values.data, 1, lz4);
  await assert.rejects(pick(values, 1, [LEN, 2 * LEN], [7], lz4, { data: data.subarray(0, data.length - 9) }), (e: unknown) => {
    assert.ok(e instanceof ChunkDecodeError, String(e));
    assert.equal(e.chunkKey, "1");
    assert.equal(e.url, "http://h/s.zarr/X/data/1");
    assert.equal(e.path, "/X/data");
    return true;
  });
  const short = await Blosc.fromConfig({ blocksize: 0, ...lz4 }).encode(new Uint8Array(values.indices.slice(LEN, 2 * LEN - 10).buffer));
  await assert.rejects(pick(values, 1, [LEN, 2 * LEN], [7], lz4, { indices: short }), (e: unknown) => {
    assert.ok(e instanceof ChunkDecodeError, String(e));
    assert.equal(e.url, "http://h/s.zarr/X/indices/1");
    assert.match(e.reason, /decoded to 19960 bytes, expected 20000/);
    return true;
  });
  // indptr says the last chunk holds more values than the array has
  await assert.rejects(pick(values, 2, [2 * LEN, TOTAL + 5], [7], lz4), (e: unknown) => {
    assert.ok(e instanceof SparseStructureError, String(e));
    assert.match(e.message, /expected indices to hold position 14304, as indptr says, but its chunk 2 ends at 14300/);
    return true;
  });
});

test("decodeBloscInWasm lays chunks and extra regions out apart, and declines what it cannot hold", async () => {
  const values = matrix(4);
  const a = await encoded(values.indices, 0, CODECS[0]!);
  const b = await encoded(values.data, 1, CODECS[3]!);
  const d = decodeBloscInWasm([a, b], [4 * LEN, 4 * LEN], [100, 4 * LEN], (_i, e) => e as Error);
  assert.ok(d !== null);
  const [ra, rb] = d.at as [number, number];
  const [e0, e1] = d.extraAt as [number, number];
  assert.ok(ra + 4 * LEN <= rb && rb + 4 * LEN <= e0 && e0 + 100 <= e1, `regions ${[ra, rb, e0, e1]}`);
  // writing the extra regions leaves the decoded chunks as a whole decode gives them
  d.bytes.fill(0xee, e0, e0 + 100);
  d.bytes.fill(0xee, e1, e1 + 4 * LEN);
  assert.deepEqual(d.bytes.slice(ra, ra + 4 * LEN), decodeBloscSync(a));
  assert.deepEqual(d.bytes.slice(rb, rb + 4 * LEN), decodeBloscSync(b));
  assert.equal(
    decodeBloscInWasm([a], [4 * LEN], [MAX_WASM_DECODE_BYTES], (_i, e) => e as Error),
    null,
    "over the bound",
  );
  const zstd = await encoded(values.data, 0, CODECS[6]!);
  assert.equal(
    decodeBloscInWasm([a, zstd], [4 * LEN, 4 * LEN], [], (_i, e) => e as Error),
    null,
    "zstd is numcodecs' to decode",
  );
  const marker = new Error("chunk 1 refused");
  assert.throws(
    () => decodeBloscInWasm([a, b.subarray(0, 40)], [4 * LEN, 4 * LEN], [], (i) => (i === 1 ? marker : new Error(`chunk ${i}`))),
    (e: unknown) => e === marker,
  );
  assert.throws(() => decodeBloscInWasm([a], [4 * LEN - 4], [], (_i, e) => e as Error), /exceeds the chunk's 19996 bytes/);
});

test("the pick kernel agrees with a plain loop on random indices and selections, bad indices included", () => {
  const k = wasmKernels()!;
  const rand = prng(5);
  for (let round = 0; round < 300; round++) {
    const n = Math.floor(rand() * 70);
    const minor = 1 + Math.floor(rand() * 40);
    const ix = Int32Array.from({ length: n }, () => Math.floor(rand() * minor));
    if (rand() < 0.3 && n > 0) ix[Math.floor(rand() * n)] = rand() < 0.5 ? minor + Math.floor(rand() * 3) : -1 - Math.floor(rand() * 3);
    const chosen = Array.from({ length: minor }, (_, j) => j).filter(() => rand() < (rand() < 0.5 ? 0.08 : 0.5));
    const table = new Int32Array(minor).fill(-1);
    chosen.forEach((j, t) => (table[j] = t));
    const { bytes, at } = k.regions(16, 16, 4, [4 * n, 4 * minor, 4 * (n + 1), 4 * (n + 1)]);
    new Int32Array(bytes.buffer, at[0], n).set(ix);
    new Int32Array(bytes.buffer, at[1], minor).set(table);
    const q = k.pickI32(at[0]!, n, at[1]!, minor, at[2]!, at[3]!, chosen.length <= 4 ? chosen : []);
    const bad = ix.findIndex((j) => j < 0 || j >= minor);
    if (bad >= 0) {
      assert.equal(q, -1 - bad, `round ${round}`);
      continue;
    }
    const want = [...ix.keys()].filter((p) => table[ix[p]!]! >= 0);
    assert.equal(q, want.length, `round ${round}`);
    assert.deepEqual(Array.from(new Int32Array(bytes.buffer, at[2], q)), want, `round ${round}`);
    assert.deepEqual(
      Array.from(new Int32Array(bytes.buffer, at[3], q)),
      want.map((p) => table[ix[p]!]),
      `round ${round}`,
    );
  }
});

test("the line check kernel finds an index stored twice or out of order in any line, at any position a SIMD step can hold", () => {
  const k = wasmKernels()!;
  const rand = prng(9);
  for (let round = 0; round < 400; round++) {
    // lines of 0 to 12 strictly increasing indices, read as a few ranges of consecutive lines
    const lines = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => {
      let j = Math.floor(rand() * 3);
      return Array.from({ length: Math.floor(rand() * 13) }, () => (j += 1 + Math.floor(rand() * 3)));
    });
    const ix: number[] = [7, 7]; // two positions before the ranges, outside every line
    const ranges: number[] = [];
    const starts: number[] = [];
    for (const line of lines) {
      if (line.length === 0) continue;
      const from = ix.length;
      if (ranges.length === 0 || rand() < 0.3) ranges.push(from, from);
      starts.push(from);
      ix.push(...line);
      ranges[ranges.length - 1] = ix.length;
    }
    // one index turned into its predecessor's (a duplicate) or below it, inside a line
    const inner = starts.flatMap((s, i) => {
      const end = starts[i + 1] ?? ix.length;
      return Array.from({ length: Math.max(0, end - s - 1) }, (_, d) => s + d + 1);
    });
    const broken = rand() < 0.5 && inner.length > 0 ? inner[Math.floor(rand() * inner.length)]! : -1;
    if (broken >= 0) ix[broken] = ix[broken - 1]! - (rand() < 0.5 ? 0 : 1);
    const { bytes, at } = k.regions(16, 16, 4, [4 * ix.length, 4 * ranges.length, 4 * starts.length]);
    new Int32Array(bytes.buffer, at[0], ix.length).set(ix);
    new Int32Array(bytes.buffer, at[1], ranges.length).set(ranges);
    new Int32Array(bytes.buffer, at[2], starts.length).set(starts);
    const got = k.linesIncreaseI32(at[0]!, at[1]!, ranges.length / 2, at[2]!, starts.length);
    assert.equal(got, broken < 0, `round ${round}: lines ${JSON.stringify(lines)}, broken at ${broken}, ix ${ix.join(",")}`);
  }
});

test("int64 and uint64 indices, read as int32 halves, are picked as int32 ones, blosc and zstd alike", async () => {
  const selections = [[7], [10, 20, 30, 40], Array.from({ length: 120 }, (_, j) => 2 * j + 1)];
  for (const indexType of ["int64", "uint64"] as const) {
    await assertPicks(matrix(6), [CODECS[0]!, CODECS[1]!, CODECS[5]!, CODECS[6]!], selections, indexType, false);
  }
});

test("an int64 or uint64 index outside the minor axis is refused at its position, named as stored", async () => {
  const values = matrix(7);
  for (const compressor of [CODECS[0]!, CODECS[6]!]) {
    for (const at of [LEN + 100, LEN + 101, LEN + 102, LEN + 103, 2 * LEN - 1]) {
      for (const [indexType, bad] of [
        ["int64", BigInt(MINOR)],
        ["int64", -1n],
        ["int64", 2n ** 32n + 7n],
        ["int64", 2n ** 31n],
        ["int64", -(2n ** 40n)],
        ["uint64", 2n ** 63n + 7n],
        ["uint64", 2n ** 32n],
      ] as const) {
        const stored = widened(values.indices, indexType) as BigInt64Array | BigUint64Array;
        stored[at] = bad;
        for (const picked of [[7], [1, 2, 3, 4, 5, 6]]) {
          await assert.rejects(pick(values, 1, [LEN, 2 * LEN], picked, compressor, undefined, indexType, stored), (e: unknown) => {
            assert.ok(e instanceof SparseStructureError, String(e));
            assert.equal(e.position, at);
            assert.ok(e.message.includes(`got ${bad} at position ${at}`), e.message);
            return true;
          });
        }
      }
    }
  }
});

test("random corruptions of a chunk pair give picks or a typed error, and leave the next pick right", async () => {
  const values = matrix(6);
  const lz4 = CODECS[0]!;
  const data = await encoded(values.data, 0, lz4);
  const indices = await encoded(values.indices, 0, lz4);
  const want = reference(values, [0, LEN], [7, 8]);
  const rand = prng(11);
  let refused = 0;
  for (let round = 0; round < 400; round++) {
    const d = data.slice();
    const x = indices.slice();
    const target = rand() < 0.5 ? d : x;
    // the header and block starts half of the time, anywhere otherwise
    for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) {
      const at = rand() < 0.5 ? Math.floor(rand() * 40) : Math.floor(rand() * target.length);
      target[at] = Math.floor(rand() * 256);
    }
    try {
      const got = await pick(values, 0, [0, LEN], [7, 8], lz4, { data: d, indices: x });
      assert.equal(got.positions.length, got.indices.length, `round ${round}`);
      assert.equal(got.positions.length, got.data.length, `round ${round}`);
    } catch (e) {
      assert.ok(e instanceof ChunkDecodeError || e instanceof SparseStructureError, `round ${round}: ${String(e)}`);
      refused++;
    }
    const ok = await pick(values, 0, [0, LEN], [7, 8], lz4, { data, indices });
    assert.deepEqual(globalPositions(ok), want.positions, `round ${round}: the pick after`);
    assert.deepEqual(Array.from(ok.data as Float32Array), want.data, `round ${round}: the pick after`);
  }
  assert.ok(refused > 100, `${refused} of 400 corruptions refused`);
});

test("values of every item size are picked as a plain JS pick picks them", async () => {
  const { indices } = matrix(5);
  const rand = prng(6);
  const kinds = [
    { dtype: "uint8", zarr: "|u1", make: (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256)) },
    { dtype: "int16", zarr: "<i2", make: (n: number) => Int16Array.from({ length: n }, () => Math.floor(rand() * 65536) - 32768) },
    { dtype: "float64", zarr: "<f8", make: (n: number) => Float64Array.from({ length: n }, () => rand() * 1e6 - 5e5) },
    { dtype: "int64", zarr: "<i8", make: (n: number) => BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rand() * 2 ** 52)) * 4096n - 2n ** 62n) },
  ] as const;
  const compressor = CODECS[0]!;
  for (const kind of kinds) {
    const data = kind.make(TOTAL);
    for (const c of [0, 2]) {
      const base = c * LEN;
      const end = Math.min(TOTAL, base + LEN);
      const chunk = new (data.constructor as Float64ArrayConstructor)(LEN) as typeof data;
      (chunk as Float64Array).set(data.subarray(base, end) as Float64Array);
      const dBytes = await Blosc.fromConfig({ blocksize: 0, ...compressor }).encode(new Uint8Array(chunk.buffer));
      const xBytes = await encoded(indices, c, compressor);
      const document = JSON.parse(meta("float32", compressor, "/X/data").document);
      const dMeta = { zarrFormat: 2 as const, document: JSON.stringify({ ...document, dtype: kind.zarr }), dtype: kind.dtype, path: "/X/data" };
      const shape = [end - base];
      for (const picked of [[7], Array.from({ length: 120 }, (_, j) => 2 * j + 1)]) {
        const got = await sparsePickChunk(
          { ...layout(c, base + 3, end - 5, picked), dtype: kind.dtype },
          dBytes,
          xBytes,
          [dMeta, [c], shape, { key: String(c), url: `http://h/s.zarr/X/data/${c}` }],
          [meta("int32", compressor, "/X/indices"), [c], shape, { key: String(c), url: `http://h/s.zarr/X/indices/${c}` }],
        );
        const want = reference({ indices, data: data as unknown as Float32Array }, [base + 3, end - 5], picked);
        const what = `${kind.dtype} chunk ${c}, ${picked.length} picked`;
        assert.deepEqual(globalPositions(got), want.positions, what);
        assert.deepEqual(Array.from(got.indices), want.indices, what);
        assert.deepEqual(Array.from(got.data as ArrayLike<number | bigint>), want.data, what);
        assert.equal(got.data.constructor, data.constructor, what);
      }
    }
  }
});
