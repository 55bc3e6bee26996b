import assert from "node:assert/strict";
import { test } from "node:test";
import { ChunkBounds, encodedBound } from "../../packages/array/src/chunk-bounds.ts";

const doc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));

test("a chunk's bound is its decoded size plus a compressor's worst expansion, for fixed itemsizes without filters", () => {
  const b = new ChunkBounds();
  b.learn("/X/.zarray", doc({ dtype: "<f4", chunks: [97, 5], compressor: { id: "blosc" }, filters: null }));
  b.learn("/obs/name/.zarray", doc({ dtype: "|O", chunks: [97], filters: [{ id: "vlen-utf8" }] }));
  b.learn("/scaled/.zarray", doc({ dtype: "<f8", chunks: [10], filters: [{ id: "astype", encode_dtype: "<f8" }] }));
  b.learn(
    "/v3/zarr.json",
    doc({ node_type: "array", data_type: "int16", chunk_grid: { configuration: { chunk_shape: [4, 4] } }, codecs: [{ name: "bytes" }, { name: "zstd" }] }),
  );
  b.learn(
    "/s/zarr.json",
    doc({ node_type: "array", data_type: "string", chunk_grid: { configuration: { chunk_shape: [4] } }, codecs: [{ name: "vlen-utf8" }] }),
  );
  assert.equal(b.of("X/0.3"), encodedBound(97 * 5 * 4));
  assert.ok(encodedBound(1940) >= 1940 + 16, "at least blosc's overhead");
  assert.equal(b.of("/v3/c/0/1"), encodedBound(4 * 4 * 2));
  assert.equal(b.of("obs/name/0"), undefined, "variable-length strings have no bound");
  assert.equal(b.of("scaled/0"), undefined, "filters may change sizes");
  assert.equal(b.of("s/c/0"), undefined);
  assert.equal(b.of("other/0"), undefined, "an array whose metadata was not seen");
});

test("a root array's bound applies to its chunks, and a nested array's prefix wins over its parent's", () => {
  const b = new ChunkBounds();
  b.learn("/.zarray", doc({ dtype: "|u1", chunks: [3], filters: [] }));
  b.learn("/a/.zarray", doc({ dtype: "<i8", chunks: [3], filters: null }));
  assert.equal(b.of("/0"), encodedBound(3));
  assert.equal(b.of("/a/0"), encodedBound(24));
  b.learn("/bad/.zarray", new TextEncoder().encode("{not json"));
  assert.equal(b.of("bad/0"), encodedBound(3), "malformed metadata teaches nothing");
});

test("the bound of a key is the deepest learnt array holding it, among many arrays", async () => {
  const fc = (await import("fast-check")).default;
  const segment = fc.constantFrom("X", "obs", "var", "layers", "a", "c", "0", "1");
  fc.assert(
    fc.property(
      fc.array(fc.array(segment, { maxLength: 4 }), { maxLength: 30 }),
      fc.array(fc.array(segment, { minLength: 1, maxLength: 6 }), { maxLength: 20 }),
      (arrays, keys) => {
        const b = new ChunkBounds();
        const learnt = new Map<string, number>();
        arrays.forEach((path, i) => {
          const prefix = path.length === 0 ? "" : `${path.join("/")}/`;
          b.learn(`/${prefix}.zarray`, doc({ dtype: "<f4", chunks: [i + 1], filters: null }));
          learnt.set(prefix, encodedBound(4 * (i + 1)));
        });
        for (const k of keys) {
          const key = k.join("/");
          // the plain longest-prefix match over every learnt array
          let want: number | undefined;
          let longest = -1;
          for (const [prefix, bound] of learnt) {
            if (prefix.length > longest && key.startsWith(prefix)) {
              longest = prefix.length;
              want = bound;
            }
          }
          assert.equal(b.of(key), want, key);
          assert.equal(b.of(`/${key}`), want, key);
        }
      },
    ),
    { numRuns: 500 },
  );
});
