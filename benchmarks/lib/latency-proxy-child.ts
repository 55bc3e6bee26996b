/**
 * The child process of latency-proxy-process.ts: runs one {@link startLatencyProxy} given as a
 * JSON argument, says its URL, answers `take` messages with the counts, stops on SIGTERM.
 */
import { startLatencyProxy } from "./latency-proxy.ts";

const { target, rttMs, h2cTarget } = JSON.parse(process.argv[2]!);
const proxy = await startLatencyProxy(target, rttMs, h2cTarget === undefined ? {} : { h2cTarget });
process.on("message", (m: { type: string; id: number }) => {
  if (m.type === "take") void proxy.take().then((counts) => process.send!({ type: "counts", id: m.id, counts }));
});
process.once("SIGTERM", () => void proxy.close().then(() => process.exit(0)));
// the parent gone: nothing is left to serve
process.once("disconnect", () => process.exit(0));
process.send!({ type: "ready", url: proxy.url });
