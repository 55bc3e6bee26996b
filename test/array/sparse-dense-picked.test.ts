// The dense answer of a column selection written straight from its picked values: each block's
// major positions get the picked values stored in their ranges, added up where a minor
// position repeats, as gathering each block and densifying it would give.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { sparseConcat, sparseDensePicked, sparseGatherPicked } from "@zask/array/ops";

type Layout = Parameters<typeof sparseGatherPicked>[0];
type Pick = Parameters<typeof sparseGatherPicked>[1][number];

const MINOR = 7;

/** Picks of chunk pairs of 40 values each, at the given offsets, with minor positions that repeat. */
function picksOf(chunks: number[][], data: (p: number) => number, make: (values: number[]) => Pick["data"] = (v) => Float32Array.from(v)): Pick[] {
  return chunks.map((offsets, c) => {
    const global = [...offsets].sort((a, b) => a - b).map((o) => c * 40 + o);
    // counted from a base inside the chunk, as a pick counts them
    const base = c * 40 + (c % 3);
    return {
      base,
      positions: Int32Array.from(global, (p) => p - base),
      indices: Int32Array.from(global, (p) => (p * 3) % MINOR),
      data: make(global.map(data)),
    };
  });
}

/** The dense answer by definition: every picked value inside a block position's range, added in float32. */
function expected(blocks: [Layout, Pick[]][], csr: boolean): number[] {
  const major = blocks.reduce((n, [l]) => n + l.starts.length, 0);
  const cols = csr ? MINOR : major;
  const out = new Array<number>(major * MINOR).fill(0);
  let offset = 0;
  for (const [layout, picks] of blocks) {
    layout.starts.forEach((s, a) => {
      for (const p of picks) {
        p.positions.forEach((from, i) => {
          const pos = p.base + from;
          if (pos < s || pos >= layout.ends[a]!) return;
          const at = csr ? (offset + a) * cols + p.indices[i]! : p.indices[i]! * cols + offset + a;
          out[at] = Math.fround(out[at]! + Number(p.data[i]!));
        });
      }
    });
    offset += layout.starts.length;
  }
  return out;
}

/** Ranges that each start at or after the last one's end: a whole matrix's rows, or a selection in order. */
const ascending = fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 60 })), { maxLength: 20 }).map((gaps) => {
  let at = 0;
  return gaps.map(([gap, n]): [number, number] => {
    const s = at + gap;
    at = s + n;
    return [s, n];
  });
});
/** Ranges in any order, overlapping or repeated. */
const anyOrder = fc.array(fc.tuple(fc.integer({ min: 0, max: 319 }), fc.integer({ min: 0, max: 90 })), { maxLength: 20 });

test("sparseDensePicked writes what the picks hold, rows in order or not, CSR and CSC, over several blocks", async () => {
  await fc.assert(
    fc.property(
      fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 39 }), { maxLength: 25 }), { minLength: 1, maxLength: 8 }),
      fc.oneof(ascending, anyOrder),
      fc.integer({ min: 1, max: 3 }),
      fc.boolean(),
      (chunks, ranges, nBlocks, csr) => {
        const picks = picksOf(chunks, (p) => p / 2 + 0.1);
        // the ranges cut into up to three blocks, each taking every pick (as a block spanning
        // them all would)
        const cut = Math.ceil(ranges.length / nBlocks) || 1;
        const blocks: [Layout, Pick[]][] = [];
        for (let b = 0; b * cut < ranges.length || blocks.length === 0; b++) {
          const part = ranges.slice(b * cut, (b + 1) * cut);
          const layout: Layout = {
            format: csr ? "csr" : "csc",
            starts: Float64Array.from(part, ([s]) => s),
            ends: Float64Array.from(part, ([s, n]) => s + n),
            minor: MINOR,
            dtype: "float32",
          };
          blocks.push([layout, picks]);
        }
        const major = ranges.length;
        const shape: [number, number] = csr ? [major, MINOR] : [MINOR, major];
        const got = sparseDensePicked(blocks, csr ? "csr" : "csc", shape, "float32");
        assert.deepEqual(got.shape, shape);
        assert.ok(got.data instanceof Float32Array);
        assert.deepEqual([...(got.data as Float32Array)], expected(blocks, csr));
        // the same as gathering each block and densifying
        const gathered = sparseConcat(
          blocks.map(([l, p]) => sparseGatherPicked(l, p)),
          csr ? "csr" : "csc",
          shape,
          "float32",
          true,
        ) as { data: Float32Array };
        assert.deepEqual([...(got.data as Float32Array)], [...gathered.data]);
      },
    ),
    { numRuns: 2000 },
  );
});

test("sparseDensePicked keeps bools at 0 and 1 where entries repeat, and int64 values exact", () => {
  // one row over 40 stored values: positions 0, 7, 14 … share a minor position
  const layout = (dtype: Layout["dtype"]): Layout => ({ format: "csr", starts: Float64Array.of(0), ends: Float64Array.of(40), minor: MINOR, dtype });
  const offsets = [[0, 7, 14, 21, 3]];
  const bools = sparseDensePicked(
    [
      [
        layout("bool"),
        picksOf(
          offsets,
          () => 1,
          (v) => Uint8Array.from(v),
        ),
      ],
    ],
    "csr",
    [1, MINOR],
    "bool",
  );
  assert.deepEqual([...(bools.data as Uint8Array)], [1, 0, 1, 0, 0, 0, 0]);
  const big = 2n ** 60n + 1n;
  const ints = sparseDensePicked(
    [
      [
        layout("int64"),
        picksOf(
          offsets,
          () => 0,
          (v) => BigInt64Array.from(v, () => big),
        ),
      ],
    ],
    "csr",
    [1, MINOR],
    "int64",
  );
  assert.ok(ints.data instanceof BigInt64Array);
  assert.deepEqual([...(ints.data as BigInt64Array)], [4n * big, 0n, big, 0n, 0n, 0n, 0n]);
});
