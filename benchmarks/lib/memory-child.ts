/**
 * Child process of the memory benchmarks: prints its result and its peak RSS as JSON on stdout.
 * The benchmarks run it as plain JavaScript (./memory-child-script.ts transpiles it), so the
 * peak is zask's and node's, without tsx's loader; by hand, either way:
 *
 *   node --import tsx benchmarks/lib/memory-child.ts STORE_URL
 *     zask's full reduction over the store: `{"sum", "ms", "maxRssMiB"}` (or `{"notImplemented": true}`)
 *   node --import tsx benchmarks/lib/memory-child.ts STORE_URL --columns STEP
 *     every STEP-th column of X computed dense: `{"sum", "ms", "maxRssMiB"}`
 *   node --import tsx benchmarks/lib/memory-child.ts STORE_URL --rewrite OUT CHUNK
 *     the store rewritten to the directory OUT with X's parts in chunks of CHUNK values, then the
 *     per-gene means of the written X: `{"sum", "ms" (the rewrite's), "maxRssMiB" (the rewrite's)}`
 *   node --import tsx benchmarks/lib/memory-child.ts STORE_URL --session GENE ONE_CELL
 *     every benchmark query, an untimed warm-up then a timed run each, as the peer's batch mode
 *     does: `{"ms": {query: ms}, "firstMs": {query: warm-up ms}, "sums": {query: sum}, "maxRssMiB"}`
 */
import { readFileSync } from "node:fs";
import { QUERIES } from "./results.ts";
import type { QueryName } from "./results.ts";
import { ZaskSession, zaskColumnSelection, zaskFullReduction, zaskSparseRewrite } from "./zask-queries.ts";

const [url, mode, gene, oneCell] = process.argv.slice(2);
if (url === undefined) throw new TypeError("Expected a store URL argument, got nothing");
// The peak RSS of this process, node's baseline and the workers included: on Linux VmHWM, since
// getrusage's maxRSS keeps the parent's RSS at fork across exec (a child of a 1 GiB bench
// process reads 1 GiB there, whatever it uses itself); elsewhere maxRSS (KiB).
const maxRssMiB = (): number => {
  try {
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kib !== undefined) return Number(kib) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
};
if (mode === "--session") {
  if (gene === undefined || !(Number(oneCell) >= 0)) throw new TypeError(`Expected --session GENE ONE_CELL, got ${gene} ${oneCell}`);
  const session = new ZaskSession(url, { gene, oneCell: Number(oneCell) });
  const ms: Partial<Record<QueryName, number>> = {};
  const firstMs: Partial<Record<QueryName, number>> = {};
  const sums: Partial<Record<QueryName, number>> = {};
  for (const query of QUERIES) {
    firstMs[query] = (await session.run(query)).ms;
    const run = await session.run(query);
    ms[query] = run.ms;
    sums[query] = run.sum;
  }
  process.stdout.write(`${JSON.stringify({ ms, firstMs, sums, maxRssMiB: maxRssMiB() })}\n`);
  // the worker pool keeps the process alive otherwise
  process.exit(0);
} else if (mode === "--rewrite") {
  const chunk = Number(oneCell);
  if (gene === undefined || !(Number.isInteger(chunk) && chunk > 0)) throw new TypeError(`Expected --rewrite OUT CHUNK, got ${gene} ${oneCell}`);
  // the peak of the rewrite alone: the check that follows reads the written store again
  let peak = 0;
  const { ms, sum } = await zaskSparseRewrite(url, gene, chunk, { onWritten: () => (peak = maxRssMiB()) });
  process.stdout.write(`${JSON.stringify({ sum, ms, maxRssMiB: peak })}\n`);
  process.exit(0);
} else if (mode === "--columns") {
  const step = Number(gene);
  if (!(Number.isInteger(step) && step > 0)) throw new TypeError(`Expected --columns STEP, a positive integer, got ${gene}`);
  const t0 = performance.now();
  const sum = await zaskColumnSelection(url, step);
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ sum, ms, maxRssMiB: maxRssMiB() })}\n`);
  process.exit(0);
} else {
  const t0 = performance.now();
  const sum = await zaskFullReduction(url);
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify(sum === undefined ? { notImplemented: true, maxRssMiB: maxRssMiB() } : { sum, ms, maxRssMiB: maxRssMiB() })}\n`);
}
