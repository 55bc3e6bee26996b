// Blocks of a column selection cut from picked values: each major position gets the picked
// values stored in its range, in pick order, whether the positions come in source order or not.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { sparseGatherPicked } from "@zask/array/ops";

test("sparseGatherPicked gives each position its picked values, rows in order or not", async () => {
  await fc.assert(
    fc.property(
      // picked stored positions of up to eight chunk pairs of 40 values each (some picking
      // none), and rows as ranges, some spanning several chunk pairs
      fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 39 }), { maxLength: 25 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 319 }), fc.integer({ min: 0, max: 90 })), { maxLength: 30 }),
      fc.boolean(),
      (chunks, rows, sorted) => {
        const picks = chunks.map((offsets, c) => {
          // counted from a base inside the chunk, as a pick counts them
          const base = c * 40 + (c % 3);
          const global = offsets.sort((a, b) => a - b).map((o) => c * 40 + o);
          const positions = Int32Array.from(global, (p) => p - base);
          return { base, positions, indices: Int32Array.from(global, (p) => p % 7), data: Float32Array.from(global, (p) => p / 2) };
        });
        const ranges = sorted ? [...rows].sort((a, b) => a[0] - b[0]) : rows;
        const starts = Float64Array.from(ranges, ([s]) => s);
        const ends = Float64Array.from(ranges, ([s, n]) => s + n);
        const got = sparseGatherPicked({ format: "csr", starts, ends, minor: 7, dtype: "float32" }, picks);
        const indptr = [0];
        const indices: number[] = [];
        const data: number[] = [];
        ranges.forEach(([s, n]) => {
          for (const p of picks)
            p.positions.forEach((at, i) => {
              const pos = p.base + at;
              if (pos >= s && pos < s + n) {
                indices.push(p.indices[i]!);
                data.push(p.data[i]!);
              }
            });
          indptr.push(indices.length);
        });
        assert.deepEqual([...got.indptr], indptr);
        assert.deepEqual([...got.indices], indices);
        assert.deepEqual([...(got.data as Float32Array)], data);
        assert.deepEqual(got.shape, [ranges.length, 7]);
      },
    ),
    { numRuns: 2000 },
  );
});

test("sparseGatherPicked refuses picks out of chunk order rather than lose values", () => {
  const pick = (positions: number[]) => ({
    base: 0,
    positions: Int32Array.from(positions),
    indices: Int32Array.from(positions, () => 0),
    data: Float32Array.from(positions),
  });
  const layout = { format: "csr" as const, starts: Float64Array.of(0), ends: Float64Array.of(80), minor: 7, dtype: "float32" as const };
  assert.throws(
    () => sparseGatherPicked(layout, [pick([45, 50]), pick([3, 9])]),
    /Expected the picks of a block in chunk order, got position 3 in pick 1 after 50/,
  );
  // an empty pick between two in order is fine
  assert.deepEqual([...sparseGatherPicked(layout, [pick([3, 9]), pick([]), pick([45, 50])]).data], [3, 9, 45, 50]);
});
