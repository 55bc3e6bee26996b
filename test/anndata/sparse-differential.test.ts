// A randomized differential test of sparse X (CSR and CSC) against scipy/numpy: random stores and
// random queries written by sparse_differential.py, answered by zask from disk and over HTTP, on
// the main thread and on the worker pool, compared value by value with the reference's answers.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { FileSystemStore } from "@zarrita/storage";
import { SparseArray, readZarr } from "@zask/anndata";
import { Profiler } from "@zask/scheduler";
import { HttpStore, SparseArray as LazySparse, fromTypedArray, slice, type Array as LazyArray, type ComputeOptions, type Selector } from "@zask/array";
import * as zarr from "zarrita";
import { serve, tempDir, type FixtureServer } from "./fixtures.ts";
import { PYTHON, skipPython } from "./python.ts";

const SCRIPT = fileURLToPath(new URL("./sparse_differential.py", import.meta.url));
const SEEDS = [11, 202, 3003];

type Sel =
  | { kind: "all" }
  | { kind: "int"; value: number }
  | { kind: "slice"; start: number | null; stop: number | null; step: number | null }
  | { kind: "list"; value: number[] }
  | { kind: "mask"; value: boolean[] };
type Step =
  | { op: "map"; name: "mul" | "mulrow" | "mulcol" | "log1p" | "abs" | "pow"; value: number | null }
  | { op: "select"; rows: Sel; cols: Sel }
  | { op: "reduce"; kind: Reduction; axis: number | null; keepdims: boolean };
type Reduction = "sum" | "mean" | "var" | "std" | "min" | "max" | "countNonzero" | "any" | "all" | "argmin" | "argmax";
/** A JSON value: a number, null for NaN, "inf" or "-inf". */
type Value = number | null | "inf" | "-inf";
interface Query {
  steps: Step[];
  dtype: string;
  shape: number[];
  values: Value[];
  /** Per value, the magnitude its rounding errors scale with (sums of |x|, means of x²), when not |value|. */
  scale?: Value[];
}
interface Store {
  name: string;
  params: Record<string, string | number> & { format: "csr" | "csc"; nnz: number };
  queries: Query[];
}

/** How a store is opened and computed: each way reaches other code paths. */
interface Mode {
  label: string;
  http: boolean;
  /** SparseArray.open's options; undefined: readZarr's defaults. */
  open?: (store: Store) => { blockNnz: number; smallReadBytes?: number };
  /** Whether every read decodes and gathers on the worker pool (checked: some tasks must run there). */
  pool: boolean;
  compute: ComputeOptions;
}
const smallBlocks = (s: Store): number => Math.max(3, Math.ceil(s.params.nnz / 10));
const MODES: Mode[] = [
  { label: "disk, readZarr", http: false, pool: false, compute: {} },
  { label: "http, readZarr", http: true, pool: false, compute: {} },
  { label: "disk, blocks of nnz/10, main thread", http: false, pool: false, open: (s) => ({ blockNnz: smallBlocks(s) }), compute: {} },
  {
    label: "http, blocks of nnz/10, worker pool",
    http: true,
    pool: true,
    open: (s) => ({ blockNnz: smallBlocks(s), smallReadBytes: 0 }),
    compute: { inlineThreshold: 0 },
  },
];

function selector(s: Sel): Selector {
  switch (s.kind) {
    case "all":
      return null;
    case "int":
      return s.value;
    case "slice":
      return slice(s.start, s.stop, s.step);
    default:
      return s.value;
  }
}

/** The float64 vector of a `mulrow`/`mulcol` step, as sparse_differential.py's `vector(n)`. */
const vector = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => ((i * 7) % 11) + 1).map((v) => v / 8);

/** The query's lazy array: its steps applied to X in order. */
function build(X: LazyArray, steps: readonly Step[]): LazyArray {
  let x = X;
  for (const step of steps) {
    if (step.op === "select") x = x.slice(selector(step.rows), selector(step.cols));
    else if (step.op === "reduce") x = x[step.kind]({ ...(step.axis === null ? {} : { axis: step.axis }), keepdims: step.keepdims });
    else if (step.name === "mulrow") x = x.mul(fromTypedArray(vector(x.shape[1]!), [x.shape[1]!]));
    else if (step.name === "mulcol") x = x.mul(fromTypedArray(vector(x.shape[0]!), [x.shape[0]!, 1]));
    else if (step.name === "mul") x = x.mul(step.value!);
    else if (step.name === "pow") x = x.pow(step.value!);
    else x = step.name === "abs" ? x.abs() : x.log1p();
  }
  return x;
}

/** The steps as a short string for messages, masks as their true positions. */
function describeSteps(steps: readonly Step[]): string {
  return JSON.stringify(steps, (key, v) =>
    (key === "rows" || key === "cols") && v.kind === "mask" ? { mask: v.value.length, true: v.value.flatMap((b: boolean, i: number) => (b ? [i] : [])) } : v,
  );
}

const num = (v: Value): number => (v === null ? Number.NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : v);
/** Relative tolerance by result dtype: integers and bools exact; floats a few units in the last place of float32, or about 5000 of float64. */
const RTOL: Record<string, number> = { float32: 5e-7, float64: 1e-12 };

/** Where `got` differs from `want` (dtype, shape, then the first few values), or []. */
function compare(got: { data: ArrayLike<unknown>; shape: readonly number[]; dtype: string }, want: Query): string[] {
  const problems: string[] = [];
  if (got.dtype !== want.dtype) problems.push(`dtype: expected ${want.dtype}, got ${got.dtype}`);
  if (JSON.stringify(got.shape) !== JSON.stringify(want.shape)) {
    problems.push(`shape: expected [${want.shape}], got [${got.shape}]`);
    return problems;
  }
  if (got.data.length !== want.values.length) return [...problems, `length: expected ${want.values.length}, got ${got.data.length}`];
  const rtol = RTOL[want.dtype] ?? 0;
  let bad = 0;
  for (let i = 0; i < want.values.length; i++) {
    const w = num(want.values[i]!);
    const g = Number(got.data[i] as number | bigint);
    const scale = want.scale === undefined ? 0 : num(want.scale[i]!);
    const tol = rtol * (Math.abs(w) + (Number.isFinite(scale) ? scale : 0));
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= tol;
    if (!ok && bad++ < 5) problems.push(`[${i}] expected ${w}, got ${g} (tolerance ${tol})`);
  }
  if (bad > 5) problems.push(`… ${bad} values differ in all, of ${want.values.length}`);
  return problems;
}

interface Compressed {
  format: "csr" | "csc";
  shape: readonly number[];
  indptr: ArrayLike<number | bigint>;
  indices: ArrayLike<number | bigint>;
  data: ArrayLike<number | bigint>;
}

/** The dense C-order values of a compressed answer, checked for structure first; duplicates add up, as scipy's toarray. */
function densify(m: Compressed, dtype: string): { data: number[]; problems: string[] } {
  const [rows, cols] = m.shape as [number, number];
  const [major, minor] = m.format === "csr" ? [rows, cols] : [cols, rows];
  const problems: string[] = [];
  const ip = Array.from(m.indptr, Number);
  if (ip.length !== major + 1) problems.push(`indptr has ${ip.length} entries for ${major} major positions`);
  if (ip[0] !== 0 || ip.at(-1) !== m.indices.length || m.indices.length !== m.data.length) {
    problems.push(`indptr runs ${ip[0]}..${ip.at(-1)} over ${m.indices.length} indices and ${m.data.length} values`);
  }
  const out = new Array<number>(rows * cols).fill(0);
  for (let a = 0; a < major && problems.length === 0; a++) {
    if (ip[a + 1]! < ip[a]!) problems.push(`indptr decreases at ${a}`);
    for (let p = ip[a]!; p < ip[a + 1]!; p++) {
      const b = Number(m.indices[p]!);
      if (!(b >= 0 && b < minor)) {
        problems.push(`index ${b} at ${p} outside [0, ${minor})`);
        break;
      }
      const at = m.format === "csr" ? a * cols + b : b * cols + a;
      out[at] = out[at]! + Number(m.data[p]!);
    }
  }
  if (dtype === "bool") for (let i = 0; i < out.length; i++) out[i] = out[i] === 0 ? 0 : 1;
  return { data: out, problems };
}

interface Generated {
  seed: number;
  dir: string;
  stores: Store[];
}

// The stores are written once, before the tests are declared: their list names the tests.
const generated: Generated[] = [];
let cleanup = async (): Promise<void> => {};
if (skipPython === false) {
  const tmp = await tempDir();
  cleanup = tmp.cleanup;
  const run = promisify(execFile);
  for (const g of await Promise.all(
    SEEDS.map(async (seed) => {
      const dir = path.join(tmp.dir, `seed-${seed}`);
      const { stdout } = await run(PYTHON, [SCRIPT, String(seed), dir], { maxBuffer: 1 << 24 });
      const doc = JSON.parse(await readFile(stdout.trim().split("\n").pop()!, "utf8")) as { stores: Store[] };
      return { seed, dir, stores: doc.stores };
    }),
  )) {
    generated.push(g);
  }
}

async function openX(g: Generated, store: Store, mode: Mode, server: FixtureServer): Promise<LazyArray> {
  const base = mode.http ? `${server.url}/seed-${g.seed}/${store.name}` : path.join(g.dir, store.name);
  if (mode.open === undefined) {
    const adata = await readZarr(base);
    return adata.X!;
  }
  const root = zarr.root(mode.http ? new HttpStore(base) : new FileSystemStore(base));
  return SparseArray.open(await zarr.open(root.resolve("X"), { kind: "group" }), mode.open(store));
}

describe("sparse X against scipy on random stores and queries", { skip: skipPython }, () => {
  let server: FixtureServer;
  before(async () => {
    server = await serve(path.dirname(generated[0]!.dir));
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  for (const g of generated) {
    for (const store of g.stores) {
      const where = `seed ${g.seed}, store ${store.name} ${JSON.stringify(store.params)}`;
      it(`${store.name}: every query's dtype, shape and values equal numpy's and scipy's, in ${MODES.length} ways of reading`, async () => {
        const failures: string[] = [];
        for (const mode of MODES) {
          const requests = server.requests.length;
          const X = await openX(g, store, mode, server);
          assert.ok(X instanceof LazySparse, `${where}: X opens as a sparse array`);
          assert.equal((X as LazySparse).format, store.params.format, `${where}: format`);
          let pooled = 0;
          for (const [qi, q] of store.queries.entries()) {
            const what = `${where}, ${mode.label}, query ${qi} ${describeSteps(q.steps)}`;
            const prof = new Profiler();
            const options: ComputeOptions = { ...mode.compute, callbacks: [prof] };
            try {
              const x = build(X, q.steps);
              for (const p of compare(await x.compute(options), q)) failures.push(`${what}: compute(): ${p}`);
              pooled += prof.tasks.filter((t) => t.lane.includes("pool")).length;
              if (x instanceof LazySparse) {
                const s = await x.computeSparse(options);
                const dtype = s.dtype;
                const dense = densify(s, dtype);
                const problems = dense.problems.length > 0 ? dense.problems : compare({ data: dense.data, shape: s.shape, dtype }, q);
                if (s.format !== store.params.format) problems.push(`format ${s.format}`);
                for (const p of problems) failures.push(`${what}: computeSparse(): ${p}`);
              }
            } catch (e) {
              failures.push(`${what}: threw ${String(e)}`);
            }
          }
          if (mode.pool && store.params.nnz > 0) assert.ok(pooled > 0, `${where}, ${mode.label}: no task ran on the worker pool`);
          if (mode.http && store.params.nnz > 0) {
            const chunks = server.requests.slice(requests).filter((r) => /\/X\/(data|indices)\/\d+$/.test(r));
            assert.ok(chunks.length > 0, `${where}, ${mode.label}: no data or indices chunk was requested over HTTP`);
          }
        }
        assert.equal(failures.length, 0, `${failures.length} discrepancies:\n${failures.join("\n")}`);
      });
    }
  }
});
