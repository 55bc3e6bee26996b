/**
 * The gather of a sparse column selection's picked values into row blocks (`sparseGatherPicked`,
 * packages/array/src/ops/sparse-gather-picked.ts), alone, on synthetic picks: rows of stored
 * values in ascending or shuffled order over 2 to 500 chunk pairs, every tenth stored value
 * picked. Prints the median µs per call over repeats of 200 calls. Then the dense
 * answer of such picks two ways: each block gathered and scattered into the answer
 * (`sparseConcat`), or written from the picks directly (`sparseDensePicked`).
 *
 * Run: node --import tsx benchmarks/sparse-gather.bench.ts [repeats]   (not part of the tests)
 */
import { sparseConcat, sparseDensePicked, sparseGatherPicked } from "@zask/array/ops";
import { describeMachine } from "./lib/machine.ts";
import { median } from "./lib/stats.ts";

const REPEATS = Number(process.argv[2] ?? 7);
const CALLS = 200;

type Layout = Parameters<typeof sparseGatherPicked>[0];
type Picks = Parameters<typeof sparseGatherPicked>[1];

/** `rows` rows of `perRow` stored values, cut into `chunks` chunk pairs, every tenth value picked. */
function inputs(rows: number, chunks: number, perRow: number, shuffled: boolean): [Layout, Picks] {
  const total = rows * perRow;
  const len = Math.ceil(total / chunks);
  const picks = Array.from({ length: chunks }, (_, c) => {
    const positions: number[] = [];
    for (let p = c * len; p < Math.min(total, (c + 1) * len); p += 10) positions.push(p);
    const base = c * len;
    return {
      base,
      positions: Int32Array.from(positions, (p) => p - base),
      indices: Int32Array.from(positions, (p) => p % 50),
      data: Float32Array.from(positions),
    };
  });
  const order = Array.from({ length: rows }, (_, r) => r);
  if (shuffled) {
    // a fixed Park-Miller sequence, so every run shuffles alike
    let seed = 1;
    for (let i = rows - 1; i > 0; i--) {
      seed = (seed * 16807) % 2147483647;
      const j = seed % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  }
  const starts = Float64Array.from(order, (r) => r * perRow);
  const ends = Float64Array.from(order, (r) => (r + 1) * perRow);
  return [{ format: "csr", starts, ends, minor: 50, dtype: "float32" }, picks];
}

const CASES: [string, number, number, number, boolean][] = [
  ["176 rows over 2 chunk pairs", 176, 2, 184, false],
  ["2,638 rows over 8 chunk pairs", 2638, 8, 184, false],
  ["1,000 rows over 500 chunk pairs", 1000, 500, 100, false],
  ["1,000 shuffled rows over 500 chunk pairs", 1000, 500, 100, true],
];

/** Median µs per call of `f` over the repeats, after one untimed round. */
function timed(f: () => unknown): number {
  for (let i = 0; i < CALLS; i++) f();
  const perCall: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) f();
    perCall.push(((performance.now() - t0) * 1000) / CALLS);
  }
  return median(perCall);
}

console.log(`${describeMachine()}\n`);
for (const [name, rows, chunks, perRow, shuffled] of CASES) {
  const [layout, picks] = inputs(rows, chunks, perRow, shuffled);
  console.log(
    `${name.padEnd(42)} ${timed(() => sparseGatherPicked(layout, picks))
      .toFixed(0)
      .padStart(7)} µs per call`,
  );
}
console.log("\ndense answer");
for (const [name, rows, chunks, perRow] of CASES.filter(([, , , , shuffled]) => !shuffled)) {
  const [layout, picks] = inputs(rows, chunks, perRow, false);
  const shape = [rows, layout.minor] as const;
  const gathered = timed(() => sparseConcat([sparseGatherPicked(layout, picks)], "csr", shape, "float32", true));
  const direct = timed(() => sparseDensePicked([[layout, picks]], "csr", shape, "float32"));
  console.log(`${name.padEnd(42)} gathered ${gathered.toFixed(0).padStart(6)} µs, direct ${direct.toFixed(0).padStart(6)} µs per call`);
}
