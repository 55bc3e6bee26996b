import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { readDispatched, writeDispatched, type NDArray } from "@zask/anndata";

it("any n-d array written with any chunking (edge chunks padded) reads back equal", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc
        .array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 })
        .chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.tuple(...shape.map((n) => fc.integer({ min: 1, max: n + 1 }))),
            fc.constantFrom(2 as const, 3 as const),
            fc.boolean(),
          ),
        ),
      async ([shape, chunks, format, strings]) => {
        const size = shape.reduce((a, b) => a * b, 1);
        const value: NDArray = strings
          ? { data: Array.from({ length: size }, (_, i) => `s${i}é`), shape, dtype: "string" }
          : { data: Float64Array.from({ length: size }, (_, i) => i * 1.5 - 3), shape, dtype: "float64" };
        const store = new Map<string, Uint8Array>();
        await writeDispatched(
          store,
          "/",
          { a: value },
          (write, s, key, elem, options) => write(s, key, elem, key === "/a" ? { ...options, chunks } : options),
          { format },
        );
        const back = (await readDispatched(store, (read, _n, elem) => read(elem))) as { a: NDArray };
        assert.deepEqual(back.a.shape, shape);
        assert.deepEqual(back.a.data, value.data);
      },
    ),
    { numRuns: 40 },
  );
});
