// Selections of a few rows of a blosc chunk read over HTTP decode only the blosc blocks that
// hold those rows; the answers equal the whole-chunk path's, edge chunks and errors included.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ChunkDecodeError, fromTypedArray, fromZarr, slice, type Selector } from "@zask/array";
import { serveRanges, type RangeServer } from "../helpers/range-server.ts";

const ROWS = 300;
const COLS = 50;
const values = Float32Array.from({ length: ROWS * COLS }, (_, i) => Math.sin(i) * 1000 + (i % 7));

/** `values[rows, cols]` (orthogonal), row-major. */
function expected(rows: readonly number[], cols: readonly number[]): number[] {
  return rows.flatMap((r) => cols.map((c) => values[r * COLS + c]!));
}
const range = (a: number, b: number, step = 1): number[] => Array.from({ length: Math.ceil((b - a) / step) }, (_, k) => a + k * step);

describe("row selections of blosc chunks over HTTP", () => {
  let dir: string;
  let server: RangeServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zask-partial-decode-"));
    // chunks of 128 × 32 float32 (16 KiB) in blosc blocks of 2 KiB: eight blocks a chunk; the
    // last row and column chunks are cut (300 = 128 + 128 + 44, 50 = 32 + 18)
    const compressor = { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1, blocksize: 2048 } as const;
    await fromTypedArray(values, [ROWS, COLS], { chunks: [128, 32] }).toZarr(join(dir, "x.zarr"), { compressor });
    // the same chunks as zarr v3 (codecs bytes, blosc), and as inner chunks of v3 shards
    await fromTypedArray(values, [ROWS, COLS], { chunks: [128, 32] }).toZarr(join(dir, "x3.zarr"), { compressor, format: 3 });
    await fromTypedArray(values, [ROWS, COLS], { chunks: [128, 32] }).toZarr(join(dir, "xs.zarr"), { compressor, format: 3, shards: [256, 64] });
    server = await serveRanges(dir);
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const store of ["x.zarr", "x3.zarr", "xs.zarr"])
    it(`give the rows a whole decode gives, in inner, edge and crossing chunks, with any columns (${store})`, async () => {
      const x = await fromZarr(`${server.url}/${store}`);
      const rowSels: [Selector, number[]][] = [
        [slice(0, 10), range(0, 10)],
        [5, [5]],
        [
          [3, 100, 7],
          [3, 100, 7],
        ],
        [slice(120, 140), range(120, 140)],
        [slice(250, 300, 3), range(250, 300, 3)],
        [slice(299, 300), [299]],
      ];
      const colSels: [Selector, number[]][] = [
        [null, range(0, COLS)],
        [
          [1, 49],
          [1, 49],
        ],
        [slice(30, 40), range(30, 40)],
        [33, [33]],
      ];
      for (const [rs, rows] of rowSels) {
        for (const [cs, cols] of colSels) {
          const y = x.slice(rs, cs);
          const got = Array.from((await y.compute()).data as Float32Array);
          assert.deepEqual(got, expected(rows, cols).map(Math.fround), `rows ${JSON.stringify(rs)} cols ${JSON.stringify(cs)}`);
        }
      }
      // the selection reads the fetched chunks, not whole decoded ones
      const layer = [...x.slice(slice(0, 10)).graph.layers.values()].at(-1)!;
      const tasks = [...layer.materialize().values()] as { op: { name: string } }[];
      assert.ok(
        tasks.every((t) => t.op.name === "getitemRows"),
        tasks.map((t) => t.op.name).join(", "),
      );
    });

  it("a chunk whose bytes are cut short is a ChunkDecodeError naming it", async () => {
    const file = join(dir, "x.zarr", "0.0");
    const whole = await readFile(file);
    await writeFile(file, whole.subarray(0, whole.length >> 1));
    try {
      const x = await fromZarr(`${server.url}/x.zarr`);
      await assert.rejects(x.slice(slice(0, 2), slice(0, 2)).compute(), (e: Error) => {
        let c: unknown = e;
        while (c instanceof Error && !(c instanceof ChunkDecodeError)) c = c.cause;
        assert.ok(c instanceof ChunkDecodeError, String(e));
        assert.match(c.message, /x\.zarr\/0\.0/);
        return true;
      });
    } finally {
      await writeFile(file, whole);
    }
  });

  it("a list of 140,000 rows inside one chunk is read (no argument-count limit on the row range)", async () => {
    const n = 300_000;
    await fromTypedArray(
      Float32Array.from({ length: n }, (_, i) => i),
      [n],
      { chunks: [n] },
    ).toZarr(join(dir, "long.zarr"));
    const x = await fromZarr(`${server.url}/long.zarr`);
    const rows = Array.from({ length: 140_000 }, (_, i) => 2 * i + 1);
    const got = (await x.slice(rows).compute()).data as Float32Array;
    assert.equal(got.length, rows.length);
    assert.equal(got[0], 1);
    assert.equal(got[139_999], 279_999);
  });
});

/**
 * A blosc chunk of `nblocks` lz4 blocks of `blocksize` bytes (no shuffle, one stream per block),
 * each block one literal run: byte i of the chunk is i & 255. Blosc itself never writes a
 * blocksize that is not a multiple of the typesize; a hostile store can.
 */
function handMadeBlosc(blocksize: number, nblocks: number, typesize: number): Uint8Array {
  const blocks = Array.from({ length: nblocks }, (_, b) => {
    const extra: number[] = [];
    for (let rest = blocksize - 15; ; rest -= 255) {
      extra.push(Math.min(rest, 255));
      if (rest < 255) break;
    }
    const lz4 = Uint8Array.from([0xf0, ...extra, ...Array.from({ length: blocksize }, (_, i) => (b * blocksize + i) & 255)]);
    const block = new Uint8Array(4 + lz4.length);
    new DataView(block.buffer).setInt32(0, lz4.length, true);
    block.set(lz4, 4);
    return block;
  });
  const total = 16 + 4 * nblocks + blocks.reduce((n, b) => n + b.length, 0);
  const chunk = new Uint8Array(total);
  const view = new DataView(chunk.buffer);
  chunk.set([2, 1, 0x10 | (1 << 5), typesize]); // version, lz4 version, dont-split + lz4, typesize
  view.setUint32(4, blocksize * nblocks, true);
  view.setUint32(8, blocksize, true);
  view.setUint32(12, total, true);
  let at = 16 + 4 * nblocks;
  blocks.forEach((b, i) => {
    view.setInt32(16 + 4 * i, at, true);
    chunk.set(b, at);
    at += b.length;
  });
  return chunk;
}

it("rows of a chunk whose blocks hold no whole number of items come out as the whole decode's", async () => {
  const { decodeChunk, getitemRows } = await import("@zask/array/ops");
  const chunk = handMadeBlosc(1002, 4, 4);
  const document = JSON.stringify({
    chunks: [1002],
    compressor: { id: "blosc", cname: "lz4", clevel: 5, shuffle: 0, blocksize: 0 },
    dtype: "<f4",
    fill_value: 0,
    filters: null,
    order: "C",
    shape: [1002],
    zarr_format: 2,
  });
  const meta = { zarrFormat: 2 as const, document, dtype: "float32" as const, path: "/x" };
  const ref = { key: "0", url: "http://h/x.zarr/0" };
  const whole = (await decodeChunk(chunk.slice(), meta, [0], [1002], ref)).data as Float32Array;
  // rows 300:310 start in the chunk's second block, 198 bytes (not a whole float32) into it
  const got = await getitemRows(chunk.slice(), meta, [0], [1002], ref, [300, 310], [{ start: 300, step: 1, count: 10 }], [10]);
  assert.deepEqual(Array.from(got.data as Float32Array), Array.from(whole.subarray(300, 310)));
});
