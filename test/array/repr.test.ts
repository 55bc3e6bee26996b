import assert from "node:assert/strict";
import { inspect } from "node:util";
import { test } from "node:test";
import { fromZarr, slice, zeros } from "@zask/array";
import { FIXTURES } from "./helpers.ts";

test("the repr shows dtype, shape, chunk shape, bytes and chunks in graph layers, as dask does", async () => {
  const x = await fromZarr(FIXTURES + "dense.c5x4.blosc-lz4.f4.zarr");
  const s = String(x);
  assert.match(s, /shape=\(13, 11\), dtype=float32, chunksize=\(5, 4\)/);
  assert.match(s, /Bytes\s+572 B\s+80 B/);
  assert.match(s, /Shape\s+\(13, 11\)\s+\(5, 4\)/);
  assert.match(s, /Count\s+9 chunks in 2 graph layers/);
  assert.equal(inspect(x), s);
  assert.match(String(x.slice(slice(0, 5))), /3 chunks in 3 graph layers/);
  assert.match(String(zeros([4096, 4096], { chunks: 1024, dtype: "float64" })), /Bytes\s+128\.00 MiB\s+8\.00 MiB/);
});
