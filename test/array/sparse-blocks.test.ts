// The two walks that cut a sparse read into blocks agree: by binary search over indptr for all
// positions, and one position at a time for a selection.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { blockSizesByNnz, blockSizesOfAll } from "../../packages/array/dist/sparse/sparse-blocks.js";

const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/** indptr from per-position counts of stored values. */
function indptrOf(counts: readonly number[], type: "int32" | "int64" = "int32"): Int32Array | BigInt64Array {
  const out = type === "int32" ? new Int32Array(counts.length + 1) : new BigInt64Array(counts.length + 1);
  let at = 0;
  counts.forEach((n, i) => {
    at += n;
    if (out instanceof BigInt64Array) out[i + 1] = BigInt(at);
    else out[i + 1] = at;
  });
  return out;
}

test("blockSizesOfAll cuts as blockSizesByNnz does over every position", async () => {
  await fc.assert(
    fc.property(
      // runs of empty positions, small ones, and some holding more than a block or a chunk
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 7, max: 60 })), { maxLength: 80 }),
      fc.integer({ min: 1, max: 40 }),
      fc.option(fc.tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 })), { nil: undefined }),
      fc.boolean(),
      (counts, target, chunkLens, wide) => {
        const indptr = indptrOf(counts, wide ? "int64" : "int32");
        const want = blockSizesByNnz(indptr, identity(counts.length), target, chunkLens);
        assert.deepEqual(blockSizesOfAll(indptr, target, chunkLens), want);
      },
    ),
    { numRuns: 3000 },
  );
});

test("blockSizesOfAll: the edge cases by hand", () => {
  // no positions: one empty block
  assert.deepEqual(blockSizesOfAll(Int32Array.of(0), 4), [0]);
  // only empty positions: one block
  assert.deepEqual(blockSizesOfAll(Int32Array.of(0, 0, 0, 0), 4), [3]);
  // a position holding more than the target is a block of its own; the empty one after starts the next
  assert.deepEqual(blockSizesOfAll(indptrOf([1, 9, 0, 1]), 4), [1, 1, 2]);
  // chunks of 4: [0,3) [3,5) straddles 4, then [5,8) inside chunk 1
  assert.deepEqual(blockSizesOfAll(indptrOf([3, 2, 3]), 100, [4, 4]), [1, 1, 1]);
  // leading empty positions join the block of the first stored value
  assert.deepEqual(blockSizesOfAll(indptrOf([0, 0, 2, 1, 0, 1]), 100, [8, 8]), [6]);
});
