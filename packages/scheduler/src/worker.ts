/**
 * The pool's worker (piscina's `filename`): runs the cpu steps of a task, importing each op
 * module once, and sends the result back with its buffers moved, not copied.
 */
import { move, transferableSymbol, valueSymbol } from "piscina";
import { loadOpByUrl, loadedOpByUrl } from "./op-registry.js";
import { packForTransfer } from "./transfer.js";
import { INNER_REF, type WorkerBatch, type WorkerRequest, type WorkerResponse } from "./worker-protocol.js";

const always = (): boolean => true;

/** Piscina's task handler: one request, or a batch of them answered as an array. */
export default async function handle(message: WorkerRequest | WorkerBatch): Promise<unknown> {
  const transfer = new Set<ArrayBuffer>();
  let response: WorkerResponse | WorkerResponse[];
  if ("b" in message) {
    response = [];
    for (const req of message.b) response.push(await runSteps(req, transfer));
  } else {
    response = await runSteps(message, transfer);
  }
  if (transfer.size === 0) return response;
  // piscina moves what a "movable" result lists under its transferable symbol
  return move({ [transferableSymbol]: [...transfer], [valueSymbol]: response } as never);
}

async function runSteps(req: WorkerRequest, transfer: Set<ArrayBuffer>): Promise<WorkerResponse> {
  if (req.c !== undefined && Atomics.load(req.c, 0) !== 0) return { ok: 2 };
  const steps = req.s;
  const local = steps.length > 1 || req.x !== null ? new Map<string, unknown>() : undefined;
  const start = performance.now();
  let value: unknown;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    try {
      const fn = loadedOpByUrl(s.m, s.n) ?? (await loadOpByUrl(s.m, s.n));
      const args = req.r && local !== undefined ? (resolveMarkers(s.a, local) as unknown[]) : s.a;
      value = fn(...args);
      if (isThenable(value)) value = await value;
    } catch (e) {
      const error = e instanceof Error ? e : String(e);
      return { ok: 0, i, e: error, name: e instanceof Error ? e.name : "Error", message: e instanceof Error ? e.message : String(e) };
    }
    local?.set(s.k, value);
  }
  let out: unknown = value;
  if (req.x !== null) out = req.x.map((i) => local!.get(steps[i]!.k));
  const t = performance.now() - start;
  return { ok: 1, v: packForTransfer(out, always, transfer), t };
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === "object" && x !== null && typeof (x as PromiseLike<unknown>).then === "function";
}

function resolveMarkers(x: unknown, local: Map<string, unknown>): unknown {
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
  if (INNER_REF in o) return local.get(o[INNER_REF] as string);
  let out: Record<string, unknown> | undefined;
  for (const k in o) {
    const v = resolveMarkers(o[k], local);
    if (v !== o[k]) (out ??= { ...o })[k] = v;
  }
  return out ?? x;
}
