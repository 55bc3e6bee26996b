/**
 * The latency benchmark (`npm run bench -- --rtt 0,10,50`): the queries through a
 * {@link startLatencyProxy} in front of nginx at each round-trip time, for dask at its default
 * threads, dask with `num_workers=16`, zask over HTTP/1.1 at `httpConcurrency` 16 and 64, and
 * zask over h2c (HTTP/2 with prior knowledge, to nginx's second, `http2` listener).
 * Per reader and query: the median time, the requests and the most in flight (counted by the
 * proxy, for the last run), and time ÷ floor, where floor = ⌈requests / in-flight bound⌉ × RTT
 * is the least any reader with that bound can take.
 *
 * Runs are interleaved as in the loopback benchmark (run.ts): per query, `warmups` untimed runs
 * (at least one) of each reader, then run r of every reader in turn, the order rotated by r.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Expected } from "./stores.ts";
import type { LatencyProxy, ProxyCounts } from "./latency-proxy.ts";
import { startLatencyProxyProcess } from "./latency-proxy-process.ts";
import { PeerSession } from "./peer.ts";
import { QUERY_LABELS, type QueryName } from "./results.ts";
import { median } from "./stats.ts";
import { sumMatches } from "./stores.ts";
import { ZaskSession } from "./zask-queries.ts";

/** The queries the latency benchmark runs, in order (`open` first: the others use its store). */
export const LATENCY_QUERIES = ["open", "one_gene", "genes_n_cells_gt_1000", "mean_per_gene"] as const satisfies readonly QueryName[];

/** One reader of the latency benchmark and its bound on requests in flight. */
export interface LatencyReader {
  readonly name: string;
  readonly bound: number;
}

/** One row of the latency table. */
export interface LatencyRow {
  rttMs: number;
  store: string;
  chunks: [number, number];
  query: QueryName;
  reader: string;
  bound: number;
  ms: number;
  msPerRun: number[];
  requests: number;
  maxInFlight: number;
  connections: number;
  floorMs: number;
  /** time ÷ floor (`undefined` at RTT 0). */
  overFloor: number | undefined;
  sumOk: boolean | undefined;
}

/** What {@link runLatency} needs. */
export interface LatencyOptions {
  rtts: readonly number[];
  /** The stores to read; a `sparse` one (CSR X) holds other values, checked against `sums_csr`. */
  stores: readonly { name: string; chunks: [number, number]; sparse?: boolean }[];
  /** nginx's host and port. */
  target: { host: string; port: number };
  /** nginx's h2c port, for zask over HTTP/2 (left out when `undefined`). */
  h2cTarget?: { host: string; port: number };
  expected: Expected;
  repeats: number;
  /** Untimed runs of each reader before the timed ones, per query. */
  warmups: number;
  signal: AbortSignal;
  /** Called with each row as it is measured. */
  onRow?: (row: LatencyRow) => void;
}

interface Side {
  reader: LatencyReader;
  run(query: QueryName): Promise<{ ms: number; sum: number }>;
  close(): Promise<void>;
}

/** Measure every store, query and reader at every RTT. */
export async function runLatency(options: LatencyOptions): Promise<{ rows: LatencyRow[]; peer: PeerSession["info"] | undefined }> {
  const { rtts, stores, target, expected, repeats, warmups, signal } = options;
  const rows: LatencyRow[] = [];
  let peerInfo: PeerSession["info"] | undefined;
  for (const rttMs of rtts) {
    const proxy = await startLatencyProxyProcess(target, rttMs);
    // the h2c reader's own proxy, so its counts are its own: HTTP/2 connections go to nginx's
    // h2c port, anything else to the HTTP/1.1 one
    const h2Proxy = options.h2cTarget === undefined ? undefined : await startLatencyProxyProcess(target, rttMs, { h2cTarget: options.h2cTarget });
    // one proxy's counts per reader: the h2c reader goes through its own
    const proxyOf = (side: Side): LatencyProxy => (side.reader.name.includes("h2c") ? h2Proxy! : proxy);
    try {
      for (const store of stores) {
        const url = `${proxy.url}${store.name}.zarr`;
        const sides = await startSides(url, h2Proxy === undefined ? undefined : `${h2Proxy.url}${store.name}.zarr`, expected, signal);
        peerInfo ??= (sides[0] as Side & { info?: PeerSession["info"] }).info;
        try {
          for (const query of LATENCY_QUERIES) {
            const runs = new Map<string, { ms: number[]; sum: number | undefined; requests: number; maxInFlight: number; connections: number }>();
            for (const side of sides) {
              // warm-ups: first-call costs, connection pools, and V8 still optimizing zask's
              // code path over a process's first runs of a query
              for (let w = 0; w < Math.max(1, warmups); w++) await side.run(query);
              await proxyOf(side).take();
              runs.set(side.reader.name, { ms: [], sum: undefined, requests: 0, maxInFlight: 0, connections: 0 });
            }
            for (let r = 0; r < repeats; r++) {
              for (let k = 0; k < sides.length; k++) {
                const side = sides[(k + r) % sides.length]!;
                await proxyOf(side).take();
                const { ms, sum } = await side.run(query);
                const counts = await settled(proxyOf(side));
                const into = runs.get(side.reader.name)!;
                into.ms.push(ms);
                into.sum = sum;
                into.requests = counts.requests;
                into.maxInFlight = counts.maxInFlight;
                into.connections = counts.connections;
              }
            }
            for (const side of sides) {
              const f = runs.get(side.reader.name)!;
              const ms = median(f.ms);
              const floorMs = Math.ceil(f.requests / side.reader.bound) * rttMs;
              const row: LatencyRow = {
                rttMs,
                store: store.name,
                chunks: store.chunks,
                query,
                reader: side.reader.name,
                bound: side.reader.bound,
                ms,
                msPerRun: f.ms,
                requests: f.requests,
                maxInFlight: f.maxInFlight,
                connections: f.connections,
                floorMs,
                overFloor: floorMs > 0 ? ms / floorMs : undefined,
                sumOk: sumMatches(f.sum, query === "open" ? expected.shape[0] + expected.shape[1] : (store.sparse ? expected.sums_csr : expected.sums)[query]),
              };
              rows.push(row);
              options.onRow?.(row);
            }
          }
        } finally {
          for (const side of sides) await side.close();
        }
      }
    } finally {
      await proxy.close();
      await h2Proxy?.close();
    }
  }
  return { rows, peer: peerInfo };
}

/** The proxy's counts once the last answer has left it (its delay line may still hold bytes). */
async function settled(proxy: LatencyProxy): Promise<ProxyCounts> {
  await new Promise((r) => setTimeout(r, proxy.rttMs / 2 + 5));
  return proxy.take();
}

async function startSides(url: string, h2cUrl: string | undefined, expected: Expected, signal: AbortSignal): Promise<Side[]> {
  const cores = availableParallelism();
  const dask = await PeerSession.start(url, { signal });
  const dask16 = await PeerSession.start(url, { numWorkers: 16, signal });
  const peer = (p: PeerSession, reader: LatencyReader): Side & { info: PeerSession["info"] } => ({
    reader,
    info: p.info,
    run: (q) => p.run(q),
    close: () => p.close(),
  });
  const zask = (bound: number): Side => {
    const session = new ZaskSession(url, { gene: expected.gene, oneCell: expected.one_cell, httpConcurrency: bound, signal });
    return { reader: { name: `zask http/1.1 ×${bound}`, bound }, run: (q) => session.run(q), close: async () => {} };
  };
  const sides = [peer(dask, { name: `dask threads (${cores})`, bound: cores }), peer(dask16, { name: "dask num_workers=16", bound: 16 }), zask(16), zask(64)];
  if (h2cUrl !== undefined) {
    const session = new ZaskSession(h2cUrl, { gene: expected.gene, oneCell: expected.one_cell, http2: true, signal });
    // nginx's default http2_max_concurrent_streams
    sides.push({ reader: { name: "zask h2c", bound: 128 }, run: (q) => session.run(q), close: async () => {} });
  }
  return sides;
}

/** The latency table as Markdown. */
export function renderLatencyMarkdown(
  rows: readonly LatencyRow[],
  header: { machineLine: string; date: string; peer: string; repeats: number; warmups: number },
): string {
  const out: string[] = [];
  out.push("# Benchmark: latency (queries through a delaying proxy)");
  out.push("");
  out.push(`Machine: ${header.machineLine}. ${header.date}. Peer: ${header.peer}.`);
  out.push(
    `nginx on loopback behind benchmarks/lib/latency-proxy.ts, in a process of its own (each direction delayed by RTT/2, one more RTT per new connection). Per query, ${header.warmups} untimed warm-up run(s) of each reader, then medians of ${header.repeats} runs, interleaved; requests, max in flight and connections counted by the proxy for one run. floor = ⌈requests / bound⌉ × RTT; "vs dask16" = time ÷ dask num_workers=16's time.`,
  );
  out.push("");
  out.push(renderLatencySummary(rows));
  out.push("| RTT | chunks | query | reader | requests | max in flight | conns | ms | floor ms | ÷ floor | vs dask16 |");
  out.push("| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    const dask16 = rows.find((x) => x.rttMs === r.rttMs && x.store === r.store && x.query === r.query && x.reader === "dask num_workers=16");
    const vs = dask16 === undefined || r.reader === dask16.reader ? "" : (r.ms / dask16.ms).toFixed(2);
    out.push(
      `| ${r.rttMs} | [${r.chunks.join(", ")}] | ${QUERY_LABELS[r.query]} | ${r.reader} | ${r.requests} | ${r.maxInFlight} | ${r.connections} | ${fmt(r.ms)} | ${r.floorMs} | ${r.overFloor === undefined ? "–" : r.overFloor.toFixed(2)} | ${vs}${r.sumOk === false ? " (wrong sum)" : ""} |`,
    );
  }
  return `${out.join("\n")}\n`;
}

/**
 * The latency table in short, one line per RTT, store and query: each reader's median ms, and
 * zask HTTP/1.1 ×16's time ÷ floor and ÷ dask num_workers=16's time (the README's table).
 */
export function renderLatencySummary(rows: readonly LatencyRow[]): string {
  const readers = [...new Set(rows.map((r) => r.reader))];
  const out = [
    `| RTT ms | chunks | query | requests | ${readers.join(" | ")} | zask ×16 ÷ floor | zask ×16 ÷ dask16 |`,
    `| ---: | --- | --- | ---: | ${readers.map(() => "---:").join(" | ")} | ---: | ---: |`,
  ];
  const seen = new Set<string>();
  for (const r of rows) {
    const id = `${r.rttMs}/${r.store}/${r.query}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const of = (reader: string): LatencyRow | undefined => rows.find((x) => `${x.rttMs}/${x.store}/${x.query}` === id && x.reader === reader);
    const z = of("zask http/1.1 ×16");
    const d = of("dask num_workers=16");
    const requests = z?.requests ?? r.requests;
    out.push(
      `| ${r.rttMs} | [${r.chunks.join(", ")}] | ${QUERY_LABELS[r.query]} | ${requests} | ${readers
        .map((name) => {
          const x = of(name);
          return x === undefined ? "–" : fmt(x.ms);
        })
        .join(
          " | ",
        )} | ${z?.overFloor === undefined ? "–" : z.overFloor.toFixed(2)} | ${z === undefined || d === undefined ? "–" : (z.ms / d.ms).toFixed(2)} |`,
    );
  }
  return `${out.join("\n")}\n`;
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

/** Where the latency results go. */
export function latencyFiles(dir: string): { json: string; md: string } {
  return { json: join(dir, "latency.json"), md: join(dir, "latency.md") };
}
