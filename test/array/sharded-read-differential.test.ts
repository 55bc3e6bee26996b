// A randomized differential test of zask's sharded zarr v3 READ path (fixed seeds): random arrays
// (1-d to 3-d, random inner chunks and shards that are multiples of them, shards that do not divide
// the array, several dtypes and compressors, inner chunks of zeros that the writer leaves out, shard
// files deleted afterwards) written by `toZarr({ format: 3, shards })`, then read over a real HTTP
// server that honors Range and logs every request. For random selections (slices with steps, also
// negative, integer lists with repeats, masks, single elements, empty ones) and reductions
// (sum/mean/max over random axes), each query is checked:
//   (a) its values against the source typed array (exact; a float tolerance for sum/mean),
//   (b) compute with the read planner merging ranges (random thresholds) and not merging at all
//       give identical values,
//   (c) planAsync()'s requests and readBytes equal what the server saw (index reads included), and
//       plan() once the indexes are cached is exact and equals the next compute too,
//   (d) no byte of a shard is sent twice within one planAsync() + compute (from the server log),
//   (e) reading the same store from its local directory gives the same values.
import assert from "node:assert/strict";
import { rmSync, statSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { type Array as LazyArray, type CompressorConfig, fromTypedArray, fromZarr, type Selector, slice } from "@zask/array";
import type { CoalesceOptions } from "@zask/scheduler";
import { serveRangesDuringTests } from "../helpers/range-server.ts";
import { Rng } from "./helpers.ts";

const ROOT = await mkdtemp(path.join(tmpdir(), "zask-sharded-read-diff-"));
const server = serveRangesDuringTests(ROOT); // removes ROOT after the tests

const SEEDS = [17, 2024, 31337, 4242];
const CASES_PER_SEED = 5;
const QUERIES_PER_CASE = 8;

type Dt = "float32" | "float64" | "int16" | "int32" | "int64" | "uint8" | "uint16";
const DTYPES: Dt[] = ["float32", "float64", "int16", "int32", "int64", "uint8", "uint16"];
type Typed = Float32Array | Float64Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;
const CTOR: Record<Dt, new (n: number) => Typed> = {
  float32: Float32Array,
  float64: Float64Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
};
const isFloat = (d: Dt) => d === "float32" || d === "float64";

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const cStrides = (shape: readonly number[]) => shape.map((_, k) => prod(shape.slice(k + 1)));

/** Every coordinate of a grid of `counts`, row-major. */
function gridOf(counts: readonly number[]): number[][] {
  let out: number[][] = [[]];
  for (const n of counts) out = out.flatMap((p) => Array.from({ length: n }, (_, i) => [...p, i]));
  return out;
}

interface Case {
  readonly id: string;
  readonly desc: string;
  readonly dtype: Dt;
  readonly shape: number[];
  readonly chunks: number[];
  readonly shards: number[];
  /** The values to expect (zeros where inner chunks or shards are missing), as numbers. */
  readonly values: number[];
  readonly local: string;
  readonly url: string;
}

/** Write a random sharded array; zero whole inner chunks (left out by the writer) and delete some shard files. */
async function makeCase(seed: number, k: number): Promise<Case> {
  const r = new Rng(seed * 100 + k);
  const dtype = r.pick(DTYPES);
  const ndim = r.int(1, 3);
  const maxLen = [0, 70, 24, 10][ndim]!;
  const shape = Array.from({ length: ndim }, () => r.int(1, maxLen));
  const chunks = shape.map((n) => r.int(1, Math.max(1, Math.ceil(n / 2))));
  const shards = chunks.map((c) => c * r.int(1, 3));
  const n = prod(shape);
  const values = Array.from({ length: n }, () => {
    if (dtype === "float32") return Math.fround((r.next() - 0.3) * 100);
    if (dtype === "float64") return (r.next() - 0.3) * 1e4;
    if (dtype === "uint8") return r.int(1, 255);
    if (dtype === "uint16") return r.int(1, 65535);
    if (dtype === "int16") return r.int(-3000, 3000) || 1;
    return r.int(-100000, 100000) || 1;
  });
  const strides = cStrides(shape);
  const zeroRegion = (lo: readonly number[], hi: readonly number[]) => {
    for (const c of gridOf(lo.map((l, a) => Math.max(0, Math.min(hi[a]!, shape[a]!) - l))))
      values[c.reduce((s, x, a) => s + (x + lo[a]!) * strides[a]!, 0)] = 0;
  };
  const innerGrid = shape.map((s, a) => Math.ceil(s / chunks[a]!));
  const zeroed: number[][] = [];
  for (const ic of gridOf(innerGrid)) {
    if (!r.chance(0.2)) continue;
    zeroed.push(ic);
    zeroRegion(
      ic.map((c, a) => c * chunks[a]!),
      ic.map((c, a) => (c + 1) * chunks[a]!),
    );
  }
  const data = new CTOR[dtype](n);
  values.forEach((v, i) => {
    if (data instanceof BigInt64Array) data[i] = BigInt(v);
    else data[i] = v;
  });
  const compressor = r.pick<CompressorConfig | null | undefined>([
    null,
    undefined,
    { id: "gzip", level: 1 },
    { id: "blosc", cname: "zstd", clevel: 3, shuffle: 1 },
  ]);
  const id = `s${seed}-c${k}`;
  const local = path.join(ROOT, `${id}.zarr`);
  await fromTypedArray(data, shape, { chunks: shape.map((s, a) => Math.min(s, chunks[a]! * r.int(1, 2) + r.int(0, 1))) }).toZarr(local, {
    format: 3,
    chunks,
    shards,
    ...(compressor === undefined ? {} : { compressor }),
    progress: false,
  });
  // delete some shard files: whole shards missing
  const deleted: number[][] = [];
  for (const sc of gridOf(shape.map((s, a) => Math.ceil(s / shards[a]!)))) {
    const file = path.join(local, "c", ...sc.map(String));
    let exists = true;
    try {
      statSync(file);
    } catch {
      exists = false;
    }
    if (!exists || !r.chance(0.15)) continue;
    rmSync(file);
    deleted.push(sc);
    zeroRegion(
      sc.map((c, a) => c * shards[a]!),
      sc.map((c, a) => (c + 1) * shards[a]!),
    );
  }
  const desc = JSON.stringify({ seed, k, dtype, shape, chunks, shards, compressor: compressor ?? "default", zeroedInner: zeroed, deletedShards: deleted });
  return { id, desc, dtype, shape, chunks, shards, values, local, url: `${server.url}/${id}.zarr` };
}

// ---------------------------------------------------------------------------------------------
// Queries and their expected values

interface AxisSel {
  readonly sel: Selector;
  readonly desc: unknown;
  readonly positions: number[];
  readonly drop: boolean;
}

function randomAxisSel(r: Rng, n: number): AxisSel {
  const kind = r.pick(["all", "slice", "slice", "step", "neg", "list", "mask", "int", "empty"] as const);
  const range = (start: number, stop: number, step: number) => {
    const out: number[] = [];
    if (step > 0) for (let i = start; i < stop; i += step) out.push(i);
    else for (let i = start; i > stop; i += step) out.push(i);
    return out;
  };
  switch (kind) {
    case "all":
      return { sel: null, desc: null, positions: range(0, n, 1), drop: false };
    case "slice":
    case "step": {
      const start = r.int(0, n - 1);
      const stop = r.int(start + 1, n);
      const step = kind === "step" ? r.int(2, 5) : 1;
      return { sel: slice(start, stop, step), desc: `${start}:${stop}:${step}`, positions: range(start, stop, step), drop: false };
    }
    case "neg": {
      const start = r.int(0, n - 1);
      const step = -r.int(1, 4);
      if (r.chance(0.5)) return { sel: slice(start, null, step), desc: `${start}::${step}`, positions: range(start, -1, step), drop: false };
      const stop = r.int(0, start);
      return { sel: slice(start, stop, step), desc: `${start}:${stop}:${step}`, positions: range(start, stop, step), drop: false };
    }
    case "list": {
      const list = Array.from({ length: r.int(1, 6) }, () => r.int(0, n - 1));
      return { sel: list, desc: list, positions: list, drop: false };
    }
    case "mask": {
      const mask = Array.from({ length: n }, () => r.chance(0.4));
      return { sel: mask, desc: `mask[${mask.map((b) => (b ? 1 : 0)).join("")}]`, positions: range(0, n, 1).filter((i) => mask[i]), drop: false };
    }
    case "int": {
      const i = r.int(0, n - 1);
      return { sel: i, desc: i, positions: [i], drop: true };
    }
    case "empty": {
      if (r.chance(0.5)) return { sel: [], desc: [], positions: [], drop: false };
      const at = r.int(0, n);
      return { sel: slice(at, at), desc: `${at}:${at}`, positions: [], drop: false };
    }
  }
}

interface Expected {
  readonly shape: number[];
  readonly values: number[];
}

function gather(c: Case, sels: readonly AxisSel[]): Expected {
  const strides = cStrides(c.shape);
  const full = sels.map((s) => s.positions.length);
  const values = gridOf(full).map((idx) => c.values[idx.reduce((a, i, k) => a + sels[k]!.positions[i]! * strides[k]!, 0)]!);
  return { shape: sels.filter((s) => !s.drop).map((s) => s.positions.length), values };
}

type Kind = "sum" | "mean" | "max";

function reduce(x: Expected, kind: Kind, axes: readonly number[]): Expected {
  const keep = x.shape.map((_, a) => !axes.includes(a));
  const outShape = x.shape.filter((_, a) => keep[a]);
  const outStrides = cStrides(outShape);
  const acc = new Array<number>(prod(outShape)).fill(kind === "max" ? -Infinity : 0);
  const count = prod(axes.map((a) => x.shape[a]!));
  gridOf(x.shape).forEach((idx, i) => {
    const o = idx.filter((_, a) => keep[a]).reduce((s, v, a) => s + v * outStrides[a]!, 0);
    acc[o] = kind === "max" ? Math.max(acc[o]!, x.values[i]!) : acc[o]! + x.values[i]!;
  });
  return { shape: outShape, values: kind === "mean" ? acc.map((v) => v / count) : acc };
}

interface Query {
  readonly desc: string;
  readonly build: (x: LazyArray) => LazyArray;
  readonly expected: Expected;
  /** Absolute + relative tolerance (0: exact). */
  readonly tol: number;
}

function randomQuery(r: Rng, c: Case): Query {
  const sels = c.shape.map((n) => randomAxisSel(r, n));
  const picked = gather(c, sels);
  const selDesc = `[${sels.map((s) => JSON.stringify(s.desc)).join(", ")}]`;
  const select = (x: LazyArray) => x.slice(...sels.map((s) => s.sel));
  const nonEmpty = picked.values.length > 0;
  if (nonEmpty && r.chance(0.4)) {
    const kind = r.pick(["sum", "mean", "max"] as const);
    const nd = picked.shape.length;
    const axes = nd === 0 || r.chance(0.3) ? picked.shape.map((_, a) => a) : [r.int(0, nd - 1)];
    const whole = axes.length === nd;
    const tol = kind === "max" ? 0 : isFloat(c.dtype) || kind === "mean" ? 1e-5 : 0;
    return {
      desc: `x.slice(${selDesc}).${kind}(${whole ? "" : `{ axis: ${axes[0]} }`})`,
      build: (x) => (whole ? select(x)[kind]() : select(x)[kind]({ axis: axes[0]! })),
      expected: reduce(picked, kind, axes),
      tol,
    };
  }
  return { desc: `x.slice(${selDesc})`, build: select, expected: picked, tol: 0 };
}

const nums = (data: ArrayLike<number | bigint>) => Array.from(data, Number);

function compare(got: { data: unknown; shape: readonly number[] }, want: Expected, tol: number): string | undefined {
  if (JSON.stringify(got.shape) !== JSON.stringify(want.shape)) return `shape ${JSON.stringify(got.shape)}, expected ${JSON.stringify(want.shape)}`;
  const g = nums(got.data as ArrayLike<number | bigint>);
  for (let i = 0; i < want.values.length; i++) {
    const w = want.values[i]!;
    const v = g[i]!;
    const ok = tol === 0 ? Object.is(v, w) || (v === 0 && w === 0) : Math.abs(v - w) <= tol * (1 + Math.abs(w));
    if (!ok)
      return `element ${i}: got ${v}, expected ${w} (first difference; got [${g.slice(0, 12).join(", ")}…], expected [${want.values.slice(0, 12).join(", ")}…])`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The server log: no byte twice

/** [start, end) of each answered ranged or whole-file request, per path. */
function servedRanges(root: string): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const e of server.log) {
    if (e.status !== 200 && e.status !== 206) continue;
    const size = statSync(path.join(root, e.path)).size;
    let span: [number, number];
    const m = e.range === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(e.range);
    if (m === null) span = [0, size];
    else if (m[1] === "") span = [Math.max(0, size - Number(m[2])), size];
    else span = [Number(m[1]), m[2] === "" ? size : Math.min(Number(m[2]) + 1, size)];
    const list = out.get(e.path) ?? [];
    list.push(span);
    out.set(e.path, list);
  }
  return out;
}

function overlaps(): string[] {
  const problems: string[] = [];
  for (const [p, spans] of servedRanges(ROOT)) {
    const sorted = [...spans].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]![0] < sorted[i - 1]![1]) problems.push(`${p}: bytes [${sorted[i - 1]!.join(", ")}) and [${sorted[i]!.join(", ")}) overlap`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------

const OFF: CoalesceOptions = { maxGap: 0, maxBytes: 1 };

function randomOn(r: Rng): CoalesceOptions {
  return { maxGap: r.pick([0, 16, 256, 4096, 1 << 20]), maxBytes: r.pick([64, 1024, 1 << 25]), maxWaste: r.pick([0, 0.25, 1e9]) };
}

describe("sharded zarr v3 reads over HTTP, randomized (fixed seeds)", () => {
  for (const seed of SEEDS) {
    for (let k = 0; k < CASES_PER_SEED; k++) {
      it(`seed ${seed} case ${k}`, async () => {
        const c = await makeCase(seed, k);
        const r = new Rng(seed * 7919 + k);
        const problems: string[] = [];
        const whole = await (await fromZarr(c.url)).compute({ coalesce: randomOn(r) });
        const bad = compare(whole, { shape: c.shape, values: c.values }, 0);
        if (bad !== undefined) problems.push(`whole array: ${bad}`);
        for (let q = 0; q < QUERIES_PER_CASE; q++) {
          const query = randomQuery(r, c);
          const on = randomOn(r);
          const where = (what: string) => `${query.desc} [${what}]`;
          const results: [string, { data: unknown; shape: readonly number[] }][] = [];
          for (const [label, coalesce] of [
            [`coalesce ${JSON.stringify(on)}`, on],
            ["coalesce off", OFF],
          ] as const) {
            const x = query.build(await fromZarr(c.url)); // a fresh store: no index cached
            server.reset();
            const p = await x.planAsync({ coalesce });
            const got = await x.compute({ coalesce });
            results.push([label, got]);
            const seen = server.totals();
            const missing = server.log.filter((e) => e.status === 404).length;
            // a missing shard's index read answers 404 with no body: counted as a request either way
            if (p.requests !== seen.requests || p.readBytes !== seen.bytes) {
              problems.push(
                where(
                  `${label}: planAsync() predicted ${p.requests} requests / ${p.readBytes} bytes, the server saw ${seen.requests} / ${seen.bytes} (${missing} 404s): ${JSON.stringify(server.log.map((e) => [e.path.replace(`/${c.id}.zarr/`, ""), e.range, e.status]))}`,
                ),
              );
            }
            if (!p.exact) problems.push(where(`${label}: planAsync() not exact`));
            for (const o of overlaps()) problems.push(where(`${label}: ${o}`));
            // indexes now cached: plan() is exact, reads no index, and equals the next compute
            const again = x.plan({ coalesce });
            server.reset();
            const got2 = await x.compute({ coalesce });
            results.push([`${label}, indexes cached`, got2]);
            const seen2 = server.totals();
            if (!again.exact || (again.indexes?.requests ?? 0) !== 0 || again.requests !== seen2.requests || again.readBytes !== seen2.bytes) {
              problems.push(
                where(
                  `${label}, cached: plan() ${JSON.stringify({ exact: again.exact, requests: again.requests, readBytes: again.readBytes, indexes: again.indexes })}, the server saw ${JSON.stringify(seen2)}`,
                ),
              );
            }
            for (const o of overlaps()) problems.push(where(`${label}, cached: ${o}`));
          }
          const local = await query.build(await fromZarr(c.local)).compute();
          results.push(["local directory", local]);
          for (const [label, got] of results) {
            const d = compare(got, query.expected, query.tol);
            if (d !== undefined) problems.push(where(`${label}: ${d}`));
          }
          // (b): coalescing on and off (and a local read) give identical values, bit for bit
          const ref = nums(results[0]![1].data as ArrayLike<number | bigint>);
          for (const [label, got] of results.slice(1)) {
            const v = nums(got.data as ArrayLike<number | bigint>);
            if (v.length !== ref.length || v.some((e, i) => !Object.is(e, ref[i]))) problems.push(where(`${label}: values differ from ${results[0]![0]}`));
          }
        }
        assert.deepEqual(problems, [], c.desc);
      });
    }
  }
});
