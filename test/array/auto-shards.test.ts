import assert from "node:assert/strict";
import { test } from "node:test";
import { autoShards, guessChunks } from "../../packages/array/src/auto-shards.ts";

test("auto shards do not grow along an axis the inner chunk already spans (pbmc's X at chunks [2638, 5])", () => {
  assert.deepEqual(autoShards([2638, 1838], [2638, 5], 4), [2638, 5]);
});

test("auto shards grow every axis by the same factor until 1 GiB or the array's shape stops them", () => {
  assert.deepEqual(autoShards([100000, 2000], [1000, 100], 4), [20000, 2000]);
  // 1 GiB / 4 MB per chunk: at most 16 chunks per axis of a 2-d shard (16^2 x 4 MB = 1 GiB)
  assert.deepEqual(autoShards([10 ** 7, 10 ** 7], [1000, 1000], 4), [16000, 16000]);
  assert.deepEqual(autoShards([10, 10], [4, 4], 8, 10), [4, 4]);
});

test("guessed chunks follow zarr-python's halving heuristic", () => {
  // 2638 x 1838 float32 (19.4 MB): target 256 KiB x 2^log10(18.5) ≈ 620 KiB; halve axis 0, 1, 0, … until within 50%
  const c = guessChunks([2638, 1838], 4, 2 ** 20);
  const bytes = c[0]! * c[1]! * 4;
  assert.ok(bytes < 2 ** 20, String(c));
  assert.deepEqual(c, [330, 460]);
});
