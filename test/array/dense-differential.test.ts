// A randomized differential test of the dense lazy Array against numpy: random zarr v2 arrays and
// random queries (selections, elementwise ops with scalars and broadcast arrays, where, astype,
// reductions, transpose, reshape, rechunk, concatenate, stack) written by dense_differential.py
// with numpy's answers (numpy >= 2's dtype rules), built lazily by zask over the arrays read from
// disk (by path, and through zarrita's FileSystemStore on the worker pool) and, for one seed,
// over HTTP, computed and compared value by value; plan() checked against what each compute read.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { FileSystemStore } from "@zarrita/storage";
import {
  type Array as LazyArray,
  type ComputeOptions,
  type DataType,
  type Operand,
  type ReductionKind,
  type Selector,
  concatenate,
  elementwise,
  fromZarr,
  type ElementwiseOp,
  reduction,
  slice,
  stack,
  where,
  type ZarrStore,
} from "@zask/array";
import * as zarr from "zarrita";
import { serve, tempDir, type FixtureServer } from "../anndata/fixtures.ts";
import { PYTHON, skipPython } from "../anndata/python.ts";

const SCRIPT = fileURLToPath(new URL("./dense_differential.py", import.meta.url));
const SEEDS = [6, 4, 1];
/** The seed whose arrays are also read over HTTP. */
const HTTP_SEED = SEEDS[0]!;

/** A JSON scalar: a Python int (decimal string), float (non-integral, or NaN/±inf) or bool. */
type Scalar = { int: string } | { float: number | "nan" | "inf" | "-inf" } | { bool: boolean };
type Sel = null | { int: number } | { slice: [number | null, number | null, number | null] } | { list: number[]; typed: boolean } | { mask: boolean[] };
type Tree =
  | { src: string }
  | { op: "slice"; x: Tree; sel: Sel[] }
  | { op: "ew"; name: ElementwiseOp; args: (Tree | Scalar)[] }
  | { op: "where"; args: (Tree | Scalar)[] }
  | { op: "astype"; x: Tree; dtype: DataType }
  | { op: "reduce"; kind: ReductionKind; x: Tree; axis: number | number[] | null; keepdims: boolean; ddof?: number; dtype?: DataType; splitEvery?: number }
  | { op: "transpose"; x: Tree; axes: number[] | null }
  | { op: "reshape"; x: Tree; shape: number[] }
  | { op: "rechunk"; x: Tree; chunks: number | (number | null | number[])[] }
  | { op: "concatenate" | "stack"; xs: Tree[]; axis: number };
/** A JSON value: a number, "nan", "inf", "-inf", or a decimal string (64-bit integers). */
type Value = number | string;
interface Query {
  family: string;
  expr: Tree;
  /** numpy's error, where numpy 2 raises: zask must throw too. */
  error?: string;
  dtype?: string;
  shape?: number[];
  values?: Value[];
  /** Per value, the absolute error allowed (inexact float answers only); "inf" where unbounded. */
  err?: Value[];
  /** For a plain read of one array: the chunks it touches, which plan() must count exactly. */
  chunksTouched?: number;
}
interface ArrayParams {
  shape: number[];
  dtype: string;
  chunks: number[];
  compressor: string;
  order: string;
  separator: string;
  fill: unknown;
  style: string;
  chunksOnDisk: number;
  missingChunks: number;
}
interface Doc {
  seed: number;
  arrays: Record<string, ArrayParams>;
  primaries: { name: string; partners: string[]; queries: Query[] }[];
}
interface Generated {
  seed: number;
  dir: string;
  doc: Doc;
}

/** How the arrays are opened and computed: each way reaches other code paths. */
interface Mode {
  label: string;
  open: (g: Generated, name: string, server: FixtureServer) => Promise<LazyArray>;
  compute: ComputeOptions;
  http: boolean;
}
const MODES: Mode[] = [
  { label: "disk, fromZarr(path)", http: false, compute: {}, open: (g, name) => fromZarr(path.join(g.dir, `${name}.zarr`)) },
  {
    label: "disk, fromZarr(zarrita FileSystemStore array), worker pool",
    http: false,
    compute: { inlineThreshold: 0 },
    open: async (g, name) => fromZarr(await zarr.open(new FileSystemStore(path.join(g.dir, `${name}.zarr`)), { kind: "array" })),
  },
  { label: "http, fromZarr(url)", http: true, compute: {}, open: (g, name, server) => fromZarr(`${server.url}/seed-${g.seed}/${name}.zarr`) },
];

function isScalar(t: Tree | Scalar): t is Scalar {
  return "int" in t || "float" in t || "bool" in t;
}

function scalar(s: Scalar): number | bigint | boolean {
  if ("bool" in s) return s.bool;
  if ("int" in s) {
    const n = Number(s.int);
    return Number.isSafeInteger(n) ? n : BigInt(s.int);
  }
  return num(s.float);
}

function selector(s: Sel): Selector {
  if (s === null) return null;
  if ("int" in s) return s.int;
  if ("slice" in s) return slice(s.slice[0], s.slice[1], s.slice[2]);
  if ("mask" in s) return s.mask;
  return s.typed ? Int32Array.from(s.list) : s.list;
}

/** The query's lazy array, built from the arrays opened by name. */
function build(t: Tree, arrays: ReadonlyMap<string, LazyArray>): LazyArray {
  if ("src" in t) return arrays.get(t.src)!;
  const operand = (o: Tree | Scalar): Operand => (isScalar(o) ? scalar(o) : build(o, arrays));
  switch (t.op) {
    case "slice":
      return build(t.x, arrays).slice(...t.sel.map(selector));
    case "ew":
      return elementwise(t.name, ...t.args.map(operand));
    case "where":
      return where(operand(t.args[0]!), operand(t.args[1]!), operand(t.args[2]!));
    case "astype":
      return build(t.x, arrays).astype(t.dtype);
    case "reduce":
      return reduction(build(t.x, arrays), t.kind, {
        ...(t.axis === null ? {} : { axis: t.axis }),
        keepdims: t.keepdims,
        ...(t.ddof === undefined ? {} : { ddof: t.ddof }),
        ...(t.dtype === undefined ? {} : { dtype: t.dtype }),
        ...(t.splitEvery === undefined ? {} : { splitEvery: t.splitEvery }),
      });
    case "transpose":
      return build(t.x, arrays).transpose(t.axes ?? undefined);
    case "reshape":
      return build(t.x, arrays).reshape(t.shape);
    case "rechunk":
      return build(t.x, arrays).rechunk(t.chunks);
    case "concatenate":
      return concatenate(
        t.xs.map((x) => build(x, arrays)),
        { axis: t.axis },
      );
    case "stack":
      return stack(
        t.xs.map((x) => build(x, arrays)),
        { axis: t.axis },
      );
  }
}

/** The arrays a tree reads. */
function sources(t: Tree | Scalar, out = new Set<string>()): Set<string> {
  if (isScalar(t)) return out;
  if ("src" in t) out.add(t.src);
  else if ("x" in t) sources(t.x, out);
  else if ("args" in t) for (const a of t.args) sources(a, out);
  else for (const x of t.xs) sources(x, out);
  return out;
}

/** The tree as a short string for messages: masks as their length and true positions. */
function describeTree(t: Tree): string {
  return JSON.stringify(t, (key, v) => (key === "mask" ? { length: v.length, true: v.flatMap((b: boolean, i: number) => (b ? [i] : [])) } : v));
}

const num = (v: Value): number => (v === "nan" ? Number.NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : Number(v));

/** Where `got` differs from numpy's answer `want` (dtype, shape, then the first few values), or []. */
function compare(got: { data: ArrayLike<unknown>; shape: readonly number[]; dtype: string }, want: Query): string[] {
  const problems: string[] = [];
  if (got.dtype !== want.dtype) problems.push(`dtype: expected ${want.dtype}, got ${got.dtype}`);
  if (JSON.stringify(got.shape) !== JSON.stringify(want.shape)) return [...problems, `shape: expected [${want.shape}], got [${got.shape}]`];
  const values = want.values!;
  if (got.data.length !== values.length) return [...problems, `length: expected ${values.length}, got ${got.data.length}`];
  const float = want.dtype === "float32" || want.dtype === "float64";
  let bad = 0;
  for (let i = 0; i < values.length; i++) {
    const g = got.data[i] as number | bigint;
    let ok: boolean;
    let shown = String(values[i]);
    if (!float) {
      // integers and bools exactly; 64-bit ones as bigints
      ok = typeof g === "bigint" || typeof values[i] === "string" ? BigInt(g) === BigInt(values[i]!) : g === values[i];
    } else {
      const w = num(values[i]!);
      const tol = want.err === undefined ? 0 : num(want.err[i]!);
      const x = Number(g);
      ok = Number.isNaN(w) ? Number.isNaN(x) : !Number.isFinite(w) ? x === w : Math.abs(x - w) <= tol;
      if (tol > 0) shown += ` ± ${tol}`;
    }
    if (!ok && bad++ < 5) problems.push(`[${i}] expected ${shown}, got ${String(g)}`);
  }
  if (bad > 5) problems.push(`… ${bad} of ${values.length} values differ`);
  return problems;
}

// The arrays are written once, before the tests are declared: their list names the tests.
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
      const doc = JSON.parse(await readFile(stdout.trim().split("\n").pop()!, "utf8")) as Doc;
      return { seed, dir, doc };
    }),
  )) {
    generated.push(g);
  }
}

const chunkRequests = (stores: readonly ZarrStore[]): number => stores.reduce((n, s) => n + s.counters.chunkRequests, 0);
const isMetadata = (p: string): boolean => /\/\.z(array|attrs|group|metadata)$|\/zarr\.json$/.test(p);

/** Resolves once no request has reached `server` for 20 ms (a response a failed compute dropped never finishes). */
async function quiet(server: FixtureServer): Promise<void> {
  for (;;) {
    const n = server.requests.length;
    await new Promise((r) => setTimeout(r, 20));
    if (n === server.requests.length) return;
  }
}

describe("the dense lazy Array against numpy on random zarr arrays and queries", { skip: skipPython }, () => {
  let server: FixtureServer;
  before(async () => {
    server = await serve(path.dirname(generated[0]!.dir));
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  for (const g of generated) {
    for (const primary of g.doc.primaries) {
      const names = [primary.name, ...primary.partners];
      const params = names.map((n) => `${n} ${JSON.stringify(g.doc.arrays[n])}`).join("; ");
      const context = `seed ${g.seed}, arrays ${params}`;
      const modes = MODES.filter((m) => !m.http || g.seed === HTTP_SEED);
      it(`seed ${g.seed}, ${primary.name} and partners: ${primary.queries.length} queries' dtype, shape and values equal numpy's, in ${modes.length} ways of reading`, async () => {
        const failures: string[] = [];
        for (const mode of modes) {
          const arrays = new Map<string, LazyArray>();
          for (const n of names) arrays.set(n, await mode.open(g, n, server));
          for (const [name, x] of arrays) {
            const p = g.doc.arrays[name]!;
            assert.deepEqual([x.dtype, x.shape], [p.dtype, p.shape], `${context}, ${mode.label}: ${name} opens with numpy's dtype and shape`);
          }
          for (const [qi, q] of primary.queries.entries()) {
            const what = `${mode.label}, query ${qi} (${q.family}) ${describeTree(q.expr)}`;
            let x: LazyArray;
            try {
              x = build(q.expr, arrays);
            } catch (e) {
              if (q.error === undefined) failures.push(`${what}: building threw ${String(e)}`);
              continue;
            }
            try {
              // a query that failed may leave requests in flight, which this process's server
              // logs only now: each query's count starts once the server is quiet
              if (mode.http) await quiet(server);
              const plan = x.plan();
              const stores = x.stores;
              const before = chunkRequests(stores);
              const served = server.requests.length;
              const answered = server.answers.length;
              const got = await x.compute(mode.compute);
              if (q.error !== undefined) {
                failures.push(`${what}: numpy raises ${q.error}, zask answered dtype ${got.dtype} shape [${got.shape}]`);
                continue;
              }
              for (const p of compare(got, q)) failures.push(`${what}: ${p}`);
              // plan(): what the compute then read, and no more chunks than the arrays have
              const read = chunkRequests(stores) - before;
              if (plan.requests !== read) failures.push(`${what}: plan() counts ${plan.requests} chunk requests, the compute made ${read}`);
              const chunks = [...sources(q.expr)].reduce((n, s) => n + arrays.get(s)!.numBlocks.reduce((a, b) => a * b, 1), 0);
              if (plan.requests > chunks) failures.push(`${what}: plan() counts ${plan.requests} chunk requests, more than the ${chunks} chunks read from`);
              if (q.chunksTouched !== undefined && plan.requests !== q.chunksTouched) {
                failures.push(`${what}: plan() counts ${plan.requests} chunk requests, the selection touches ${q.chunksTouched} chunks`);
              }
              if (mode.http) {
                const sent = server.requests.slice(served).filter((r) => !isMetadata(r));
                if (sent.length !== plan.requests) {
                  const twice = new Set(sent.filter((r, i) => sent.indexOf(r) !== i));
                  const statuses = server.answers
                    .slice(answered)
                    .filter((a) => twice.has(a.path))
                    .map((a) => `${a.path} ${a.status}`);
                  failures.push(
                    `${what}: plan() counts ${plan.requests} chunk requests, the server saw ${sent.length} (asked more than once: ${statuses.join(", ") || "none"})`,
                  );
                }
              }
            } catch (e) {
              if (q.error === undefined) failures.push(`${what}: threw ${String(e)}`);
            }
          }
        }
        assert.equal(failures.length, 0, `${context}\n${failures.length} discrepancies:\n${failures.join("\n")}`);
      });
    }
  }
});
