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
