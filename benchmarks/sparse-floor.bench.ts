/**
 * The floor under zask's sparse column selections: the bench's one-gene and 59-gene queries on
 * the CSR store, read three ways in one process run by run, over the same nginx:
 * - zask (`ZaskSession`, as `npm run bench` times it);
 * - the floor: the same 16 chunk requests through zask's own HTTP client, each chunk pair
 *   decoded and picked by zask's WebAssembly kernels, the dense answer written from the picks,
 *   with no graph, no scheduler and no checks beyond the kernels' own: what one thread of Node
 *   costs for these bytes on this machine;
 * - the peer (anndata 0.8 `read_elem` + scipy, the bench's Python peer).
 * Prints medians and the ratios zask / peer, floor / peer and zask / floor, after checking the
 * three agree on every answer's sum. zask / floor is the price of the graph and the scheduler;
 * floor / peer bounds what zask / peer can reach without a second thread.
 *
 * Run: node --import tsx benchmarks/sparse-floor.bench.ts [repeats] [warmups]   (not part of the tests)
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { readZarr } from "@zask/anndata";
import { decodeBloscInWasm } from "../packages/array/src/codecs/blosc-decode.ts";
import { wasmKernels } from "../packages/array/src/codecs/blosc-kernels.ts";
import { directRequest, type DirectRequest } from "../packages/scheduler/src/http/direct-http.ts";
import { recycleBody } from "../packages/scheduler/src/http/body-pool.ts";
import { describeMachine } from "./lib/machine.ts";
import { startLoggingServer } from "./lib/nginx.ts";
import { PeerSession } from "./lib/peer.ts";
import { chunkings } from "./lib/results.ts";
import { median } from "./lib/stats.ts";
import { ensureStores } from "./lib/stores.ts";
import { ZaskSession } from "./lib/zask-queries.ts";

const REPEATS = Number(process.argv[2] ?? 31);
const WARMUPS = Number(process.argv[3] ?? 10);
const DIR = "benchmarks/results/tmp/stores";
const QUERIES = ["one_gene", "genes_n_cells_gt_1000"] as const;
type Query = (typeof QUERIES)[number];

/** What the floor reads once, before any timing (zask and the peer read the same at open). */
interface Layout {
  readonly url: string;
  readonly rows: number;
  readonly cols: number;
  readonly chunkLen: number;
  readonly nnz: number;
  readonly indptr: Int32Array;
  readonly varNames: readonly string[];
  readonly nCells: BigInt64Array;
}

/** The layout of the bench's CSR store at `store` (served at `url`), its var columns from zask's `readZarr`. */
async function layoutOf(store: string, url: string, varNames: readonly string[], nCells: BigInt64Array): Promise<Layout> {
  const json = async (p: string) => JSON.parse(await readFile(join(store, p), "utf8"));
  const attrs = await json("X/.zattrs");
  const data = await json("X/data/.zarray");
  const indices = await json("X/indices/.zarray");
  const ip = await json("X/indptr/.zarray");
  const ok =
    attrs["encoding-type"] === "csr_matrix" &&
    data.dtype === "<f4" &&
    indices.dtype === "<i4" &&
    ip.dtype === "<i4" &&
    ip.chunks[0] >= ip.shape[0] &&
    data.chunks[0] === indices.chunks[0] &&
    [data, indices, ip].every((a) => a.compressor?.id === "blosc" && a.compressor.cname === "lz4");
  if (!ok) throw new Error(`Expected the bench's CSR store (float32 data, int32 indices, blosc lz4), got another layout at ${store}`);
  const decoded = decodeBloscInWasm([new Uint8Array(await readFile(join(store, "X/indptr/0")))], [4 * ip.chunks[0]], [], (_, e) => e as Error);
  if (decoded === null) throw new Error("The WebAssembly kernels are not available here");
  const indptr = new Int32Array(decoded.bytes.buffer, decoded.at[0], ip.shape[0]).slice();
  return {
    url,
    rows: attrs.shape[0],
    cols: attrs.shape[1],
    chunkLen: data.chunks[0],
    nnz: data.shape[0],
    indptr,
    varNames,
    nCells,
  };
}

const controller = new AbortController();
const request: DirectRequest = {
  method: "GET",
  headers: undefined,
  timeout: 30_000,
  deadline: 60_000,
  maxBytes: 2 ** 26,
  signal: controller.signal,
  keepBody: (status) => status === 200,
  pooled: true,
};

async function fetchBody(url: string): Promise<Uint8Array> {
  const res = await directRequest(new URL(url), request, 16);
  if (res.status !== 200 || res.body === null) throw new Error(`Expected 200 for ${url}, got ${res.status}`);
  return res.body;
}

/**
 * One query the floor's way: the selected columns' table, every chunk pair fetched at once and
 * picked as it arrives, the dense rows × selected answer written from the picks by walking
 * indptr; returns the answer's float64 sum.
 */
async function floorQuery(l: Layout, query: Query): Promise<number> {
  const kernels = wasmKernels()!;
  const table = new Int32Array(l.cols).fill(-1);
  let k = 0;
  for (let j = 0; j < l.cols; j++) {
    if (query === "one_gene" ? l.varNames[j] === "C1orf86" : l.nCells[j]! > 1000n) table[j] = k++;
  }
  const out = new Float32Array(l.rows * k);
  const chunks = Math.ceil(l.nnz / l.chunkLen);
  await Promise.all(
    Array.from({ length: chunks }, async (_, c) => {
      const [ix, data] = await Promise.all([fetchBody(`${l.url}X/indices/${c}`), fetchBody(`${l.url}X/data/${c}`)]);
      const n = Math.min(l.chunkLen, l.nnz - c * l.chunkLen);
      const d = decodeBloscInWasm([ix, data], [4 * l.chunkLen, 4 * l.chunkLen], [4 * l.cols, 4 * (n + 1), 4 * (n + 1)], (_, e) => e as Error)!;
      recycleBody(ix);
      recycleBody(data);
      const [tableAt, posAt, tgtAt] = d.extraAt as [number, number, number];
      new Int32Array(d.bytes.buffer, tableAt, l.cols).set(table);
      const q = kernels.pickI32(d.at[0]!, n, tableAt, l.cols, posAt, tgtAt, k <= 4 ? [...table.keys()].filter((j) => table[j]! >= 0) : []);
      if (q < 0) throw new Error(`index out of range in chunk ${c}`);
      const pos = new Int32Array(d.bytes.buffer, posAt, q);
      const tgt = new Int32Array(d.bytes.buffer, tgtAt, q);
      const values = new Float32Array(d.bytes.buffer, d.at[1], n);
      // the row of each picked position: indptr walked forward (positions are in stored order)
      const base = c * l.chunkLen;
      let lo = 0;
      let hi = l.rows;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (l.indptr[mid + 1]! <= base) lo = mid + 1;
        else hi = mid;
      }
      let row = lo;
      for (let i = 0; i < q; i++) {
        const p = base + pos[i]!;
        while (l.indptr[row + 1]! <= p) row++;
        out[row * k + tgt[i]!] = values[pos[i]!]!;
      }
    }),
  );
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i]!;
  return sum;
}

async function main(): Promise<void> {
  const csr = chunkings().filter((c) => c.name === "csr");
  const expected = await ensureStores(DIR, csr);
  const server = await startLoggingServer(DIR);
  const url = `${server.url}csr.zarr/`;
  const peer = await PeerSession.start(url.slice(0, -1));
  try {
    const zask = new ZaskSession(url.slice(0, -1), { gene: expected.gene, oneCell: expected.one_cell });
    await peer.run("open");
    await zask.run("open");
    const adata = await readZarr(url.slice(0, -1));
    const nCells = adata.var.get("n_cells");
    if (!(nCells instanceof BigInt64Array)) throw new Error("Expected var.n_cells to be int64, as the store's writer makes it");
    const layout = await layoutOf(join(DIR, "csr.zarr"), url, adata.varNames, nCells);
    console.log(`${describeMachine()}; ${REPEATS} runs after ${WARMUPS} warm-ups of each, interleaved (order rotating)`);
    console.log("| query | peer ms | zask ms | floor ms | zask / peer | floor / peer | zask / floor |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const query of QUERIES) {
      const readers: Record<string, () => Promise<{ ms: number; sum: number }>> = {
        peer: async () => {
          const r = await peer.run(query);
          return { ms: r.ms, sum: r.sum ?? Number.NaN };
        },
        zask: () => zask.run(query),
        floor: async () => {
          const t = performance.now();
          const sum = await floorQuery(layout, query);
          return { ms: performance.now() - t, sum };
        },
      };
      const names = Object.keys(readers);
      for (let w = 0; w < WARMUPS; w++) for (const name of names) await readers[name]!();
      const ms: Record<string, number[]> = { peer: [], zask: [], floor: [] };
      const sums: Record<string, number> = {};
      for (let r = 0; r < REPEATS; r++) {
        for (let i = 0; i < names.length; i++) {
          const name = names[(r + i) % names.length]!;
          const run = await readers[name]!();
          ms[name]!.push(run.ms);
          sums[name] = run.sum;
        }
      }
      for (const name of ["zask", "floor"])
        if (Math.abs(sums[name]! - sums["peer"]!) > 1e-6 * Math.abs(sums["peer"]!))
          throw new Error(`${query}: ${name}'s sum ${sums[name]} differs from the peer's ${sums["peer"]}`);
      const m = (name: string) => median(ms[name]!);
      console.log(
        `| ${query} | ${m("peer").toFixed(2)} | ${m("zask").toFixed(2)} | ${m("floor").toFixed(2)} | ${(m("zask") / m("peer")).toFixed(2)} | ${(m("floor") / m("peer")).toFixed(2)} | ${(m("zask") / m("floor")).toFixed(2)} |`,
      );
    }
  } finally {
    await peer.close();
    await server.close();
    controller.abort();
  }
}

await main();
process.exit(0);
