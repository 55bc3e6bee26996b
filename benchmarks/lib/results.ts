/** The shape of benchmarks/results/latest.json, shared by the runner, the table and the chart. */
import type { MachineInfo } from "./machine.ts";
import type { MemoryResult, SessionMemoryResult } from "./memory.ts";
import type { SparseMemoryResult } from "./sparse-memory.ts";

/** The benchmark queries, in the order they run (each needs the store opened first). */
export const QUERIES = ["open", "one_gene", "genes_n_cells_gt_1000", "rows_0_100", "one_cell", "mean_per_gene"] as const;
export type QueryName = (typeof QUERIES)[number];

/** How each query reads in a table. */
export const QUERY_LABELS: Readonly<Record<QueryName, string>> = {
  open: "open",
  one_gene: "one gene (C1orf86)",
  genes_n_cells_gt_1000: "59 genes (n_cells > 1000)",
  rows_0_100: "rows 0:100",
  one_cell: "one cell",
  mean_per_gene: "mean per gene (full scan)",
};

/** The chunkings of X that the benchmark writes and reads. */
export interface Chunking {
  /** Store name, e.g. `c5` (column width 5) or `r100` (row-chunked). */
  name: string;
  chunks: [number, number];
  /** Genes per chunk when chunked by columns only (full rows); undefined for row-chunked stores. */
  width: number | undefined;
  /** X is a CSR matrix (`data`/`indices` in 8 chunks each); `chunks` is then its shape. */
  sparse?: boolean;
}

/** One reader's figures for one query on one store. */
export interface QueryFigures {
  /** Requests the server logged for one run (the first; see `requestsPerRun`). */
  requests: number;
  /** Body bytes the server logged for one run. */
  bytes: number;
  requestsPerRun: number[];
  medianMs: number;
  runsMs: number[];
  /** Minor page faults of the reader's process in each timed run (absent in older results). */
  faultsPerRun?: number[] | undefined;
  /** float64 sum of the query's result, to check against the writer's expected value. */
  sum: number | undefined;
  /** Whether `sum` matched expected.json (relative tolerance 1e-5). */
  sumOk: boolean | undefined;
  /** zask only: what `plan()` predicted before running. */
  predictedRequests?: number | undefined;
  predictedBytes?: number | undefined;
  /**
   * zask only, when both readers ran: the median over runs r of zask's run r over dask's run r.
   * The runs are interleaved (run r of one reader right after run r of the other), so each
   * ratio compares the two under the same machine state.
   */
  pairedRatio?: number | undefined;
}

export type Reader = "dask" | "zask";

export interface ChunkingResult extends Chunking {
  /** Per query, per reader; a reader that did not run is absent. */
  queries: Partial<Record<QueryName, Partial<Record<Reader, QueryFigures>>>>;
}

export interface Results {
  schema: 1;
  date: string;
  machine: MachineInfo;
  machineLine: string;
  server: "nginx" | "zask";
  repeats: number;
  store: { shape: [number, number]; writer: string };
  peer: { versions: Record<string, string>; scheduler: string } | undefined;
  chunkings: ChunkingResult[];
  /** The memory benchmark (`--memory`), when it ran. */
  memory?: MemoryResult | undefined;
  /** The sparse memory benchmark (`--sparse-memory`), when it ran. */
  sparseMemory?: SparseMemoryResult | undefined;
  /** Both readers' peak RSS over a session of every query on the big store (`--only big --memory`). */
  sessionMemory?: SessionMemoryResult | undefined;
  /** Anything the reader of the results should know (readers skipped, mismatches). */
  notes: string[];
}

/** The benchmark's chunkings: column widths 1 … all genes, row chunks of 100, and a CSR X. */
export function chunkings(nObs = 2638, nVars = 1838): Chunking[] {
  const widths = [1, 5, 25, 100, 500, nVars];
  return [
    ...widths.map((width) => ({ name: `c${width}`, chunks: [nObs, width] as [number, number], width })),
    { name: "r100", chunks: [100, nVars], width: undefined },
    { name: "csr", chunks: [nObs, nVars], width: undefined, sparse: true },
  ];
}
