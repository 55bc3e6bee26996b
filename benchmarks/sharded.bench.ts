/**
 * The sharded rows alone (they also run at the end of `npm run bench`):
 *
 *   node --import tsx benchmarks/sharded.bench.ts [--repeats 5] [--warmups 2] [--server nginx|zask] [--skip-peer]
 *
 * Writes benchmarks/results/sharded.md and sharded.json. See benchmarks/lib/sharded.ts.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { close } from "@zask/scheduler";
import { describeMachine, machineInfo } from "./lib/machine.ts";
import { startLoggingServer } from "./lib/nginx.ts";
import { runShardedBench } from "./lib/sharded-run.ts";

const RESULTS = new URL("./results/", import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    repeats: { type: "string", default: "5" },
    warmups: { type: "string", default: "2" },
    server: { type: "string", default: "nginx" },
    "skip-peer": { type: "boolean", default: false },
    out: { type: "string", default: RESULTS },
  },
});
const stores = join(RESULTS, "tmp", "stores");
console.log(`machine: ${describeMachine(machineInfo())}`);
const server = await startLoggingServer(stores, { prefer: args.server === "zask" ? "zask" : "nginx" });
try {
  await runShardedBench(server, stores, args.out, { repeats: Number(args.repeats), warmups: Number(args.warmups), peer: !args["skip-peer"] });
} finally {
  await server.close();
  await close();
}
