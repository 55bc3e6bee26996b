/**
 * The pool's worker (piscina's `filename`): runs the cpu steps of a task, importing each op
 * module once, and sends the result back with its buffers moved, not copied.
 */
import { move, transferableSymbol, valueSymbol } from "piscina";
import { loadOpByUrl, loadedOpByUrl } from "./op-registry.js";
import { forEachView, packForTransfer } from "./transfer.js";
import { GcBudget } from "./gc.js";
import type { OpFunction } from "@zask/graph";
import { INNER_REF, type WorkerMessage, type WorkerRequest, type WorkerResponse } from "./worker-protocol.js";

const always = (): boolean => true;
const DONE: WorkerRequest = { s: [], x: null, r: false };

/**
 * Buffers moved here, or made here and not sent back (a decoded chunk that a reduction then
 * drops), stay allocated until this worker's GC frees them, and its small JS heap gives V8
 * little reason to collect: big chunks (16 MiB each) would pile up by the dozen. So after each
 * request (when its values are garbage) the worker scavenges every 8 MiB of those, and runs a
 * full GC every 16 MiB of big ones (see GcBudget): the 2 GiB reduction over HTTP (16 MiB
 * chunks) peaked at 348-359 MiB RSS so, 364-383 MiB with 32 MiB, 410-450 MiB with no full GC.
 */
const garbage = new GcBudget({ minor: 8 * 2 ** 20, major: 16 * 2 ** 20 });

/** Piscina's task handler: the requests of one message, answered as an array. */
export default async function handle(message: WorkerMessage): Promise<unknown> {
  garbage.collectIfDue();
  for (const req of message.q) for (const s of req.s) forEachView(s.a, (v) => garbage.add(v.byteLength));
  const transfer = new Set<ArrayBuffer>();
  const o = message.o;
  const fns: OpFunction[] = [];
  const response: WorkerResponse[] = [];
  for (let j = 0; j < o.length; j += 2) {
    try {
      fns.push(loadedOpByUrl(o[j]!, o[j + 1]!) ?? (await loadOpByUrl(o[j]!, o[j + 1]!)));
    } catch (e) {
      // every request that calls it reports the failure
      fns.push(() => {
        throw e;
      });
    }
  }
  const requests = message.q as WorkerRequest[];
  for (let r = 0; r < requests.length; r++) {
    response.push(await runSteps(requests[r]!, fns, message.c, transfer));
    // the request's inputs are garbage now, unless this message keeps them reachable: drop it,
    // and collect here rather than before the next message, so that a worker never holds the
    // last chunk (16 MiB in, 16 MiB decoded) and the next one at once
    requests[r] = DONE;
    garbage.collectIfDue();
  }
  if (transfer.size === 0) return response;
  // piscina moves what a "movable" result lists under its transferable symbol
  return move({ [transferableSymbol]: [...transfer], [valueSymbol]: response } as never);
}

async function runSteps(req: WorkerRequest, fns: readonly OpFunction[], cancel: Int32Array, transfer: Set<ArrayBuffer>): Promise<WorkerResponse> {
  if (Atomics.load(cancel, 0) !== 0) return { ok: 2 };
  const steps = req.s;
  const local: unknown[] | undefined = steps.length > 1 || req.x !== null ? [] : undefined;
  const start = performance.now();
  let value: unknown;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    try {
      const args = req.r && local !== undefined ? (resolveMarkers(s.a, local) as unknown[]) : s.a;
      value = fns[s.f]!(...args);
      if (isThenable(value)) value = await value;
    } catch (e) {
      const error = e instanceof Error ? e : String(e);
      return { ok: 0, i, e: error, name: e instanceof Error ? e.name : "Error", message: e instanceof Error ? e.message : String(e) };
    }
    // values that stay here (not sent back) are this worker's garbage once the request ends
    const exported = req.x === null ? i === steps.length - 1 : req.x.includes(i);
    if (!exported) forEachView(value, (v) => garbage.add(v.byteLength));
    if (local !== undefined) local[i] = value;
  }
  let out: unknown = value;
  if (req.x !== null) out = req.x.map((i) => local![i]);
  const t = performance.now() - start;
  return { ok: 1, v: packForTransfer(out, always, transfer), t };
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === "object" && x !== null && typeof (x as PromiseLike<unknown>).then === "function";
}

function resolveMarkers(x: unknown, local: readonly unknown[]): unknown {
  if (typeof x !== "object" || x === null || ArrayBuffer.isView(x)) return x;
  if (Array.isArray(x)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < x.length; i++) {
      const v = resolveMarkers(x[i], local);
      if (v !== x[i] && out === undefined) out = x.slice(0, i);
      if (out !== undefined) out.push(v);
    }
    return out ?? x;
  }
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return x;
  const o = x as Record<string, unknown>;
  if (INNER_REF in o) return local[o[INNER_REF] as number];
  let out: Record<string, unknown> | undefined;
  for (const k in o) {
    const v = resolveMarkers(o[k], local);
    if (v !== o[k]) (out ??= { ...o })[k] = v;
  }
  return out ?? x;
}
