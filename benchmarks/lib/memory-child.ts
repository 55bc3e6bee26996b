/**
 * Child process of the memory benchmark: runs zask's full reduction over one store and prints
 * `{"sum", "ms", "maxRssMiB"}` (or `{"notImplemented": true}`) as JSON on stdout.
 *
 *   node --import tsx benchmarks/lib/memory-child.ts STORE_URL
 */
import { zaskFullReduction } from "./zask-queries.ts";

const url = process.argv[2];
if (url === undefined) throw new TypeError("Expected a store URL argument, got nothing");
const t0 = performance.now();
const sum = await zaskFullReduction(url);
const ms = performance.now() - t0;
// maxRSS is in KiB on Linux: the peak of this whole process, node's own baseline included.
const maxRssMiB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${JSON.stringify(sum === undefined ? { notImplemented: true, maxRssMiB } : { sum, ms, maxRssMiB })}\n`);
