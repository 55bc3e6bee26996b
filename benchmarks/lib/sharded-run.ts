import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describeMachine, machineInfo } from "./machine.ts";
import type { LoggingServer } from "./nginx.ts";
import { ensureShardedStores, measureSharded, renderShardedMarkdown } from "./sharded.ts";

/** Writes the sharded stores (once), measures them and writes `out`/sharded.{json,md}. */
export async function runShardedBench(
  server: LoggingServer,
  stores: string,
  out: string,
  options: { repeats: number; warmups: number; peer: boolean; signal?: AbortSignal },
): Promise<void> {
  console.log(`writing the sharded zarr v3 stores (zask toZarr) into ${stores} …`);
  const { genes } = await ensureShardedStores(stores);
  const rows = await measureSharded(server, stores, genes, options);
  const machine = machineInfo();
  await mkdir(out, { recursive: true });
  await writeFile(
    join(out, "sharded.json"),
    `${JSON.stringify({ schema: 1, date: new Date().toISOString(), machine, server: server.kind, repeats: options.repeats, rows }, null, 1)}\n`,
  );
  const md = renderShardedMarkdown(rows, describeMachine(machine), server.kind, options.repeats, options.warmups);
  await writeFile(join(out, "sharded.md"), md);
  console.log(md);
  console.log(`wrote ${join(out, "sharded.{json,md}")}`);
}
