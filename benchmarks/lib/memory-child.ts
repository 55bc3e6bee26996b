/**
 * Child process of the memory benchmarks: prints its result and its peak RSS as JSON on stdout.
 * The benchmarks run it as plain JavaScript (./memory-child-script.ts transpiles it), so the
 * peak is zask's and node's, without tsx's loader; by hand, either way:
 *
 *   node --import tsx benchmarks/lib/memory-child.ts STORE_URL
 *     zask's full reduction over the store: `{"sum", "ms", "maxRssMiB"}` (or `{"notImplemented": true}`)
 *   node --import tsx benchmarks/lib/memory-child.ts STORE_URL --session GENE ONE_CELL
 *     every benchmark query, an untimed warm-up then a timed run each, as the peer's batch mode
 *     does: `{"ms": {query: ms}, "firstMs": {query: warm-up ms}, "sums": {query: sum}, "maxRssMiB"}`
 */
import { QUERIES } from "./results.ts";
import type { QueryName } from "./results.ts";
import { ZaskSession, zaskFullReduction } from "./zask-queries.ts";

const [url, mode, gene, oneCell] = process.argv.slice(2);
if (url === undefined) throw new TypeError("Expected a store URL argument, got nothing");
// maxRSS is in KiB on Linux: the peak of this whole process, node's own baseline included.
const maxRssMiB = (): number => process.resourceUsage().maxRSS / 1024;
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
} else {
  const t0 = performance.now();
  const sum = await zaskFullReduction(url);
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify(sum === undefined ? { notImplemented: true, maxRssMiB: maxRssMiB() } : { sum, ms, maxRssMiB: maxRssMiB() })}\n`);
}
