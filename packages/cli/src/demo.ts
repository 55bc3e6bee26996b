import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { AnnData, readZarr, writeDispatched, writeZarr } from "@zask/anndata";
import type { NDArray, SparseMatrix } from "@zask/anndata";
import type { Array as LazyArray } from "@zask/array";
import { formatTable } from "./format-table.js";
import { measureRequests } from "./measure-requests.js";
import { DEMO_GENE, pbmcLike } from "./pbmc-like.js";
import { formatLogLine } from "./request-log.js";
import { serve } from "./serve.js";
import type { FileServer } from "./serve.js";

/** Options of `demo`. */
export interface DemoOptions {
  /** Where the stores are written and served from; kept afterwards. @default a temp dir, removed */
  dir?: string;
  /** Port of the logging server; 0 picks a free one. @default 0 */
  port?: number;
  /** Where the narration goes. @default process.stdout */
  print?: (line: string) => void;
  /** Request lines printed per query before eliding the rest. @default 8 */
  maxLines?: number;
  /** Shape of the generated data (smaller for tests). @default [2638, 1838] */
  shape?: [number, number];
  signal?: AbortSignal;
}

/** One row of the demo's closing table. */
export interface DemoRow {
  store: string;
  chunks: string;
  query: string;
  requests: number;
  bytes: number;
  ms: number;
  planned: number | undefined;
}

/**
 * The tutorial "Dask + Zarr, but Remote" end to end, with nothing but the repo: writes a
 * pbmc3k_processed-shaped AnnData at chunks `[nObs, 5]`, serves it with the logging server,
 * opens it over HTTP, prints the X and obsm reprs, runs the one-gene and the `n_cells > 1000`
 * queries while printing the server's request lines; rewrites at `[nObs, 25]`, then with
 * `writeDispatched` and a custom chunking for a `scaled` layer, and repeats. Ends with a
 * table: query × chunking → requests, bytes, milliseconds and what `plan()` predicted.
 *
 * @example
 * ```ts
 * const rows = await demo({ dir: "demo-data" });
 * ```
 */
export async function demo(options: DemoOptions = {}): Promise<DemoRow[]> {
  const { port = 0, print = (line: string) => void process.stdout.write(`${line}\n`), maxLines = 8, shape = [2638, 1838], signal } = options;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "zask-demo-")));
  const rows: DemoRow[] = [];
  let server: FileServer | undefined;
  try {
    await mkdir(join(dir, "data"), { recursive: true });
    const adata = pbmcLike({ nObs: shape[0], nVars: shape[1] });
    const nObs = adata.nObs;
    const first = "data/pbmc3k_processed.zarr";
    print(`# Writing ${first}: ${String(adata).split("\n")[0]}, X chunks [${nObs}, 5]`);
    await writeZarr(adata, join(dir, first), { chunks: [nObs, 5], overwrite: true, signal });

    server = await serve(dir, { port, log: false, signal });
    print(`# Serving ${dir} at ${server.url} (one line per request, like python3 -m http.server)`);
    const live = server;

    const open = async (path: string): Promise<AnnData<LazyArray>> => {
      const run = await measureRequests(live, () => readZarr(`${live.url}${path}`, { signal }), { signal });
      print(`\n>>> adata = await readZarr("${live.url}${path}")`);
      printLines(run.events, print, maxLines);
      print(`    ${plural(run.requests, "request")}, ${kib(run.bytes)} in ${run.ms.toFixed(0)} ms`);
      rows.push({ store: path, chunks: chunksOf(run.value.X), query: "open", requests: run.requests, bytes: run.bytes, ms: run.ms, planned: undefined });
      return run.value;
    };
    const query = async (path: string, chunks: string, label: string, code: string, lazy: LazyArray): Promise<void> => {
      const planned = lazy.plan().requests;
      print(`\n>>> ${code}    # plan: ${plural(planned, "request")}`);
      const run = await measureRequests(live, () => lazy.compute({ signal }), { signal });
      printLines(run.events, print, maxLines);
      print(`    → shape [${run.value.shape.join(", ")}]: ${plural(run.requests, "request")}, ${kib(run.bytes)} in ${run.ms.toFixed(0)} ms`);
      rows.push({ store: path, chunks, query: label, requests: run.requests, bytes: run.bytes, ms: run.ms, planned });
    };
    const queries = async (path: string, remote: AnnData<LazyArray>, matrix: LazyArray, name: string): Promise<void> => {
      const gene = remote.varNames.map((g) => g === DEMO_GENE);
      const nCells = remote.var.get("n_cells") as ArrayLike<number>;
      const above = Array.from(nCells, (n) => Number(n) > 1000);
      const chunks = chunksOf(matrix);
      await query(path, chunks, `one gene (${DEMO_GENE})`, `${name}.slice(null, varNames == "${DEMO_GENE}").compute()`, matrix.slice(null, gene));
      await query(
        path,
        chunks,
        `n_cells > 1000 (${above.filter(Boolean).length} genes)`,
        `${name}.slice(null, var.n_cells > 1000).compute()`,
        matrix.slice(null, above),
      );
    };

    const remote = await open(first);
    print(`\n>>> adata.X\n${indent(String(remote.X))}`);
    print(`\n>>> adata.obsm["X_draw_graph_fr"]\n${indent(String(remote.obsm["X_draw_graph_fr"]))}`);
    await queries(first, remote, remote.X as LazyArray, "adata.X");

    print(`\n# Rewriting ${first} with X chunks [${nObs}, 25]: fewer, larger requests`);
    await writeZarr(adata, join(dir, first), { chunks: [nObs, 25], overwrite: true, signal });
    const wider = await open(first);
    await queries(first, wider, wider.X as LazyArray, "adata.X");

    const scaledPath = "data/pbmc3k_scaled.zarr";
    print(`\n# writeDispatched to ${scaledPath}: X and layers chunked [${nObs}, 25], everything else one chunk`);
    const withLayer = withScaledLayer(adata);
    await writeDispatched(
      join(dir, scaledPath),
      "/",
      withLayer,
      (write, store, key, elem, dataset, { encodingType }) => {
        if (encodingType === "array") {
          const chunked = key.includes("layers") || key.endsWith("X");
          dataset = { ...dataset, chunks: chunked ? [nObs, 25] : undefined };
        }
        return write(store, key, elem, dataset);
      },
      { overwrite: true, signal },
    );
    const scaled = await open(scaledPath);
    const layer = scaled.layers["scaled"] as LazyArray;
    print(`\n>>> adata.layers["scaled"]\n${indent(String(layer))}`);
    await queries(scaledPath, scaled, layer, 'adata.layers["scaled"]');

    print(`\n# What each query cost, counted at the server (plan = predicted before running)\n`);
    print(
      formatTable(rows, [
        { header: "store", cell: (r) => r.store },
        { header: "X chunks", cell: (r) => r.chunks },
        { header: "query", cell: (r) => r.query },
        { header: "requests", cell: (r) => r.requests, align: "right" },
        { header: "plan", cell: (r) => r.planned, align: "right" },
        { header: "KiB", cell: (r) => (r.bytes / 1024).toFixed(0), align: "right" },
        { header: "ms", cell: (r) => r.ms.toFixed(0), align: "right" },
      ]),
    );
    return rows;
  } finally {
    await server?.close();
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    else print(`\n# The stores are in ${relative(process.cwd(), dir) || "."}`);
  }
}

/** The tutorial's `sc.pp.scale(adata, layer="scaled")`: each gene to zero mean, unit variance, clipped at 10. */
function withScaledLayer(adata: AnnData<NDArray | SparseMatrix>): AnnData<NDArray | SparseMatrix> {
  const X = adata.X as NDArray;
  const [nObs, nVars] = X.shape as [number, number];
  const src = X.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let j = 0; j < nVars; j++) {
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < nObs; i++) {
      const v = src[i * nVars + j] as number;
      sum += v;
      sq += v * v;
    }
    const mean = sum / nObs;
    const std = Math.sqrt(Math.max(sq / nObs - mean * mean, 0)) || 1;
    for (let i = 0; i < nObs; i++) out[i * nVars + j] = Math.min(10, ((src[i * nVars + j] as number) - mean) / std);
  }
  return new AnnData<NDArray | SparseMatrix>({
    X,
    obs: adata.obs,
    var: adata.var,
    obsm: adata.obsm,
    varm: adata.varm,
    obsp: adata.obsp,
    uns: adata.uns,
    layers: { scaled: { data: out, shape: [nObs, nVars], dtype: "float32" } },
  });
}

function printLines(
  events: readonly { remoteAddress: string; time: Date; method: string; url: string; status: number; bytes: number }[],
  print: (line: string) => void,
  max: number,
): void {
  for (const e of events.slice(0, max)) {
    print(
      `    ${formatLogLine({ remoteAddress: e.remoteAddress, time: e.time, requestLine: `${e.method} ${e.url} HTTP/1.1`, status: e.status, bytes: e.bytes })}`,
    );
  }
  if (events.length > max) print(`    … ${events.length - max} more`);
}

function chunksOf(x: LazyArray | undefined): string {
  return x === undefined ? "–" : `[${x.chunks.map((c) => c[0]).join(", ")}]`; // the first block's shape
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const indent = (text: string): string =>
  text
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
