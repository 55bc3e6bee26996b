/**
 * The sharded rows of `npm run bench` (issue 15): the pbmc-shaped X (2638 × 1838 float32) as
 * zarr v3 with inner chunks [2638, 5], in shards of [2638, 460] and in one shard, written by
 * zask's `toZarr({ format: 3, shards })`; zask against zarrita 0.7 + `withRangeCoalescing`
 * (benchmarks/peers/zarrita_sharded.ts, its own process) on the same server, requests and
 * bytes counted in the server's log.
 *
 * Per store and query, zask first checks its plan in the bench's process (after untimed
 * warm-ups, one untimed run of `planAsync()` then `compute()` on a fresh array, nothing cached,
 * whose requests must equal what the server saw; for one gene the same query again on that
 * array, indexes cached). Then each reader's timed runs go in a fresh process of its own
 * (benchmarks/lib/zask-sharded-child.ts, benchmarks/peers/zarrita_sharded.ts): untimed
 * warm-ups, then timed runs, each on a freshly opened array (no index cached). Both start cold
 * for every query: code the JIT compiled for an earlier query would favour the reader whose
 * process ran it. The two readers run in blocks per query (zask first on even queries), not
 * interleaved run by run.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { fromTypedArray, fromZarr, type Array as ZaskArray, type NDArray } from "@zask/array";
import { pbmcLike } from "zask";
import type { LogSegment, LoggingServer } from "./nginx.ts";
import { median } from "./stats.ts";

const run = promisify(execFile);

/** The sharded stores: name, shard shape. */
export const SHARDED_STORES = [
  { name: "sharded.c5.s460", shards: [2638, 460] },
  { name: "sharded.c5.one", shards: [2638, 1840] },
] as const;
const INNER = [2638, 5];
export const SHARDED_QUERIES = ["one_gene", "genes_n_cells_gt_1000", "mean_per_gene"] as const;
export type ShardedQuery = (typeof SHARDED_QUERIES)[number];
const GENE = 3; // C1orf86 in pbmcLike
const VERSION = "1"; // bump when the stores change

/** One reader's figures on one query. */
export interface ShardedFigures {
  requests: number;
  bytes: number;
  requestsPerRun: number[];
  medianMs: number;
  runsMs: number[];
  sum: number;
}

export interface ShardedRow {
  store: string;
  shards: number[];
  query: ShardedQuery;
  /** The fewest bytes that hold the query's data: touched inner chunks plus touched shards' indexes. */
  minimalBytes: number;
  touchedInnerChunks: number;
  touchedShards: number;
  /** zask's untimed check run: planAsync() then compute() on a fresh array. */
  plan: { requests: number; bytes: number; serverRequests: number; serverBytes: number };
  /** The same query again on that array (indexes cached): one gene only. */
  again?: { requests: number; bytes: number; planRequests: number; planBytes: number };
  zask: ShardedFigures;
  zarrita: ShardedFigures | undefined;
}

/** The columns of the 59-gene query, and the X values (pbmcLike, seed 0). */
function dataset(): { x: NDArray; genes: number[] } {
  const adata = pbmcLike();
  const nCells = adata.var.get("n_cells") as Int32Array;
  const genes = [];
  for (let j = 0; j < nCells.length; j++) if (nCells[j]! > 1000) genes.push(j);
  return { x: adata.X as NDArray, genes };
}

/** Writes the sharded stores into `dir` unless they are there from this version of the bench. */
export async function ensureShardedStores(dir: string): Promise<{ genes: number[] }> {
  const { x, genes } = dataset();
  const marker = join(dir, "sharded.version");
  const have = await readFile(marker, "utf8").catch(() => "");
  if (have !== VERSION || SHARDED_STORES.some((s) => !existsSync(join(dir, `${s.name}.zarr`, "zarr.json")))) {
    await mkdir(dir, { recursive: true });
    for (const s of SHARDED_STORES) {
      const arr = fromTypedArray(x.data as Float32Array, x.shape, { chunks: [2638, s.shards[1]] });
      await arr.toZarr(join(dir, `${s.name}.zarr`), { format: 3, chunks: INNER, shards: [...s.shards], overwrite: true, progress: false });
    }
    await writeFile(marker, VERSION);
  }
  return { genes };
}

/** Touched inner chunks, shards and their minimal bytes for `columns`, from the shard files' indexes. */
function minimal(dir: string, store: (typeof SHARDED_STORES)[number], columns: readonly number[]): { bytes: number; chunks: number; shards: number } {
  const per = store.shards[1] / INNER[1]!;
  const chunks = [...new Set(columns.map((j) => Math.floor(j / INNER[1]!)))];
  const shards = [...new Set(chunks.map((c) => Math.floor(c / per)))];
  let bytes = 0;
  for (const s of shards) {
    const file = readFileSync(join(dir, `${store.name}.zarr`, "c", "0", String(s)));
    const indexSize = 16 * per + 4;
    bytes += indexSize;
    const index = new DataView(file.buffer, file.byteOffset + file.byteLength - indexSize);
    for (const c of chunks) if (Math.floor(c / per) === s) bytes += Number(index.getBigUint64(16 * (c % per) + 8, true));
  }
  return { bytes, chunks: chunks.length, shards: shards.length };
}

function queryOf(x: ZaskArray, query: ShardedQuery, genes: readonly number[]): ZaskArray {
  if (query === "one_gene") return x.slice(null, [GENE]);
  if (query === "genes_n_cells_gt_1000") return x.slice(null, [...genes]);
  return x.mean({ axis: 0 });
}

const count = (segs: LogSegment[]) => {
  const reqs = segs.flatMap((s) => s.requests).filter((r) => !r.path.endsWith("zarr.json") && !r.path.endsWith(".zarray") && !r.path.endsWith(".zmetadata"));
  return { requests: reqs.length, bytes: reqs.reduce((a, r) => a + r.bytes, 0) };
};

/** Measures every sharded store and query (see the top of this file). */
export async function measureSharded(
  server: LoggingServer,
  dir: string,
  genes: readonly number[],
  { repeats, warmups, peer = true, signal }: { repeats: number; warmups: number; peer?: boolean; signal?: AbortSignal },
): Promise<ShardedRow[]> {
  const rows: ShardedRow[] = [];
  const mark = (label: string) => server.mark(label, { signal });
  let qi = 0;
  for (const store of SHARDED_STORES) {
    const url = `${server.url}${store.name}.zarr`;
    for (const query of SHARDED_QUERIES) {
      const columns = query === "one_gene" ? [GENE] : query === "genes_n_cells_gt_1000" ? genes : Array.from({ length: 1838 }, (_, j) => j);
      const min = minimal(dir, store, columns);
      let plan: ShardedRow["plan"] = { requests: 0, bytes: 0, serverRequests: 0, serverBytes: 0 };
      let again: ShardedRow["again"];
      // after the warm-ups (the read planner's measurements of the server have settled): the
      // plan check on a fresh array, and the same query again
      const planCheck = async (): Promise<void> => {
        const x = await fromZarr(url);
        await mark(`zask-plan-start`);
        const q = queryOf(x, query, genes);
        const p = await q.planAsync();
        await q.compute({ progress: false });
        const seen = count(await mark(`zask-plan`));
        plan = { requests: p.requests, bytes: p.readBytes ?? 0, serverRequests: seen.requests, serverBytes: seen.bytes };
        if (query === "one_gene") {
          const p2 = q.plan();
          await q.compute({ progress: false });
          const s2 = count(await mark(`zask-again`));
          again = { ...s2, planRequests: p2.requests, planBytes: p2.readBytes ?? 0 };
        }
      };
      /**
       * One reader's timed runs in a fresh process (`script`, which marks `${label}-run-R` after
       * each run): times from its output, requests and bytes from the server's log.
       */
      const childRuns = async (script: string, label: string): Promise<ShardedFigures> => {
        await mark(`${label}-start`);
        const { stdout } = await run(process.execPath, ["--import", "tsx", script, url, query, String(warmups), String(repeats), JSON.stringify(genes)], {
          signal,
          maxBuffer: 1 << 20,
        });
        const { runsMs, sums } = JSON.parse(stdout.trim().split("\n").pop()!) as { runsMs: number[]; sums: number[] };
        const segs = await mark(`${label}-done`);
        const perRun = Array.from({ length: repeats }, (_, r) => count(segs.filter((s) => s.label === `${label}-run-${r}`)));
        return {
          requests: perRun[0]!.requests,
          bytes: perRun[0]!.bytes,
          requestsPerRun: perRun.map((c) => c.requests),
          medianMs: median(runsMs),
          runsMs,
          sum: sums[0] ?? NaN,
        };
      };
      // the plan check runs here, after warm-ups (the read planner's measurements of the server
      // have settled); the timed runs in a fresh process of their own, as zarrita's
      const zaskRuns = async (): Promise<ShardedFigures> => {
        for (let w = 0; w < warmups; w++) await queryOf(await fromZarr(url), query, genes).compute({ progress: false });
        await mark("zask-warm");
        await planCheck();
        return childRuns(new URL("./zask-sharded-child.ts", import.meta.url).pathname, "zask");
      };
      const peerRuns = (): Promise<ShardedFigures> => childRuns(new URL("../peers/zarrita_sharded.ts", import.meta.url).pathname, "peer");
      let zask: ShardedFigures;
      let zarrita: ShardedFigures | undefined;
      if (qi++ % 2 === 0) {
        zask = await zaskRuns();
        zarrita = peer ? await peerRuns() : undefined;
      } else {
        zarrita = peer ? await peerRuns() : undefined;
        zask = await zaskRuns();
      }
      const row: ShardedRow = {
        store: store.name,
        shards: [...store.shards],
        query,
        minimalBytes: min.bytes,
        touchedInnerChunks: min.chunks,
        touchedShards: min.shards,
        plan,
        ...(again ? { again } : {}),
        zask,
        zarrita,
      };
      rows.push(row);
      console.log(formatShardedRow(row));
    }
  }
  return rows;
}

const LABELS: Record<ShardedQuery, string> = {
  one_gene: "one gene (C1orf86)",
  genes_n_cells_gt_1000: "59 genes (n_cells > 1000)",
  mean_per_gene: "mean per gene (full scan)",
};

function formatShardedRow(r: ShardedRow): string {
  const z = r.zask;
  const p = r.zarrita;
  return `[${r.shards.join(", ")}] ${LABELS[r.query].padEnd(26)} zask ${z.requests} req ${z.bytes} B ${z.medianMs.toFixed(1)} ms (plan ${r.plan.requests}/${r.plan.bytes}, server ${r.plan.serverRequests}/${r.plan.serverBytes})${p ? `  zarrita ${p.requests} req ${p.bytes} B ${p.medianMs.toFixed(1)} ms` : ""}`;
}

/** The sharded rows as a markdown table, with the issue's targets checked. */
export function renderShardedMarkdown(rows: readonly ShardedRow[], machineLine: string, server: string, repeats: number, warmups: number): string {
  const out = [
    `# Sharded zarr v3 reads`,
    ``,
    `Machine: ${machineLine}. Server: ${server} on loopback. Medians of ${repeats} runs, each on a freshly opened array (no shard index cached); each reader's runs of a query in a fresh process of its own, after ${warmups} untimed warm-ups. Store: pbmc-shaped X, 2638 × 1838 float32 (pbmcLike, standard normal), zarr v3 written by zask, inner chunks [2638, 5], blosc-lz4.`,
    ``,
    `| shards | query | requests zask (plan) / zarrita | bytes zask (plan) / zarrita | bytes / minimal | zask ms | zarrita ms | zask / zarrita |`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
  ];
  for (const r of rows) {
    const p = r.zarrita;
    out.push(
      `| [${r.shards.join(", ")}] | ${LABELS[r.query]} | ${r.zask.requests} (${r.plan.requests}) / ${p?.requests ?? "–"} | ${r.zask.bytes} (${r.plan.bytes}) / ${p?.bytes ?? "–"} | ${(r.zask.bytes / r.minimalBytes).toFixed(3)} | ${r.zask.medianMs.toFixed(1)} | ${p ? p.medianMs.toFixed(1) : "–"} | ${p ? (r.zask.medianMs / p.medianMs).toFixed(2) : "–"} |`,
    );
  }
  out.push(``, `## Targets`, ``);
  for (const r of rows) {
    const checks: string[] = [];
    const planOk =
      r.plan.requests === r.plan.serverRequests && r.plan.bytes === r.plan.serverBytes && r.zask.requests === r.plan.requests && r.zask.bytes === r.plan.bytes;
    checks.push(
      `plan = server ${planOk ? "yes" : "NO"} (plan ${r.plan.requests} req ${r.plan.bytes} B; server ${r.plan.serverRequests} req ${r.plan.serverBytes} B; timed runs ${r.zask.requests} req ${r.zask.bytes} B)`,
    );
    if (r.query === "one_gene") {
      checks.push(`≤ 2 requests: ${r.zask.requests}; bytes ≤ 1.1 × minimal: ${(r.zask.bytes / r.minimalBytes).toFixed(3)}`);
      if (r.again)
        checks.push(
          `again: ${r.again.requests} request(s), plan ${r.again.planRequests}/${r.again.planBytes} B, server ${r.again.requests}/${r.again.bytes} B`,
        );
    } else if (r.query === "genes_n_cells_gt_1000") {
      checks.push(
        `bytes / minimal ${(r.zask.bytes / r.minimalBytes).toFixed(3)} (≤ 1.25); requests ${r.zask.requests} ≤ ${r.touchedInnerChunks} touched inner chunks + ${r.touchedShards} shards`,
      );
    } else {
      checks.push(`requests per shard ${(r.zask.requests / r.touchedShards).toFixed(2)} (≤ 2)`);
    }
    if (r.zarrita && r.query !== "one_gene")
      checks.push(`time ${(r.zask.medianMs / r.zarrita.medianMs).toFixed(2)} × zarrita (≤ 0.5), requests ${r.zask.requests} vs ${r.zarrita.requests}`);
    if (r.zarrita && Math.abs(r.zask.sum - r.zarrita.sum) > 1e-3 * Math.max(1, Math.abs(r.zarrita.sum)))
      checks.push(`SUMS DIFFER: zask ${r.zask.sum}, zarrita ${r.zarrita.sum}`);
    out.push(`- [${r.shards.join(", ")}] ${LABELS[r.query]}: ${checks.join("; ")}`);
  }
  return out.join("\n") + "\n";
}
