import assert from "node:assert/strict";
import { test } from "node:test";
import { fromZarr } from "@zask/array";
import { FIXTURES, expected, plain } from "./helpers.ts";

test("T and transpose(axes) match numpy's transpose", async () => {
  const x = await fromZarr(FIXTURES + "dense.c5x4.blosc-lz4.f4.zarr");
  const t = x.T;
  assert.deepEqual(t.chunks, [x.chunks[1], x.chunks[0]]);
  const e = expected.ops["transpose f4"]!;
  const r = await t.compute();
  assert.deepEqual(r.shape, e.shape);
  assert.deepEqual(plain(r), e.data);
  const y = await fromZarr(FIXTURES + "dense.c2x3x4.zlib.f8.zarr");
  const e3 = expected.ops["transpose f8 (2,0,1)"]!;
  const r3 = await y.transpose([2, 0, 1]).compute({ scheduler: "sync" });
  assert.deepEqual(r3.shape, e3.shape);
  assert.deepEqual(plain(r3), e3.data);
  assert.equal(y.transpose([0, 1, 2]), y);
  assert.throws(() => y.transpose([0, 0, 1]), RangeError);
});
