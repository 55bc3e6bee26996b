/**
 * `npm run bench`: request counts and times per chunking, zask side by side with the Python
 * peer (dask + zarr + fsspec) on the same stores and the same server process.
 *
 *   npm run bench -- [--repeats 3] [--warmups 3] [--only c5,c25,sharded,big] [--server nginx|zask] [--skip-peer] [--skip-zask] [--skip-sharded] [--memory] [--peer-workers N]
 *
 * The sharded zarr v3 rows (benchmarks/lib/sharded.ts: zask against zarrita + withRangeCoalescing)
 * run after the others and write benchmarks/results/sharded.{json,md}.
 *
 * Writes benchmarks/results/latest.json, latest.md (the table) and latest.svg (the chart).
 * Stores are written once by anndata 0.8 into benchmarks/results/tmp/stores (git-ignored) and
 * kept while benchmarks/lib/write_pbmc_like.py is unchanged.
 *
 * --rtt 0,10,50 runs the latency benchmark instead (benchmarks/lib/latency.ts): the stores
 * c5 and c25 (or --only) through a delaying TCP proxy in front of nginx, at each round-trip
 * time, for dask (default threads and num_workers=16) and zask, after --warmups untimed runs of
 * each per query; writes latency.{json,md}.
 *
 * --only big reads a 50,000 × 2,000 float32 store in [5000, 100] chunks with a 50,000-row obs
 * (benchmarks/lib/write_big_store.py --annotated), against dask with num_workers=16 (--peer-workers
 * sets it), and writes big.{json,md} instead of latest.*; with --memory it also measures both
 * readers' peak RSS over a session of every query, each in its own process.
 *
 * --memory also writes a 2 GiB store and measures the peak RSS of zask's full reduction over it
 * in a child process. --sparse-memory writes a 2.4 GB CSR store (200,000 × 20,000 at 5%) and
 * measures zask's full mean over it (peak RSS, time) next to the peer's (read_elem + scipy).
 *
 * The zask side is benchmarks/lib/zask-queries.ts; the peer is benchmarks/peers/dask_http_queries.py
 * in its --serve mode (benchmarks/lib/peer.ts). The two are interleaved, run by run: per store
 * and query, untimed warm-ups of each (--warmups, 3), then run r of one right after run r of the other (the
 * peer first on even r, zask first on odd r). This machine has slow phases lasting seconds;
 * a block of dask runs followed by a block of zask runs would see two machine states.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { renderChart } from "./lib/chart.ts";
import { describeMachine, machineInfo } from "./lib/machine.ts";
import { latencyFiles, renderLatencyMarkdown, runLatency } from "./lib/latency.ts";
import { describeSessionMemory, ensureBigStore, measureMemory, measureSessionMemory } from "./lib/memory.ts";
import type { SessionMemoryResult } from "./lib/memory.ts";
import { ensureBigSparseStore, measureSparseMemory } from "./lib/sparse-memory.ts";
import type { SparseMemoryResult } from "./lib/sparse-memory.ts";
import type { MemoryResult } from "./lib/memory.ts";
import { startLoggingServer } from "./lib/nginx.ts";
import type { LogSegment, LoggingServer } from "./lib/nginx.ts";
import { PeerSession } from "./lib/peer.ts";
import { pairedRatio, ratio, renderMarkdown, TARGETS, warmingRuns } from "./lib/report.ts";
import { chunkings, QUERIES, QUERY_LABELS } from "./lib/results.ts";
import type { ChunkingResult, QueryFigures, QueryName, Reader, Results } from "./lib/results.ts";
import { median } from "./lib/stats.ts";
import { BIG_CHUNKING, BIG_STORE, ensureBigAnnotatedStore, ensureStores, sumMatches } from "./lib/stores.ts";
import type { Expected } from "./lib/stores.ts";
import { runShardedBench } from "./lib/sharded-run.ts";
import { ZaskSession } from "./lib/zask-queries.ts";

const RESULTS = new URL("./results/", import.meta.url).pathname;
const STORES = join(RESULTS, "tmp", "stores");

const { values: args } = parseArgs({
  options: {
    repeats: { type: "string", default: "3" },
    warmups: { type: "string", default: "3" },
    only: { type: "string" },
    server: { type: "string", default: "nginx" },
    "skip-peer": { type: "boolean", default: false },
    "skip-zask": { type: "boolean", default: false },
    memory: { type: "boolean", default: false },
    rtt: { type: "string" },
    "skip-sharded": { type: "boolean", default: false },
    "sparse-memory": { type: "boolean", default: false },
    "peer-workers": { type: "string" },
    out: { type: "string", default: RESULTS },
  },
});

/** `--only` named no store this run knows (`extra`: names it knows besides the chunkings). */
function unknownStores(only: string | undefined, extra: readonly string[] = []): RangeError {
  return new RangeError(`Expected --only to name stores among ${[...chunkings().map((c) => c.name), ...extra].join(",")}, got ${only}`);
}

async function main(signal: AbortSignal): Promise<void> {
  const repeats = Number(args.repeats);
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`Expected --repeats to be a positive integer, got ${args.repeats}`);
  const warmups = Number(args.warmups);
  if (!Number.isInteger(warmups) || warmups < 0) throw new RangeError(`Expected --warmups to be a non-negative integer, got ${args.warmups}`);
  if (args.server !== "nginx" && args.server !== "zask") throw new RangeError(`Expected --server nginx|zask, got ${args.server}`);
  const peerWorkers = args["peer-workers"] === undefined ? undefined : Number(args["peer-workers"]);
  if (peerWorkers !== undefined && !(Number.isInteger(peerWorkers) && peerWorkers >= 1))
    throw new RangeError(`Expected --peer-workers to be a positive integer, got ${args["peer-workers"]}`);
  if (args.rtt !== undefined) return latency(signal, repeats, warmups);
  const only = args.only?.split(",").filter(Boolean);
  const chosen = [...chunkings(), BIG_CHUNKING].filter((c) => (only === undefined ? c !== BIG_CHUNKING : only.includes(c.name)));
  const bigOnly = chosen.length === 1 && chosen[0] === BIG_CHUNKING;
  const sharded = !args["skip-sharded"] && !args["skip-zask"] && (only === undefined || only.includes("sharded"));
  if (chosen.length === 0 && !sharded) throw unknownStores(args.only, ["sharded", BIG_CHUNKING.name]);

  const machine = machineInfo();
  const machineLine = describeMachine(machine);
  console.log(`machine: ${machineLine}`);
  if (chosen.length > 0) console.log(`writing stores (anndata 0.8) into ${STORES} …`);
  // only the sharded rows: no anndata 0.8 store is needed
  const small = chosen.filter((c) => c !== BIG_CHUNKING);
  const expected = bigOnly ? await ensureBigAnnotatedStore(STORES, { signal }) : small.length > 0 ? await ensureStores(STORES, small, { signal }) : undefined;
  const bigExpected = bigOnly ? expected : chosen.includes(BIG_CHUNKING) ? await ensureBigAnnotatedStore(STORES, { signal }) : undefined;
  if (args.memory && !bigOnly) console.log(`writing the 2 GiB store for the memory run …`);
  const big = args.memory && !bigOnly ? await ensureBigStore(STORES, { signal }) : undefined;
  if (args["sparse-memory"]) console.log(`the 2.4 GB CSR store for the sparse memory run (written unless its writer is unchanged) …`);
  const bigSparse = args["sparse-memory"] ? await ensureBigSparseStore(STORES, { signal }) : undefined;

  const server = await startLoggingServer(STORES, { prefer: args.server, signal });
  console.log(`server: ${server.kind} at ${server.url}`);
  const notes: string[] = [];
  if (!args["skip-peer"] && !args["skip-zask"]) {
    notes.push(
      `Runs interleaved: per store and query, ${warmups} untimed warm-up run(s) of each reader, then dask's run r and zask's run r back to back (dask first on even r, zask first on odd r); zask / dask is the ratio of medians, the targets also give the median of the per-run ratios.`,
    );
  }
  if (server.kind !== args.server) notes.push(`${args.server} is not installed here; the stores were served by zask serve in its own process.`);
  let peerInfo: Results["peer"];
  let memory: MemoryResult | undefined;
  let sessionMemory: SessionMemoryResult | undefined;
  let sparseMemory: SparseMemoryResult | undefined;
  const results: ChunkingResult[] = [];
  try {
    for (const chunking of chosen) {
      const isBig = chunking === BIG_CHUNKING;
      const url = `${server.url}${isBig ? BIG_STORE : `${chunking.name}.zarr`}`;
      // The big store's peer is the fair one: a dask user raises num_workers for 200 chunks.
      const numWorkers = peerWorkers ?? (isBig ? 16 : undefined);
      const { row, peer } = await measureChunking(server, chunking, url, { repeats, warmups, numWorkers }, (isBig ? bigExpected : expected)!, signal);
      peerInfo ??= peer;
      results.push(row);
      printRow(row);
    }
    if (sharded) await runShardedBench(server, STORES, args.out, { repeats, warmups, peer: !args["skip-peer"], signal });
    if (args.memory && bigExpected !== undefined) {
      const url = `${server.url}${BIG_STORE}`;
      sessionMemory = await measureSessionMemory(url, bigExpected, {
        numWorkers: peerWorkers ?? 16,
        signal,
      });
      console.log(`session memory on the big store: ${describeSessionMemory(sessionMemory)}`);
    }
    if (big !== undefined) {
      memory = await measureMemory(`${server.url}big.zarr`, big, { signal });
      console.log(
        memory.implemented
          ? `memory: peak RSS ${memory.peakRssMiB.toFixed(0)} MiB over ${(big.decoded_bytes / 2 ** 30).toFixed(1)} GiB (limit ${memory.limitMiB.toFixed(0)} MiB)`
          : `memory: zask reduction not implemented yet (child's baseline RSS ${memory.peakRssMiB.toFixed(0)} MiB)`,
      );
    }
    if (bigSparse !== undefined) {
      sparseMemory = await measureSparseMemory(`${server.url}big-csr.zarr`, bigSparse, { signal, skipPeer: args["skip-peer"] });
      const { zask, peer } = sparseMemory;
      console.log(
        `sparse memory: zask mean per gene over a ${(bigSparse.disk_bytes / 1e9).toFixed(1)} GB CSR X: ${(zask.ms / 1000).toFixed(1)} s, peak RSS ${zask.peakRssMiB.toFixed(0)} MiB${zask.sumOk === false ? " WRONG" : ""}` +
          (peer === undefined
            ? ""
            : `; peer ${(peer.ms / 1000).toFixed(1)} s, peak RSS ${peer.peakRssMiB.toFixed(0)} MiB; zask / peer = ${(zask.ms / peer.ms).toFixed(2)}`),
      );
      const rw = sparseMemory.rewrite;
      console.log(
        `sparse rewrite: chunks of ${rw.chunk}: zask ${(rw.zask.ms / 1000).toFixed(1)} s, peak RSS ${rw.zask.peakRssMiB.toFixed(0)} MiB${rw.zask.sumOk === false ? " WRONG" : ""}`,
      );
      const c = sparseMemory.columns;
      console.log(
        `sparse columns: every ${c.step}th gene: zask ${(c.zask.ms / 1000).toFixed(1)} s, peak RSS ${c.zask.peakRssMiB.toFixed(0)} MiB${c.zask.sumOk === false ? " WRONG" : ""}` +
          (c.peer === undefined
            ? ""
            : `; peer ${(c.peer.ms / 1000).toFixed(1)} s, peak RSS ${c.peer.peakRssMiB.toFixed(0)} MiB; zask / peer = ${(c.zask.ms / c.peer.ms).toFixed(2)}`),
      );
    }
  } finally {
    await server.close();
  }

  for (const c of results) {
    for (const query of QUERIES) {
      for (const [reader, f] of Object.entries(c.queries[query] ?? {})) {
        if (f.sumOk === false) notes.push(`${reader} returned a wrong result for ${query} on ${c.name}.`);
        if (!f.requestsPerRun.every((n) => n === f.requests))
          notes.push(`${reader} made ${f.requestsPerRun.join("/")} requests in its runs of ${query} on ${c.name} (marked * in the table).`);
        if (reader === "zask" && f.predictedRequests !== undefined && f.predictedRequests !== f.requests) {
          notes.push(`plan predicted ${f.predictedRequests} requests for ${query} on ${c.name}, the server saw ${f.requests}.`);
        }
        const warming = reader === "zask" ? (warmingRuns(f) ?? 0) : 0;
        if (warming * 4 > f.runsMs.length) {
          notes.push(
            `zask faulted in over 100 fresh pages in ${warming} of its ${f.runsMs.length} runs of ${query} on ${c.name}: runs like these time the growth of a young process's heap, not the query (see whether more --warmups leave them behind).`,
          );
        }
      }
    }
  }
  const loadEnd = loadavg()[0] ?? 0;
  if (Math.max(machine.load1, loadEnd) > machine.cores / 2) {
    notes.push(
      `The machine was busy (load ${machine.load1} at the start, ${loadEnd.toFixed(2)} at the end, ${machine.cores} cores): compare zask and dask as ratios within this run, not absolute times.`,
    );
  }
  if (expected === undefined) return; // only the sharded rows ran: latest.* keep the last full run
  const all: Results = {
    schema: 1,
    date: new Date().toISOString(),
    machine,
    machineLine,
    server: server.kind,
    repeats,
    store: {
      shape: expected.shape,
      writer: bigOnly ? "anndata 0.8 + zarr 2.13 (benchmarks/lib/write_big_store.py --annotated)" : "anndata 0.8 (benchmarks/lib/write_pbmc_like.py)",
    },
    peer: peerInfo,
    chunkings: results,
    memory,
    sparseMemory,
    sessionMemory,
    notes,
  };
  await mkdir(args.out, { recursive: true });
  // The big store alone has its own files: latest.* keep the last run over the pbmc-shaped stores.
  const base = bigOnly ? "big" : "latest";
  await writeAtomic(join(args.out, `${base}.json`), `${JSON.stringify(all, null, 1)}\n`);
  await writeAtomic(join(args.out, `${base}.md`), renderMarkdown(all));
  if (!bigOnly) await writeAtomic(join(args.out, "latest.svg"), renderChart(all));
  for (const target of TARGETS) {
    const chunking = results.find((c) => c.name === target.store);
    const r = ratio(chunking, target.query);
    const paired = pairedRatio(chunking, target.query);
    if (r !== undefined) {
      console.log(
        `${QUERY_LABELS[target.query]} on ${target.store}: zask/dask = ${r.toFixed(2)}, median of per-run ratios ${paired === undefined ? "–" : paired.toFixed(2)} (target ≤ ${target.maxRatio})`,
      );
    }
  }
  for (const note of notes) console.log(`note: ${note}`);
  console.log(`wrote ${join(args.out, bigOnly ? "big.{json,md}" : "latest.{json,md,svg}")}`);
}

/** `--rtt`: the latency benchmark (benchmarks/lib/latency.ts). */
async function latency(signal: AbortSignal, repeats: number, warmups: number): Promise<void> {
  const rtts = args.rtt!.split(",").map(Number);
  if (rtts.length === 0 || rtts.some((r) => !(r >= 0))) throw new RangeError(`Expected --rtt to list round-trip times in ms, like 0,10,50, got ${args.rtt}`);
  const names = args.only?.split(",").filter(Boolean) ?? ["c5", "c25"];
  const stores = chunkings().filter((c) => names.includes(c.name));
  if (stores.length === 0) throw unknownStores(args.only);
  const machine = machineInfo();
  const machineLine = describeMachine(machine);
  console.log(`machine: ${machineLine}`);
  const expected = await ensureStores(STORES, stores, { signal });
  const server = await startLoggingServer(STORES, { prefer: "nginx", signal });
  if (server.kind !== "nginx") throw new Error("The latency benchmark needs nginx (/usr/sbin/nginx)");
  const { hostname, port } = new URL(server.url);
  const h2c = server.h2cUrl === undefined ? undefined : new URL(server.h2cUrl);
  let result: Awaited<ReturnType<typeof runLatency>>;
  try {
    result = await runLatency({
      rtts,
      stores,
      target: { host: hostname, port: Number(port) },
      ...(h2c === undefined ? {} : { h2cTarget: { host: h2c.hostname, port: Number(h2c.port) } }),
      expected,
      repeats,
      warmups,
      signal,
      onRow: (r) =>
        console.log(
          `rtt ${r.rttMs} ${r.store} ${r.query.padEnd(21)} ${r.reader.padEnd(22)} ${r.ms.toFixed(1).padStart(8)} ms  req ${String(r.requests).padStart(4)}  max ${String(r.maxInFlight).padStart(3)}  conns ${String(r.connections).padStart(3)}  floor ${r.floorMs}${r.overFloor === undefined ? "" : `  ÷floor ${r.overFloor.toFixed(2)}`}${r.sumOk === false ? "  WRONG SUM" : ""}`,
        ),
    });
  } finally {
    await server.close();
  }
  const date = new Date().toISOString();
  const peer =
    result.peer === undefined
      ? "–"
      : `dask ${result.peer.versions["dask"] ?? "?"}, zarr ${result.peer.versions["zarr"] ?? "?"}, fsspec ${result.peer.versions["fsspec"] ?? "?"}`;
  const files = latencyFiles(args.out);
  await mkdir(args.out, { recursive: true });
  await writeAtomic(files.json, `${JSON.stringify({ schema: 1, date, machine, machineLine, repeats, warmups, rows: result.rows }, null, 1)}\n`);
  await writeAtomic(files.md, renderLatencyMarkdown(result.rows, { machineLine, date, peer, repeats, warmups }));
  console.log(`wrote ${files.md}`);
}

/**
 * Measures every query on one store, the peer and zask interleaved run by run (see the top of
 * this file), with a log mark after every run so each run's requests can be counted.
 */
async function measureChunking(
  server: LoggingServer,
  chunking: ReturnType<typeof chunkings>[number],
  url: string,
  { repeats, warmups, numWorkers }: { repeats: number; warmups: number; numWorkers?: number | undefined },
  expected: Expected,
  signal: AbortSignal,
): Promise<{ row: ChunkingResult; peer: Results["peer"] }> {
  const row: ChunkingResult = { ...chunking, queries: {} };
  const segments: LogSegment[] = [];
  const mark = async (label: string): Promise<void> => {
    segments.push(...(await server.mark(label, { signal })));
  };
  // Both readers are started before the first mark, so the peer's start-up (and anything
  // before this store) is never counted in a run.
  const peer = args["skip-peer"] ? undefined : await PeerSession.start(url, { signal, ...(numWorkers === undefined ? {} : { numWorkers }) });
  const zask = args["skip-zask"] ? undefined : new ZaskSession(url, { gene: expected.gene, oneCell: expected.one_cell, signal });
  try {
    await mark(`runner/${chunking.name}/start`);
    for (const query of QUERIES) {
      // Planned once, outside the timing, on the store the last open opened (as before the runs).
      const prediction = zask?.plan(query);
      // Untimed warm-ups of each (first-call costs: V8 tiering up zask's code path, worker
      // start-up, imports, connection pools), each followed by a mark so its requests never
      // land in a timed run's segment. Three, because in a fresh process a small query keeps
      // getting faster over its first few runs.
      for (let w = 0; w < warmups; w++) {
        if (peer !== undefined) {
          await peer.run(query);
          await mark(`peer/${query}/warmup-${w}`);
        }
        if (zask !== undefined) {
          await zask.run(query);
          await mark(`zask/${query}/warmup-${w}`);
        }
      }
      const runs: Record<Reader, { ms: number[]; faults: number[]; sum: number | undefined }> = {
        dask: { ms: [], faults: [], sum: undefined },
        zask: { ms: [], faults: [], sum: undefined },
      };
      const runOnce = async (reader: Reader, r: number): Promise<void> => {
        const side = reader === "dask" ? peer : zask;
        if (side === undefined) return;
        const { ms, sum, faults } = await side.run(query);
        runs[reader].ms.push(ms);
        runs[reader].faults.push(faults);
        runs[reader].sum = sum;
        await mark(`${reader === "dask" ? "peer" : "zask"}/${query}/${r}`);
      };
      for (let r = 0; r < repeats; r++) {
        // Alternate who goes first, so neither always runs right after the other (warm caches,
        // the other's garbage collection or thread teardown).
        const order: Reader[] = r % 2 === 0 ? ["dask", "zask"] : ["zask", "dask"];
        for (const reader of order) await runOnce(reader, r);
      }
      const sums = chunking.sparse ? expected.sums_csr : expected.sums;
      const figuresOf = (reader: Reader, prefix: string): QueryFigures => ({
        ...figures(segments, `${prefix}/${query}`, repeats, runs[reader].ms, runs[reader].sum, sums, query),
        faultsPerRun: runs[reader].faults,
      });
      const both: Partial<Record<Reader, QueryFigures>> = {};
      if (peer !== undefined) both.dask = figuresOf("dask", "peer");
      if (zask !== undefined) {
        both.zask = {
          ...figuresOf("zask", "zask"),
          ...(prediction === undefined ? {} : { predictedRequests: prediction.requests, predictedBytes: prediction.bytes }),
          ...(peer === undefined ? {} : { pairedRatio: median(runs.zask.ms.map((ms, r) => ms / (runs.dask.ms[r] as number))) }),
        };
      }
      row.queries[query] = both;
    }
  } finally {
    await peer?.close();
  }
  const scheduler = peer === undefined ? "" : `${peer.info.scheduler}${numWorkers === undefined ? "" : `, num_workers=${numWorkers}`}`;
  return { row, peer: peer === undefined ? undefined : { versions: peer.info.versions, scheduler } };
}

/** One reader's figures for one query from its log segments (`<prefix>/<run>`) and timings. */
function figures(
  segments: LogSegment[],
  prefix: string,
  repeats: number,
  runsMs: number[],
  sum: number | undefined,
  sums: Expected["sums"],
  query: QueryName,
): QueryFigures {
  const requestsPerRun: number[] = [];
  const bytesPerRun: number[] = [];
  for (let run = 0; run < repeats; run++) {
    const segment = segments.find((s) => s.label === `${prefix}/${run}`);
    if (segment === undefined) throw new Error(`No log segment ${prefix}/${run}: the reader did not mark its runs`);
    requestsPerRun.push(segment.requests.length);
    bytesPerRun.push(segment.requests.reduce((total, r) => total + r.bytes, 0));
  }
  const medianMs = median(runsMs);
  return {
    requests: requestsPerRun[0] ?? 0,
    bytes: bytesPerRun[0] ?? 0,
    requestsPerRun,
    medianMs,
    runsMs,
    sum,
    sumOk: query === "open" ? undefined : sumMatches(sum, sums[query]),
  };
}

function printRow(row: ChunkingResult): void {
  for (const query of QUERIES) {
    const { dask, zask } = row.queries[query] ?? {};
    const part = (name: string, f: QueryFigures | undefined): string =>
      f === undefined ? `${name} –` : `${name} ${f.requests} req ${f.medianMs.toFixed(1)} ms${f.sumOk === false ? " WRONG" : ""}`;
    console.log(
      `${row.sparse ? "[csr]" : `[${row.chunks.join(", ")}]`} ${QUERY_LABELS[query].padEnd(26)} ${part("dask", dask).padEnd(28)} ${part("zask", zask)}`,
    );
  }
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

const controller = new AbortController();
process.once("SIGINT", () => controller.abort());
await main(controller.signal);
