// A randomized round-trip differential test against anndata 0.8: roundtrip_differential.py writes
// random AnnData stores (obs/var columns of every kind, dense/sparse/absent X, layers, obsm/varm,
// obsp/varp, nested uns, raw; random compressors, chunks and orders; empty and 1×1 shapes) and a
// description of every element as the zarr store holds it. zask reads each store (eagerly,
// lazily, and one per seed over HTTP) and must give exactly the described values; it writes each
// back (from the eager read, from the lazy read, which streams lazy arrays, and from the HTTP read),
// and anndata, reading the rewritten store, must find every part equal to the original, dtypes
// and bits included (roundtrip_differential.py compare). A zarr v3 rewrite is read back by zask.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { AnnData, Categorical, DataFrame, MaskedArray, NumericScalar, SparseMatrix, readZarr, writeZarr } from "@zask/anndata";
import { Array as LazyArray, SparseArray as LazySparse } from "@zask/array";
import { serve, tempDir, type FixtureServer } from "./fixtures.ts";
import { PYTHON, skipPython } from "./python.ts";

const SCRIPT = fileURLToPath(new URL("./roundtrip_differential.py", import.meta.url));
const SEEDS = [11, 202, 3003];

/** A JSON value of the description: numbers, booleans, strings; "nan"/"inf"/"-inf" for floats, decimal strings for integers beyond 2^53. */
type Value = number | string | boolean;
interface ArrayDesc {
  t: "array" | "string-array";
  dtype: string;
  shape: number[];
  values: Value[];
}
type Desc =
  | { t: "anndata" | "raw" | "dict"; items: Record<string, Desc> }
  | { t: "dataframe"; indexKey: string; index: string[]; columns: string[]; data: Record<string, Desc> }
  | { t: "categorical"; ordered: boolean; codes: ArrayDesc; categories: ArrayDesc }
  | { t: "nullable-integer" | "nullable-boolean"; values: ArrayDesc; mask: ArrayDesc | null }
  | { t: "csr" | "csc"; shape: [number, number]; indptr: ArrayDesc; indices: ArrayDesc; data: ArrayDesc }
  | ArrayDesc
  | { t: "numeric-scalar" | "string"; dtype: string; value: Value };
interface Store {
  name: string;
  params: Record<string, unknown>;
  tree: Desc & { t: "anndata" };
}
interface Generated {
  seed: number;
  dir: string;
  stores: Store[];
}
interface Pair {
  label: string;
  reference: string;
  written: string;
}

const run = promisify(execFile);

// The stores are written once, before the tests are declared: their list names the tests.
const generated: Generated[] = [];
let root = "";
let cleanup = async (): Promise<void> => {};
if (skipPython === false) {
  const tmp = await tempDir();
  root = tmp.dir;
  cleanup = tmp.cleanup;
  for (const g of await Promise.all(
    SEEDS.map(async (seed) => {
      const dir = path.join(tmp.dir, `seed-${seed}`);
      const { stdout } = await run(PYTHON, [SCRIPT, "generate", String(seed), dir], { maxBuffer: 1 << 24 });
      const doc = JSON.parse(await readFile(stdout.trim().split("\n").pop()!, "utf8")) as { stores: Store[] };
      return { seed, dir, stores: doc.stores };
    }),
  )) {
    generated.push(g);
  }
}

// -- comparing what zask read with the description ------------------------------------------------

const show = (x: unknown): string => {
  const s = typeof x === "bigint" ? `${x}n` : typeof x === "string" ? JSON.stringify(x) : String(x);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
};

/** Whether element `got` (a number, bigint, 0/1 byte or string) is the described value `want` of `dtype`. */
function sameValue(got: unknown, want: Value, dtype: string): boolean {
  if (dtype === "string") return got === want;
  // bool arrays hold 0/1 bytes; bool categories may be booleans
  if (dtype === "bool") return (got === 0 || got === 1 || typeof got === "boolean") && Boolean(got) === want;
  if (dtype === "float32" || dtype === "float64") {
    if (typeof got !== "number") return false;
    if (want === "nan") return Number.isNaN(got);
    if (want === "inf") return got === Infinity;
    if (want === "-inf") return got === -Infinity;
    return Object.is(got, want);
  }
  if (dtype === "int64" || dtype === "uint64") return typeof got === "bigint" && got === BigInt(want as number | string);
  return typeof got === "number" && got === Number(want);
}

/** Problems of values `got` (C order) against the description's, with dtype `dtype`. */
function compareValues(got: ArrayLike<unknown>, want: ArrayDesc, where: string, out: string[]): void {
  if (got.length !== want.values.length) {
    out.push(`${where}: ${got.length} values instead of ${want.values.length}`);
    return;
  }
  let bad = 0;
  for (let i = 0; i < want.values.length; i++) {
    if (!sameValue(got[i], want.values[i]!, want.dtype) && bad++ < 3) {
      out.push(`${where}: [${i}] is ${show(got[i])} instead of ${show(want.values[i])} (${want.dtype})`);
    }
  }
  if (bad > 3) out.push(`${where}: ${bad} of ${want.values.length} values differ`);
}

function typedName(x: unknown): string {
  return Array.isArray(x) ? "string[]" : ((x as object | undefined)?.constructor?.name ?? typeof x);
}

/** The dtype a plain typed array of values has, as zask names it. */
const TYPED: Record<string, string> = {
  Int8Array: "int8",
  Int16Array: "int16",
  Int32Array: "int32",
  BigInt64Array: "int64",
  Uint8Array: "uint8",
  Uint16Array: "uint16",
  Uint32Array: "uint32",
  BigUint64Array: "uint64",
  Float32Array: "float32",
  Float64Array: "float64",
  "string[]": "string",
};

/** An n-d array, eager (`{data, shape, dtype}`) or lazy (computed now), against an array description. */
async function checkArray(got: unknown, want: ArrayDesc, where: string, out: string[]): Promise<void> {
  let nd = got as { data: ArrayLike<unknown>; shape: readonly number[]; dtype: string };
  if (got instanceof LazyArray) {
    if (got.dtype !== want.dtype) out.push(`${where}: lazy dtype ${got.dtype} instead of ${want.dtype}`);
    nd = (await got.compute()) as never;
  }
  if (typeof nd !== "object" || nd === null || !("data" in nd) || !("shape" in nd)) {
    out.push(`${where}: ${typedName(got)} instead of an array of ${want.dtype} [${want.shape}]`);
    return;
  }
  if (nd.dtype !== want.dtype) out.push(`${where}: dtype ${nd.dtype} instead of ${want.dtype}`);
  if (JSON.stringify(nd.shape) !== JSON.stringify(want.shape)) {
    out.push(`${where}: shape [${nd.shape}] instead of [${want.shape}]`);
    return;
  }
  const holder = want.dtype === "bool" ? "uint8" : want.dtype;
  if (TYPED[typedName(nd.data)] !== holder) out.push(`${where}: values in a ${typedName(nd.data)} for dtype ${want.dtype}`);
  compareValues(nd.data, want, where, out);
}

function keysOf(o: object): string[] {
  return Object.keys(o).sort();
}

/** Every difference between what zask read (`got`) and the description (`want`), into `out`. */
async function check(got: unknown, want: Desc, where: string, out: string[]): Promise<void> {
  switch (want.t) {
    case "anndata": {
      if (!(got instanceof AnnData)) return void out.push(`${where}: ${typedName(got)} instead of an AnnData`);
      const items = want.items;
      if ("X" in items) await check(got.X, items["X"]!, `${where}X`, out);
      else if (got.X !== undefined) out.push(`${where}X: present, the store has none`);
      await check(got.obs, items["obs"]!, `${where}obs`, out);
      await check(got.var, items["var"]!, `${where}var`, out);
      for (const slot of ["obsm", "varm", "obsp", "varp", "layers", "uns"] as const) {
        await check(got[slot], items[slot] ?? { t: "dict", items: {} }, `${where}${slot}`, out);
      }
      if ("raw" in items) await check(got.raw, items["raw"]!, `${where}raw`, out);
      else if (got.raw !== undefined) out.push(`${where}raw: present, the store has none`);
      return;
    }
    case "raw": {
      const raw = got as AnnData["raw"];
      if (raw === undefined || !(raw.var instanceof DataFrame)) return void out.push(`${where}: ${typedName(got)} instead of a raw`);
      if ("X" in want.items) await check(raw.X, want.items["X"]!, `${where}/X`, out);
      else if (raw.X !== undefined) out.push(`${where}/X: present, the store has none`);
      await check(raw.var, want.items["var"]!, `${where}/var`, out);
      await check(raw.varm, want.items["varm"] ?? { t: "dict", items: {} }, `${where}/varm`, out);
      return;
    }
    case "dict": {
      if (typeof got !== "object" || got === null || Object.getPrototypeOf(got) !== Object.prototype) {
        return void out.push(`${where}: ${typedName(got)} instead of a plain object`);
      }
      const [g, w] = [keysOf(got), keysOf(want.items)];
      if (JSON.stringify(g) !== JSON.stringify(w)) out.push(`${where}: keys ${JSON.stringify(g)} instead of ${JSON.stringify(w)}`);
      for (const k of w) if (k in got) await check((got as Record<string, unknown>)[k], want.items[k]!, `${where}/${k}`, out);
      return;
    }
    case "dataframe": {
      if (!(got instanceof DataFrame)) return void out.push(`${where}: ${typedName(got)} instead of a DataFrame`);
      const indexName = want.indexKey === "_index" ? undefined : want.indexKey;
      if (got.indexName !== indexName) out.push(`${where}: index name ${show(got.indexName)} instead of ${show(indexName)}`);
      compareValues(got.index, { t: "string-array", dtype: "string", shape: [want.index.length], values: want.index }, `${where} index`, out);
      if (JSON.stringify(got.columns) !== JSON.stringify(want.columns)) {
        out.push(`${where}: columns ${JSON.stringify(got.columns)} instead of ${JSON.stringify(want.columns)}`);
      }
      for (const c of want.columns) {
        if (!got.has(c)) continue;
        const col = got.get(c);
        const d = want.data[c]!;
        const w = `${where}/${c}`;
        if (d.t === "array" || d.t === "string-array") await checkArray({ data: col, shape: [col.length], dtype: got.dtype(c) }, d, w, out);
        else await check(col, d, w, out);
      }
      return;
    }
    case "categorical": {
      if (!(got instanceof Categorical)) return void out.push(`${where}: ${typedName(got)} instead of a Categorical`);
      if (got.ordered !== want.ordered) out.push(`${where}: ordered ${got.ordered} instead of ${want.ordered}`);
      const codeDtype = TYPED[typedName(got.codes)];
      if (codeDtype !== want.codes.dtype) out.push(`${where}/codes: ${typedName(got.codes)} instead of ${want.codes.dtype}`);
      compareValues(got.codes, want.codes, `${where}/codes`, out);
      const cats = got.categories;
      const d = want.categories.dtype;
      const kind = d === "string" ? "string" : d === "bool" ? "boolean" : d === "int64" || d === "uint64" ? "bigint" : "number";
      if (cats.some((c) => typeof c !== kind)) out.push(`${where}/categories: ${[...new Set(cats.map((c) => typeof c))]} instead of ${kind}s`);
      compareValues(cats, want.categories, `${where}/categories`, out);
      return;
    }
    case "nullable-integer":
    case "nullable-boolean": {
      if (!(got instanceof MaskedArray)) return void out.push(`${where}: ${typedName(got)} instead of a MaskedArray`);
      if (got.kind !== want.t) out.push(`${where}: kind ${got.kind} instead of ${want.t}`);
      await checkArray(
        { data: got.values, shape: [got.length], dtype: want.t === "nullable-boolean" ? "bool" : TYPED[typedName(got.values)] },
        want.values,
        `${where}/values`,
        out,
      );
      if (want.mask === null) {
        if (got.mask.some((m) => m !== 0)) out.push(`${where}/mask: values masked, the store has no mask`);
      } else {
        await checkArray({ data: got.mask, shape: [got.mask.length], dtype: "bool" }, want.mask, `${where}/mask`, out);
      }
      return;
    }
    case "csr":
    case "csc": {
      let m: {
        format: string;
        shape: readonly number[];
        indptr: ArrayLike<number | bigint>;
        indices: ArrayLike<number | bigint>;
        data: ArrayLike<unknown>;
        dtype: string;
      };
      if (got instanceof LazySparse) {
        if (got.format !== want.t) out.push(`${where}: lazy format ${got.format} instead of ${want.t}`);
        m = await got.computeSparse();
      } else if (got instanceof SparseMatrix) {
        m = got;
      } else {
        return void out.push(`${where}: ${typedName(got)} instead of a ${want.t} matrix`);
      }
      if (m.format !== want.t) out.push(`${where}: format ${m.format} instead of ${want.t}`);
      if (JSON.stringify(m.shape) !== JSON.stringify(want.shape)) return void out.push(`${where}: shape [${m.shape}] instead of [${want.shape}]`);
      await checkArray({ data: m.data, shape: [m.data.length], dtype: m.dtype }, want.data, `${where}/data`, out);
      // an eager read keeps the stored index dtypes; a lazy one's computeSparse may narrow them
      const index = (x: ArrayLike<number | bigint>, d: ArrayDesc, part: string) =>
        got instanceof SparseMatrix
          ? checkArray({ data: x, shape: [x.length], dtype: TYPED[typedName(x)]! }, d, `${where}/${part}`, out)
          : compareValues(
              Array.from(x, (v) => (d.dtype.endsWith("64") ? BigInt(v) : Number(v))),
              d,
              `${where}/${part}`,
              out,
            );
      await index(m.indptr, want.indptr, "indptr");
      await index(m.indices, want.indices, "indices");
      return;
    }
    case "array":
    case "string-array":
      return checkArray(got, want, where, out);
    case "numeric-scalar": {
      if (want.dtype === "bool") {
        if (got !== want.value) out.push(`${where}: ${show(got)} (${typedName(got)}) instead of the boolean ${want.value}`);
        return;
      }
      if (!(got instanceof NumericScalar)) return void out.push(`${where}: ${show(got)} (${typedName(got)}) instead of a NumericScalar of ${want.dtype}`);
      if (got.dtype !== want.dtype) out.push(`${where}: scalar dtype ${got.dtype} instead of ${want.dtype}`);
      if (!sameValue(got.value, want.value, want.dtype)) out.push(`${where}: ${show(got.value)} instead of ${show(want.value)}`);
      return;
    }
    case "string":
      if (got !== want.value) out.push(`${where}: ${show(got)} (${typedName(got)}) instead of the string ${show(want.value)}`);
      return;
  }
}

async function problemsOf(adata: unknown, store: Store): Promise<string[]> {
  const out: string[] = [];
  await check(adata, store.tree, "/", out);
  return out;
}

const label = (g: Generated, s: Store, mode: string): string => `seed ${g.seed}, store ${s.name}, ${mode}`;
const paramsOf = (s: Store): string => JSON.stringify(s.params);

function report(header: string, problems: string[]): string {
  return `${header}: ${problems.length} discrepancies:\n  ${problems.join("\n  ")}`;
}

// -- the tests ------------------------------------------------------------------------------------

describe("anndata 0.8 stores round-tripped through zask on random stores", { skip: skipPython }, () => {
  let server: FixtureServer;
  const pairs: Pair[] = [];
  before(async () => {
    server = await serve(root);
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  for (const g of generated) {
    for (const store of g.stores) {
      const src = path.join(g.dir, store.name);
      it(`seed ${g.seed}, ${store.name}: read eagerly and lazily, every element as stored; written back (eager, lazy, zarr v3)`, async () => {
        const failures: string[] = [];
        const attempt = async (mode: string, body: () => Promise<string[]>) => {
          try {
            for (const p of await body()) failures.push(`${label(g, store, mode)}, ${p}`);
          } catch (e) {
            failures.push(`${label(g, store, mode)}: threw ${(e as Error).stack ?? String(e)}`);
          }
        };
        let eager: AnnData | undefined;
        await attempt("readZarr eager", async () => problemsOf((eager = await readZarr(src, { lazy: false })), store));
        await attempt("readZarr lazy", async () => problemsOf(await readZarr(src), store));
        const base = src.replace(/\.zarr$/, "");
        await attempt("writeZarr of the eager read", async () => {
          const written = `${base}.eager.zarr`;
          await writeZarr(eager ?? (await readZarr(src, { lazy: false })), written);
          pairs.push({ label: label(g, store, "written from the eager read"), reference: src, written });
          return [];
        });
        await attempt("writeZarr of the lazy read", async () => {
          const written = `${base}.lazy.zarr`;
          await writeZarr(await readZarr(src), written);
          pairs.push({ label: label(g, store, "written from the lazy read"), reference: src, written });
          return [];
        });
        await attempt("writeZarr v3 of the eager read, read back by zask", async () => {
          const written = `${base}.v3.zarr`;
          await writeZarr(eager ?? (await readZarr(src, { lazy: false })), written, { format: 3 });
          return problemsOf(await readZarr(written, { lazy: false }), store);
        });
        assert.equal(failures.length, 0, report(`${label(g, store, "")} ${paramsOf(store)}`, failures));
      });
    }
  }

  for (const g of generated) {
    const store = g.stores[0]!;
    it(`seed ${g.seed}, ${store.name} over HTTP: read lazily and eagerly, every element as stored; written back from the lazy read`, async () => {
      const url = `${server.url}/seed-${g.seed}/${store.name}`;
      const failures: string[] = [];
      const requests = server.requests.length;
      for (const lazy of [true, false]) {
        const mode = `HTTP readZarr ${lazy ? "lazy" : "eager"}`;
        try {
          const adata = await readZarr(url, { lazy });
          for (const p of await problemsOf(adata, store)) failures.push(`${label(g, store, mode)}, ${p}`);
          if (lazy) {
            const written = path.join(g.dir, store.name.replace(/\.zarr$/, ".http.zarr"));
            await writeZarr(adata, written);
            pairs.push({ label: label(g, store, "written from the lazy HTTP read"), reference: path.join(g.dir, store.name), written });
          }
        } catch (e) {
          failures.push(`${label(g, store, mode)}: threw ${(e as Error).stack ?? String(e)}`);
        }
      }
      assert.ok(server.requests.length > requests, `${label(g, store, "HTTP")}: no request reached the server`);
      assert.equal(failures.length, 0, report(`${label(g, store, "")} ${paramsOf(store)}`, failures));
    });
  }

  it("every store zask wrote back reads in anndata equal to the original: dtypes, values, categories, NA, index, uns, sparse", async () => {
    assert.ok(pairs.length > 0, "no store was written back");
    const file = path.join(root, "pairs.json");
    await writeFile(file, JSON.stringify(pairs));
    const { stdout } = await run(PYTHON, [SCRIPT, "compare", file], { maxBuffer: 1 << 26 });
    const verdicts = JSON.parse(stdout.trim().split("\n").pop()!) as { label: string; problems: string[]; excused: string[] }[];
    assert.equal(verdicts.length, pairs.length);
    const excused = verdicts.flatMap((v) => v.excused.map((p) => `${v.label}: ${p}`));
    if (excused.length > 0) console.log(`# differences anndata's own round trip shows too (not counted):\n#   ${excused.join("\n#   ")}`);
    const params = new Map(generated.flatMap((g) => g.stores.map((s) => [path.join(g.dir, s.name), paramsOf(s)] as const)));
    const failures = verdicts.flatMap((v, i) => (v.problems.length === 0 ? [] : [report(`${v.label} ${params.get(pairs[i]!.reference)}`, v.problems)]));
    assert.equal(failures.length, 0, failures.join("\n"));
  });
});
