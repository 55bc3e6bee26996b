/** The Markdown table of a benchmark run (benchmarks/results/latest.md, and the README's copy). */
import { QUERIES, QUERY_LABELS } from "./results.ts";
import type { ChunkingResult, QueryFigures, QueryName, Results } from "./results.ts";
import { median } from "./stats.ts";

/** The performance targets: zask's time over dask's, at most. */
export const TARGETS: readonly { store: string; query: QueryName; maxRatio: number }[] = [
  { store: "c5", query: "mean_per_gene", maxRatio: 0.25 },
  { store: "c25", query: "mean_per_gene", maxRatio: 0.5 },
  { store: "c5", query: "one_gene", maxRatio: 1 },
  // the 50,000 × 2,000 store against dask with num_workers=16 (`--only big`)
  ...(["open", "one_gene", "genes_n_cells_gt_1000", "mean_per_gene"] as const).map((query) => ({ store: "big", query, maxRatio: 0.8 })),
  // the CSR X against anndata's read_elem + scipy, reading X afresh per query
  ...(["one_gene", "genes_n_cells_gt_1000", "rows_0_100", "mean_per_gene"] as const).map((query) => ({ store: "csr", query, maxRatio: 0.5 })),
];

/** Runs with at most this many page faults touched (almost) no fresh memory. */
const FEW_FAULTS = 16;

/** A run that faults in more pages than this (400 KiB) touched that much memory new to its process. */
const MANY_FAULTS = 100;

/**
 * How many of a reader's runs faulted in more than {@link MANY_FAULTS} pages, or `undefined`
 * when it recorded none. In zask's process, runs like these come while its malloc heap is still
 * growing to hold what V8 frees only at its next young-generation collection: they time that
 * growth, which more warm-ups leave behind.
 *
 * @example
 * ```ts
 * warmingRuns(results.chunkings[0].queries.one_gene.zask); // 2
 * ```
 */
export function warmingRuns(figures: QueryFigures | undefined): number | undefined {
  return figures?.faultsPerRun?.filter((n) => n > MANY_FAULTS).length;
}

/** zask's median time over dask's for one query on one store, when both ran. */
export function ratio(chunking: ChunkingResult | undefined, query: QueryName): number | undefined {
  const figures = chunking?.queries[query];
  const zask = figures?.zask?.medianMs;
  const dask = figures?.dask?.medianMs;
  return zask === undefined || dask === undefined || dask === 0 ? undefined : zask / dask;
}

/**
 * The median over runs of zask's run r over dask's run r (the runs are interleaved), when both
 * ran. The targets are checked with `ratio`; this one is less swayed by a slow phase of the
 * machine that hit one reader's runs and not the other's.
 *
 * @example
 * ```ts
 * pairedRatio(results.chunkings.find((c) => c.name === "c5"), "mean_per_gene"); // 0.26
 * ```
 */
export function pairedRatio(chunking: ChunkingResult | undefined, query: QueryName): number | undefined {
  return chunking?.queries[query]?.zask?.pairedRatio;
}

/**
 * Renders the results as Markdown: the machine, then one row per store and query with requests
 * (as logged by the server, and zask's plan), bytes, and both readers' median milliseconds.
 *
 * @example
 * ```ts
 * await writeFile("benchmarks/results/latest.md", renderMarkdown(results));
 * ```
 */
export function renderMarkdown(results: Results): string {
  const lines = [
    `# Benchmark: request counts and times per chunking`,
    ``,
    `Machine: ${results.machineLine}. Server: ${results.server} on loopback. ${results.date}.`,
    `Store: AnnData X ${results.store.shape.join(" × ")} float32, written by ${results.store.writer}. Medians of ${results.repeats} runs; requests and bytes as logged by the server for one run.`,
    `Peer: ${results.peer === undefined ? "not run" : `dask ${results.peer.versions.dask} (${results.peer.scheduler}), zarr ${results.peer.versions.zarr}, fsspec ${results.peer.versions.fsspec}, anndata ${results.peer.versions.anndata}`}.`,
    ``,
    `| chunks | query | requests dask | requests zask (plan) | MiB | dask ms | zask ms | zask / dask |`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
  ];
  for (const c of results.chunkings) {
    for (const query of QUERIES) {
      const { dask, zask } = c.queries[query] ?? {};
      if (dask === undefined && zask === undefined) continue;
      const r = ratio(c, query);
      lines.push(
        `| ${c.sparse ? "CSR (data/indices in 8 chunks)" : `[${c.chunks.join(", ")}]`} | ${QUERY_LABELS[query]} | ${requests(dask)} | ${requests(zask)}${zask?.predictedRequests === undefined ? "" : ` (${zask.predictedRequests})`} | ${mib(dask ?? zask)} | ${ms(dask)} | ${ms(zask)} | ${r === undefined ? "–" : r.toFixed(2)} |`,
      );
    }
  }
  lines.push(``, `Targets (zask's time over dask's):`, ``);
  for (const target of TARGETS) {
    const chunking = results.chunkings.find((c) => c.name === target.store);
    if (chunking === undefined) continue;
    const r = ratio(chunking, target.query);
    const chunks = chunking.sparse === true ? "CSR" : `[${chunking.chunks.join(", ")}]`;
    const paired = pairedRatio(chunking, target.query);
    const verdict =
      r === undefined
        ? "not measured"
        : `${r.toFixed(2)} ${r <= target.maxRatio ? "met" : "NOT met"}${paired === undefined ? "" : ` (median of per-run ratios ${paired.toFixed(2)})`}`;
    lines.push(`- ${QUERY_LABELS[target.query]} at ${chunks}: ≤ ${target.maxRatio} → ${verdict}`);
  }
  lines.push(...faultLines(results));
  const memory = results.memory;
  if (memory !== undefined) {
    const gib = (memory.store.decoded_bytes / 2 ** 30).toFixed(1);
    lines.push(
      ``,
      memory.implemented
        ? `Memory: mean per gene over a ${gib} GiB X (${memory.store.shape.join(" × ")}, chunks [${memory.store.chunks.join(", ")}]): peak RSS ${memory.peakRssMiB.toFixed(0)} MiB (limit ${memory.limitMiB.toFixed(0)} MiB) → ${memory.peakRssMiB <= memory.limitMiB ? "met" : "NOT met"}${memory.sumOk === false ? ", WRONG result" : ""}, ${((memory.ms ?? 0) / 1000).toFixed(1)} s.`
        : `Memory: not measured (the zask reduction is not implemented yet).`,
    );
  }
  const sm = results.sparseMemory;
  if (sm !== undefined) {
    const { zask, peer } = sm;
    lines.push(
      ``,
      `Sparse memory: mean per gene over a ${(sm.store.disk_bytes / 1e9).toFixed(1)} GB CSR X (${sm.store.shape.join(" × ")}, ${sm.store.nnz.toLocaleString("en")} stored values, 1-d chunks of ${sm.store.chunk}): ` +
        `zask ${(zask.ms / 1000).toFixed(1)} s, peak RSS ${zask.peakRssMiB.toFixed(0)} MiB (limit ${sm.limitMiB.toFixed(0)} MiB) → ${zask.peakRssMiB <= sm.limitMiB ? "met" : "NOT met"}${zask.sumOk === false ? ", WRONG result" : ""}` +
        (peer === undefined
          ? "."
          : `; peer (read_elem + scipy) ${(peer.ms / 1000).toFixed(1)} s, peak RSS ${peer.peakRssMiB.toFixed(0)} MiB; zask / peer ${(zask.ms / peer.ms).toFixed(2)} (target ≤ 0.5 → ${zask.ms / peer.ms <= 0.5 ? "met" : "NOT met"}).`),
    );
    const c = sm.columns;
    if (c !== undefined) {
      lines.push(
        ``,
        `Sparse column selection: every ${c.step}th gene of the same X, computed dense: zask ${(c.zask.ms / 1000).toFixed(1)} s, peak RSS ${c.zask.peakRssMiB.toFixed(0)} MiB${c.zask.sumOk === false ? ", WRONG result" : ""}` +
          (c.peer === undefined
            ? "."
            : `; peer (read_elem + scipy \`X[:, ::${c.step}]\`) ${(c.peer.ms / 1000).toFixed(1)} s, peak RSS ${c.peer.peakRssMiB.toFixed(0)} MiB; zask / peer ${(c.zask.ms / c.peer.ms).toFixed(2)}${c.zask.sumOk === true ? ", sums equal" : ""}.`),
      );
    }
  }
  const rw = results.sparseMemory?.rewrite;
  if (rw !== undefined) {
    lines.push(
      ``,
      `Sparse rewrite: the same store read lazily over HTTP and written to local disk with X's parts in chunks of ${rw.chunk.toLocaleString("en")} (X streamed a window of blocks at a time): zask ${(rw.zask.ms / 1000).toFixed(1)} s, peak RSS ${rw.zask.peakRssMiB.toFixed(0)} MiB${rw.zask.sumOk === false ? ", WRONG result" : rw.zask.sumOk === true ? ", the written X's per-gene means equal the source's" : ""}.`,
    );
  }
  const session = results.sessionMemory;
  if (session !== undefined) {
    const { zask, dask } = session;
    const r = zask.peakRssMiB / dask.peakRssMiB;
    lines.push(
      ``,
      `Peak RSS over a session of every query (open, then a warm-up and a timed run of each, each reader in a fresh process): zask ${zask.peakRssMiB.toFixed(0)} MiB, dask (num_workers=${session.numWorkers ?? "cores"}) ${dask.peakRssMiB.toFixed(0)} MiB; zask / dask ${r.toFixed(2)} (target ≤ 1 → ${r <= 1 ? "met" : "NOT met"})${session.daskDefaultThreads === undefined ? "" : `; dask at its default threads (one per core) ${session.daskDefaultThreads.peakRssMiB.toFixed(0)} MiB, zask / that ${(zask.peakRssMiB / session.daskDefaultThreads.peakRssMiB).toFixed(2)}`}${zask.wrong.length + dask.wrong.length > 0 ? `; WRONG results: ${[...zask.wrong, ...dask.wrong].join(", ")}` : ""}.`,
    );
  }
  if (results.notes.length > 0) lines.push(``, `Notes:`, ``, ...results.notes.map((n) => `- ${n}`));
  return `${lines.join("\n")}\n`;
}

/**
 * Page faults per run, per reader, where both readers recorded them: a run that touches fresh
 * memory pays for every page, which on a virtual machine can cost more than the query's work.
 */
function faultLines(results: Results): string[] {
  const rows: string[] = [];
  for (const c of results.chunkings) {
    for (const query of QUERIES) {
      const { dask, zask } = c.queries[query] ?? {};
      if (dask?.faultsPerRun === undefined || zask?.faultsPerRun === undefined) continue;
      const quiet = zask.runsMs.filter((_, r) => (zask.faultsPerRun?.[r] ?? Infinity) <= FEW_FAULTS);
      rows.push(
        `| ${c.sparse ? "CSR" : `[${c.chunks.join(", ")}]`} | ${QUERY_LABELS[query]} | ${median(dask.faultsPerRun).toFixed(0)} | ${median(zask.faultsPerRun).toFixed(0)} | ${quiet.length} | ${quiet.length === 0 ? "–" : median(quiet).toFixed(1)} |`,
      );
    }
  }
  if (rows.length === 0) return [];
  const cost = results.machine.pageFaultMicros;
  return [
    ``,
    `Page faults per run (minor faults of each reader's process while it ran the query; a fresh page costs ${cost === undefined ? "an unmeasured time" : `${cost} µs`} here):`,
    ``,
    `| chunks | query | dask faults | zask faults | zask runs with ≤ ${FEW_FAULTS} | their median ms |`,
    `| --- | --- | ---: | ---: | ---: | ---: |`,
    ...rows,
  ];
}

const requests = (f: QueryFigures | undefined): string =>
  f === undefined ? "–" : `${f.requests}${f.requestsPerRun.every((n) => n === f.requests) ? "" : "*"}`;
const mib = (f: QueryFigures | undefined): string => (f === undefined ? "–" : (f.bytes / 2 ** 20).toFixed(2));
const ms = (f: QueryFigures | undefined): string =>
  f === undefined ? "–" : `${f.medianMs < 10 ? f.medianMs.toFixed(1) : f.medianMs.toFixed(0)}${f.sumOk === false ? " (wrong result)" : ""}`;
