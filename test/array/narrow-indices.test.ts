// int64 sparse indices read as int32: values int32 holds stay exact, all others become -1.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { narrowIndices } from "../../packages/array/src/ops/narrow-indices.ts";

test("narrowIndices keeps every int32 value and turns every other into -1, signed and unsigned, from any offset", () => {
  const fits = (v: bigint): boolean => v >= -(2n ** 31n) && v < 2n ** 31n;
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
          fc.constantFrom(0n, -1n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), -(2n ** 31n) - 1n, 2n ** 32n, 2n ** 32n - 1n, 2n ** 32n + 5n, -(2n ** 32n) + 5n),
        ),
        { maxLength: 40 },
      ),
      fc.nat(5),
      fc.nat(5),
      (values, skip, at) => {
        const from = Math.min(skip, values.length);
        for (const src of [BigInt64Array.from(values), BigUint64Array.from(values, (v) => BigInt.asUintN(64, v))]) {
          // a view that does not start at its buffer's start, as a decoded chunk's may not
          const view = src instanceof BigInt64Array ? new BigInt64Array(src.buffer, 8 * from) : new BigUint64Array(src.buffer, 8 * from);
          const out = new Int32Array(at + view.length).fill(7);
          const misfits = narrowIndices(view, 0, view.length, out, at);
          assert.deepEqual([...out.subarray(0, at)], new Array(at).fill(7));
          assert.deepEqual(
            [...out.subarray(at)],
            Array.from(view, (v) => (fits(v) ? Number(v) : -1)),
          );
          assert.equal(misfits, Array.from(view).filter((v) => !fits(v)).length);
        }
      },
    ),
    { numRuns: 1000 },
  );
});
