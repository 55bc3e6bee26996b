import assert from "node:assert/strict";
import { test } from "node:test";
import { arange, fromZarr } from "@zask/array";
import { FIXTURES, expected, plain } from "./helpers.ts";

test("reshape matches numpy's C-order reshape", async () => {
  const x = await fromZarr(FIXTURES + "dense.c5x4.blosc-lz4.f4.zarr");
  const e = expected.ops["reshape f4 (11, 13)"]!;
  const r = await x.reshape([11, -1]).compute();
  assert.deepEqual(r.shape, e.shape);
  assert.deepEqual(plain(r), e.data);
  const y = await fromZarr(FIXTURES + "dense.c2x3x4.zlib.f8.zarr");
  const e2 = expected.ops["reshape f8 (30, 7)"]!;
  const r2 = await y.reshape([30, 7]).compute();
  assert.deepEqual(plain(r2), e2.data);
});

test("reshape splitting an axis keeps blocks that line up", async () => {
  const a = arange(24, { chunks: 6 }).reshape([6, 4]);
  assert.deepEqual(a.shape, [6, 4]);
  assert.deepEqual(a.chunks[1], [4]);
  const r = await a.compute();
  assert.deepEqual(
    plain(r),
    Array.from({ length: 24 }, (_, i) => String(i)),
  );
  const flat = await a.reshape([-1]).compute();
  assert.deepEqual(
    plain(flat),
    Array.from({ length: 24 }, (_, i) => String(i)),
  );
  assert.throws(() => a.reshape([5, 5]), RangeError);
  assert.throws(() => a.reshape([-1, -1]), TypeError);
});
