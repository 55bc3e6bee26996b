/**
 * A {@link startLatencyProxy} in a child process of its own: the proxy copies every byte the
 * reader receives, and in the reader's process that work would take turns with the reader's
 * event loop (a real network costs the reader nothing of the kind). Same interface; `take`
 * asks the child for its counts.
 *
 * @example
 * ```ts
 * const proxy = await startLatencyProxyProcess({ host: "127.0.0.1", port: 8080 }, 50);
 * await fetch(`${proxy.url}c5.zarr/.zmetadata`);
 * console.log(await proxy.take()); // { requests: 1, maxInFlight: 1, connections: 1 }
 * await proxy.close();
 * ```
 */
import { fork } from "node:child_process";
import { setPriority } from "node:os";
import type { LatencyProxy, ProxyCounts, Target } from "./latency-proxy.ts";

const CHILD = new URL("./latency-proxy-child.ts", import.meta.url).pathname;
/** The proxy's scheduling priority (nice value; lower runs first). */
const PROXY_PRIORITY = -10;

/** Messages from the child. */
type FromChild = { type: "ready"; url: string } | { type: "counts"; id: number; counts: ProxyCounts };

/** Start the proxy of `startLatencyProxy(target, rttMs, options)` in a child process. */
export async function startLatencyProxyProcess(target: Target, rttMs: number, options: { h2cTarget?: Target } = {}): Promise<LatencyProxy> {
  const child = fork(CHILD, [JSON.stringify({ target, rttMs, ...options })], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  // the network it stands for does not wait for a CPU: ahead of the readers when the OS allows
  try {
    setPriority(child.pid!, PROXY_PRIORITY);
  } catch {
    // not allowed (an unprivileged user): the proxy runs at the readers' priority
  }
  const pending = new Map<number, (c: ProxyCounts) => void>();
  let nextId = 0;
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`The latency proxy process exited (code ${code})`))));
  exited.catch(() => {});
  const url = await Promise.race([
    new Promise<string>((resolve) =>
      child.on("message", (m: FromChild) => {
        if (m.type === "ready") resolve(m.url);
        else pending.get(m.id)?.(m.counts);
      }),
    ),
    exited,
  ]);
  // the child must not outlive a benchmark that fails
  const kill = (): void => void child.kill("SIGKILL");
  process.once("exit", kill);
  return {
    url,
    rttMs,
    take() {
      const id = nextId++;
      return Promise.race([
        new Promise<ProxyCounts>((resolve) => {
          pending.set(id, (c) => {
            pending.delete(id);
            resolve(c);
          });
          child.send({ type: "take", id });
        }),
        exited,
      ]);
    },
    async close() {
      process.off("exit", kill);
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await gone;
    },
  };
}
