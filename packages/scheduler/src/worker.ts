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
const NONE: Set<ArrayBuffer> = new Set();

/**
 * Buffers moved here, or made here and not sent back (a decoded chunk that a reduction then
 * drops), stay allocated until this worker's GC frees them, and its small JS heap gives V8
 * little reason to collect: big chunks (16 MiB each) would pile up by the dozen. So the worker
 * scavenges after every 8 MiB of those (GcBudget). A buffer of 1 MiB or more usually outlives
 * the scavenges its own size triggers and is promoted, and then only a full GC would find it
 * dead, and a full GC is costly (V8's helper threads: the 2 GiB reduction took 5.4 s with one
 * per 16 MiB, 3.1 s without). So once a request is done, the big buffers it read or made and
 * does not send back are detached: their memory goes to a fresh ArrayBuffer that the next
 * scavenge frees.
 */
const garbage = new GcBudget(8 * 2 ** 20);
const BIG = 2 ** 20;

function isBig(v: ArrayBufferView): boolean {
  return v.buffer.byteLength >= BIG && !(v.buffer instanceof SharedArrayBuffer);
}

/** Piscina's task handler: the requests of one message, answered as an array. */
export default async function handle(message: WorkerMessage): Promise<unknown> {
  const requests = message.q as WorkerRequest[];
  // how many requests of this message still read each big input buffer (one buffer may be
  // the input of several; the pool lane's 1 MiB batches make that rare, not impossible)
  const readers = new Map<ArrayBuffer, number>();
  const bigInputs: Set<ArrayBuffer>[] = [];
  for (const req of requests) {
    const mine = new Set<ArrayBuffer>();
    for (const s of req.s) {
      forEachView(s.a, (v) => {
        garbage.add(v.byteLength);
        if (isBig(v)) mine.add(v.buffer as ArrayBuffer);
      });
    }
    for (const b of mine) readers.set(b, (readers.get(b) ?? 0) + 1);
    bigInputs.push(mine);
  }
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
  for (let r = 0; r < requests.length; r++) {
    const req = requests[r]!;
    const made = new Set<ArrayBuffer>();
    const res = await runSteps(req, fns, message.c, transfer, made);
    response.push(res);
    // drop the request (its inputs are unreachable but for the detaching below)
    requests[r] = DONE;
    for (const b of bigInputs[r]!) {
      const left = readers.get(b)! - 1;
      readers.set(b, left);
      if (left === 0) made.add(b);
    }
    bigInputs[r] = NONE;
    // a result of plain objects, arrays and typed arrays has been packed (partial views copied,
    // whole ones listed in `transfer`); anything else is cloned when the answer is posted and
    // might view a buffer: then nothing is detached, and the GC frees what it can
    if (made.size > 0 && !(res.ok === 1 && !isPlain(res.v))) {
      for (const b of made) {
        if (!transfer.has(b) && b.byteLength > 0) structuredClone(b, { transfer: [b] });
      }
    }
    garbage.collectIfDue();
  }
  if (transfer.size === 0) return response;
  // piscina moves what a "movable" result lists under its transferable symbol
  return move({ [transferableSymbol]: [...transfer], [valueSymbol]: response } as never);
}

/** Whether `x` is built of plain objects, arrays, primitives and typed arrays only. */
function isPlain(x: unknown, depth = 0): boolean {
  if (typeof x !== "object" || x === null || ArrayBuffer.isView(x)) return true;
  if (depth >= 8) return false;
  if (Array.isArray(x)) return x.every((e) => isPlain(e, depth + 1));
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(x).every((e) => isPlain(e, depth + 1));
}

async function runSteps(
  req: WorkerRequest,
  fns: readonly OpFunction[],
  cancel: Int32Array,
  transfer: Set<ArrayBuffer>,
  made: Set<ArrayBuffer>,
): Promise<WorkerResponse> {
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
    if (!exported) {
      forEachView(value, (v) => {
        garbage.add(v.byteLength);
        if (isBig(v)) made.add(v.buffer as ArrayBuffer);
      });
    }
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
