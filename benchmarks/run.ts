/**
 * `npm run bench`: request counts and times per chunking, zask side by side with the Python
 * peer (dask + zarr + fsspec) on the same stores and the same server process.
 *
 *   npm run bench -- [--repeats 3] [--only c5,c25] [--server nginx|zask] [--skip-peer] [--skip-zask] [--memory]
 *
 * Writes benchmarks/results/latest.json, latest.md (the table) and latest.svg (the chart).
 * Stores are written once by anndata 0.8 into benchmarks/results/tmp/stores (git-ignored) and
 * kept while benchmarks/lib/write_pbmc_like.py is unchanged.
 *
 * --memory also writes a 2 GiB store and measures the peak RSS of zask's full reduction over it
 * in a child process.
 *
 * The zask side is benchmarks/lib/zask-queries.ts; the peer is benchmarks/peers/dask_http_queries.py.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { renderChart } from "./lib/chart.ts";
import { describeMachine, machineInfo } from "./lib/machine.ts";
import { ensureBigStore, measureMemory } from "./lib/memory.ts";
import type { MemoryResult } from "./lib/memory.ts";
import { startLoggingServer } from "./lib/nginx.ts";
import type { LogSegment, LoggingServer } from "./lib/nginx.ts";
import { runPeer } from "./lib/peer.ts";
import type { PeerOutput } from "./lib/peer.ts";
import { ratio, renderMarkdown, TARGETS } from "./lib/report.ts";
import { chunkings, QUERIES, QUERY_LABELS } from "./lib/results.ts";
import type { ChunkingResult, QueryFigures, QueryName, Results } from "./lib/results.ts";
import { ensureStores, sumMatches } from "./lib/stores.ts";
import type { Expected } from "./lib/stores.ts";
import { runZaskQueries } from "./lib/zask-queries.ts";

const RESULTS = new URL("./results/", import.meta.url).pathname;
const STORES = join(RESULTS, "tmp", "stores");

const { values: args } = parseArgs({
  options: {
    repeats: { type: "string", default: "3" },
    only: { type: "string" },
    server: { type: "string", default: "nginx" },
    "skip-peer": { type: "boolean", default: false },
    "skip-zask": { type: "boolean", default: false },
    memory: { type: "boolean", default: false },
    out: { type: "string", default: RESULTS },
  },
});

async function main(signal: AbortSignal): Promise<void> {
  const repeats = Number(args.repeats);
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`Expected --repeats to be a positive integer, got ${args.repeats}`);
  if (args.server !== "nginx" && args.server !== "zask") throw new RangeError(`Expected --server nginx|zask, got ${args.server}`);
  const only = args.only?.split(",").filter(Boolean);
  const chosen = chunkings().filter((c) => only === undefined || only.includes(c.name));
  if (chosen.length === 0) throw new RangeError(`Expected --only to name stores among ${chunkings().map((c) => c.name).join(",")}, got ${args.only}`);

  const machine = machineInfo();
  const machineLine = describeMachine(machine);
  console.log(`machine: ${machineLine}`);
  console.log(`writing stores (anndata 0.8) into ${STORES} …`);
  const expected = await ensureStores(STORES, chosen, { signal });
  if (args.memory) console.log(`writing the 2 GiB store for the memory run …`);
  const big = args.memory ? await ensureBigStore(STORES, { signal }) : undefined;

  const server = await startLoggingServer(STORES, { prefer: args.server, signal });
  console.log(`server: ${server.kind} at ${server.url}`);
  const notes: string[] = [];
  if (server.kind !== args.server) notes.push(`${args.server} is not installed here; the stores were served by zask serve in its own process.`);
  let peerInfo: Results["peer"];
  let memory: MemoryResult | undefined;
  const results: ChunkingResult[] = [];
  try {
    for (const chunking of chosen) {
      const url = `${server.url}${chunking.name}.zarr`;
      const row: ChunkingResult = { ...chunking, queries: {} };
      if (!args["skip-peer"]) {
        const { output, segments } = await peerSide(server, url, repeats, signal);
        peerInfo = { versions: output.versions, scheduler: output.scheduler };
        for (const query of QUERIES) {
          const timing = output.queries[query];
          if (timing === undefined) continue;
          (row.queries[query] ??= {}).dask = figures(segments, `peer/${query}`, repeats, timing.runs_s.map((s) => s * 1000), timing.sum, expected, query);
        }
      }
      if (!args["skip-zask"]) {
        const segments: LogSegment[] = [];
        const mark = async (label: string): Promise<void> => {
          segments.push(...(await server.mark(label, { signal })));
        };
        await server.mark("runner/before-zask", { signal });
        const zask = await zaskSide(url, repeats, expected, mark, signal);
        if (zask === undefined) {
          if (!notes.some((n) => n.startsWith("zask side"))) notes.push("zask side not run: benchmarks/lib/zask-queries.ts returned nothing.");
        } else {
          for (const query of QUERIES) {
            const run = zask[query];
            if (run === undefined) continue;
            (row.queries[query] ??= {}).zask = {
              ...figures(segments, `zask/${query}`, repeats, run.runsMs, run.sum, expected, query),
              predictedRequests: run.predictedRequests,
              predictedBytes: run.predictedBytes,
            };
          }
        }
      }
      results.push(row);
      printRow(row);
    }
    if (big !== undefined) {
      memory = await measureMemory(`${server.url}big.zarr`, big, { signal });
      console.log(
        memory.implemented
          ? `memory: peak RSS ${memory.peakRssMiB.toFixed(0)} MiB over ${(big.decoded_bytes / 2 ** 30).toFixed(1)} GiB (limit ${memory.limitMiB.toFixed(0)} MiB)`
          : `memory: zask reduction not implemented yet (child's baseline RSS ${memory.peakRssMiB.toFixed(0)} MiB)`,
      );
    }
  } finally {
    await server.close();
  }

  for (const c of results) {
    for (const query of QUERIES) {
      for (const [reader, f] of Object.entries(c.queries[query] ?? {})) {
        if (f.sumOk === false) notes.push(`${reader} returned a wrong result for ${query} on ${c.name}.`);
        if (!f.requestsPerRun.every((n) => n === f.requests)) notes.push(`${reader} made ${f.requestsPerRun.join("/")} requests in its runs of ${query} on ${c.name} (marked * in the table).`);
        if (reader === "zask" && f.predictedRequests !== undefined && f.predictedRequests !== f.requests) {
          notes.push(`plan predicted ${f.predictedRequests} requests for ${query} on ${c.name}, the server saw ${f.requests}.`);
        }
      }
    }
  }
  const loadEnd = loadavg()[0] ?? 0;
  if (Math.max(machine.load1, loadEnd) > machine.cores / 2) {
    notes.push(`The machine was busy (load ${machine.load1} at the start, ${loadEnd.toFixed(2)} at the end, ${machine.cores} cores): compare zask and dask as ratios within this run, not absolute times.`);
  }
  const all: Results = {
    schema: 1,
    date: new Date().toISOString(),
    machine,
    machineLine,
    server: server.kind,
    repeats,
    store: { shape: expected.shape, writer: "anndata 0.8 (benchmarks/lib/write_pbmc_like.py)" },
    peer: peerInfo,
    chunkings: results,
    memory,
    notes,
  };
  await mkdir(args.out, { recursive: true });
  await writeAtomic(join(args.out, "latest.json"), `${JSON.stringify(all, null, 1)}\n`);
  await writeAtomic(join(args.out, "latest.md"), renderMarkdown(all));
  await writeAtomic(join(args.out, "latest.svg"), renderChart(all));
  for (const target of TARGETS) {
    const r = ratio(results.find((c) => c.name === target.store), target.query);
    if (r !== undefined) console.log(`${QUERY_LABELS[target.query]} on ${target.store}: zask/dask = ${r.toFixed(2)} (target ≤ ${target.maxRatio})`);
  }
  for (const note of notes) console.log(`note: ${note}`);
  console.log(`wrote ${join(args.out, "latest.{json,md,svg}")}`);
}

/** Runs the Python peer with log marks and returns its output and the log segments of its runs. */
async function peerSide(server: LoggingServer, url: string, repeats: number, signal: AbortSignal): Promise<{ output: PeerOutput; segments: LogSegment[] }> {
  await server.mark("runner/before-peer", { signal });
  const output = await runPeer(url, { repeats, signal });
  const segments = await server.mark("runner/after-peer", { signal });
  return { output, segments };
}

/** The zask side: see benchmarks/lib/zask-queries.ts. */
async function zaskSide(url: string, repeats: number, expected: Expected, mark: (label: string) => Promise<void>, signal: AbortSignal) {
  return runZaskQueries(url, { repeats, queries: QUERIES, gene: expected.gene, oneCell: expected.one_cell, mark, signal });
}

/** One reader's figures for one query from its log segments (`<prefix>/<run>`) and timings. */
function figures(segments: LogSegment[], prefix: string, repeats: number, runsMs: number[], sum: number | undefined, expected: Expected, query: QueryName): QueryFigures {
  const requestsPerRun: number[] = [];
  const bytesPerRun: number[] = [];
  for (let run = 0; run < repeats; run++) {
    const segment = segments.find((s) => s.label === `${prefix}/${run}`);
    if (segment === undefined) throw new Error(`No log segment ${prefix}/${run}: the reader did not mark its runs`);
    requestsPerRun.push(segment.requests.length);
    bytesPerRun.push(segment.requests.reduce((total, r) => total + r.bytes, 0));
  }
  const sorted = [...runsMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return {
    requests: requestsPerRun[0] ?? 0,
    bytes: bytesPerRun[0] ?? 0,
    requestsPerRun,
    medianMs,
    runsMs,
    sum,
    sumOk: query === "open" ? undefined : sumMatches(sum, expected.sums[query]),
  };
}

function printRow(row: ChunkingResult): void {
  for (const query of QUERIES) {
    const { dask, zask } = row.queries[query] ?? {};
    const part = (name: string, f: QueryFigures | undefined): string =>
      f === undefined ? `${name} –` : `${name} ${f.requests} req ${f.medianMs.toFixed(1)} ms${f.sumOk === false ? " WRONG" : ""}`;
    console.log(`[${row.chunks.join(", ")}] ${QUERY_LABELS[query].padEnd(26)} ${part("dask", dask).padEnd(28)} ${part("zask", zask)}`);
  }
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

const controller = new AbortController();
process.once("SIGINT", () => controller.abort());
await main(controller.signal);
