/**
 * The pool's worker (piscina's `filename`): runs the cpu steps of a task, importing each op
 * module once, and sends the result back with its buffers moved, not copied.
 */
import { move, transferableSymbol, valueSymbol } from "piscina";
import { loadOpByUrl, loadedOpByUrl } from "./op-registry.js";
import { forEachView, packForTransfer } from "./transfer.js";
import { GcBudget } from "./gc.js";
import { RECYCLE_MAX, RECYCLE_MIN, recycleBuffer } from "./buffers.js";
import { isPooledSize } from "./http/body-pool.js";
import type { OpFunction } from "@zask/graph";
import { errorToPlain } from "./error-transfer.js";
import { CANCELLED, FAILED, INNER_REF, OK, requestStarts, type WorkerFailure, type WorkerMessage, type WorkerReply } from "./worker-protocol.js";

const always = (): boolean => true;

/**
 * Buffers moved here, or made here and not sent back (a decoded chunk that a reduction then
 * drops), stay allocated until this worker's GC frees them, and its small JS heap gives V8
 * little reason to collect: big chunks (16 MiB each) would pile up by the dozen. So the worker
 * scavenges after every 8 MiB of those (GcBudget). A buffer of 1 MiB or more usually outlives
 * the scavenges its own size triggers and is promoted, and then only a full GC would find it
 * dead, and a full GC per few buffers keeps V8's helper threads from the decodes
 * (benchmarks/array-memory.bench.ts). So once a request is done, the big buffers it read or
 * made and does not send back are detached: their memory goes to a fresh ArrayBuffer that the
 * next scavenge frees.
 */
const garbage = new GcBudget(8 * 2 ** 20);
const BIG = 2 ** 20;

function isBig(v: ArrayBufferView): boolean {
  return v.buffer.byteLength >= BIG && !(v.buffer instanceof SharedArrayBuffer);
}

/** Piscina's task handler: the requests of one message (laid out by `MessageWriter`), answered in one reply. */
export default async function handle(message: WorkerMessage): Promise<unknown> {
  const a = message.a;
  // where each request starts in the header and in the arguments; and how many requests of
  // this message read each big input buffer (one buffer may be the input of several; the pool
  // lane's 1 MiB batches make that rare, not impossible)
  const starts = requestStarts(message.h, a.length);
  const readers = new Map<ArrayBuffer, number>();
  const bigInputs: (Set<ArrayBuffer> | undefined)[] = [];
  let mine: Set<ArrayBuffer> | undefined;
  const note = (v: ArrayBufferView): void => {
    garbage.add(v.byteLength);
    if (isBig(v) || isPooledSize(v.buffer)) (mine ??= new Set()).add(v.buffer as ArrayBuffer);
  };
  for (let r = 0; r + 2 < starts.length; r += 2) {
    mine = undefined;
    for (let p = starts[r + 1]!; p < starts[r + 3]!; p++) if (typeof a[p] === "object") forEachView(a[p], note);
    if (mine !== undefined) for (const b of mine as Set<ArrayBuffer>) readers.set(b, (readers.get(b) ?? 0) + 1);
    bigInputs.push(mine);
  }
  const n = bigInputs.length;
  const reply: WorkerReply = { k: new Uint8Array(n), v: new Array<unknown>(n), t: new Float64Array(n) };
  const transfer = new Set<ArrayBuffer>();
  // input buffers of the body pool's sizes (response bodies, most likely) go back to it
  const spare: ArrayBuffer[] = [];
  const o = message.o;
  const fns: OpFunction[] = [];
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
  for (let r = 0; r < n; r++) {
    const made = new Set<ArrayBuffer>();
    const dead = new Set<ArrayBuffer>();
    await runRequest(message, starts[2 * r]!, starts[2 * r + 1]!, fns, reply, r, transfer, made, dead);
    // drop the request's arguments (its inputs are unreachable but for the detaching below)
    for (let p = starts[2 * r + 1]!; p < starts[2 * r + 3]!; p++) a[p] = undefined;
    const big = bigInputs[r];
    const done: ArrayBuffer[] = [];
    if (big !== undefined) {
      for (const b of big) {
        const left = readers.get(b)! - 1;
        readers.set(b, left);
        if (left === 0) done.push(b);
      }
      bigInputs[r] = undefined;
    }
    // a result of plain objects, arrays and typed arrays has been packed (partial views copied,
    // whole ones listed in `transfer`); anything else is cloned when the answer is posted and
    // might view a buffer: then nothing is detached or recycled, and the GC frees what it can
    const opaque = (made.size > 0 || dead.size > 0 || done.length > 0) && reply.k[r] === OK && !isPlain(reply.v[r]);
    for (const b of done) {
      if (!opaque && !transfer.has(b) && isPooledSize(b)) {
        spare.push(b);
        transfer.add(b);
      } else if (b.byteLength >= BIG) made.add(b);
    }
    if (made.size > 0 && !opaque) {
      for (const b of made) {
        if (!transfer.has(b) && b.byteLength > 0) structuredClone(b, { transfer: [b] });
      }
    }
    // the mid-sized buffers of values that died here go back to takeBuffer (buffers.ts) when
    // the reply does not hold them; the rest is garbage
    // (not after a failure either: the error object is cloned only when the answer is posted)
    if (dead.size > 0) {
      const free = reply.k[r] === OK && !opaque;
      for (const b of dead) if (!(free && !transfer.has(b) && recycleBuffer(b))) garbage.add(b.byteLength);
    }
    garbage.collectIfDue();
  }
  if (spare.length > 0) reply.b = spare;
  if (transfer.size === 0) return reply;
  // piscina moves what a "movable" result lists under its transferable symbol
  return move({ [transferableSymbol]: [...transfer], [valueSymbol]: reply } as never);
}

/**
 * Piscina's `warm` task ({@link warmPool}): import the ops a compute will send, so its first
 * tasks find them loaded. An op that fails to load fails again, with its error, in the task
 * that uses it.
 */
export async function warm(ops: readonly (readonly [string, string])[]): Promise<void> {
  await Promise.all(ops.map(([url, name]) => loadOpByUrl(url, name).catch(() => undefined)));
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

/** Run the request at `hp` (header) and `ap` (arguments) of `message`; its answer goes to entry `r` of `reply`. */
async function runRequest(
  message: WorkerMessage,
  hp: number,
  ap: number,
  fns: readonly OpFunction[],
  reply: WorkerReply,
  r: number,
  transfer: Set<ArrayBuffer>,
  made: Set<ArrayBuffer>,
  dead: Set<ArrayBuffer>,
): Promise<void> {
  if (Atomics.load(message.c, 0) !== 0) {
    reply.k[r] = CANCELLED;
    return;
  }
  const { h, a } = message;
  const steps = h[hp++]!;
  const exports = h[hp++]!;
  const exportsAt = hp;
  if (exports > 0) hp += exports;
  const nested = h[hp++] === 1;
  const local: unknown[] | undefined = steps > 1 || exports >= 0 ? new Array<unknown>(steps) : undefined;
  const start = performance.now();
  let value: unknown;
  for (let i = 0; i < steps; i++) {
    const f = h[hp++]!;
    const argc = h[hp++]!;
    const refs = h[hp++]!;
    let args: unknown[] = new Array<unknown>(argc);
    for (let p = 0; p < argc; p++) args[p] = a[ap + p];
    ap += argc;
    for (let q = 0; q < refs; q++, hp += 2) args[h[hp]!] = local![h[hp + 1]!];
    try {
      if (nested) args = resolveMarkers(args, local!) as unknown[];
      value = fns[f]!(...args);
      if (isThenable(value)) value = await value;
    } catch (e) {
      reply.k[r] = FAILED;
      reply.v[r] = {
        i,
        e: errorToPlain(e),
        name: e instanceof Error ? e.name : "Error",
        message: e instanceof Error ? e.message : String(e),
      } satisfies WorkerFailure;
      return;
    }
    // values that stay here (not sent back) are this worker's garbage once the request ends
    if (exports < 0 ? i !== steps - 1 : !h.subarray(exportsAt, exportsAt + exports).includes(i)) {
      forEachView(value, (v) => {
        const b = v.buffer;
        if (b.byteLength >= RECYCLE_MIN && b.byteLength < RECYCLE_MAX && !(b instanceof SharedArrayBuffer)) {
          dead.add(b as ArrayBuffer);
          return;
        }
        garbage.add(v.byteLength);
        if (isBig(v)) made.add(b as ArrayBuffer);
      });
    }
    if (local !== undefined) local[i] = value;
  }
  let out: unknown = value;
  if (exports >= 0) {
    const list = new Array<unknown>(exports);
    for (let j = 0; j < exports; j++) list[j] = local![h[exportsAt + j]!];
    out = list;
  }
  reply.t[r] = performance.now() - start;
  reply.v[r] = packForTransfer(out, always, transfer);
  reply.k[r] = OK;
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
