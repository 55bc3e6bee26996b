import { bodyPool } from "./http/body-pool.js";

/**
 * Typed arrays inside task values, for moving them between threads. Values are walked the way
 * {@link sizeOf} walks them: typed arrays, arrays and plain objects a few levels deep.
 */

const MAX_DEPTH = 4;

/** Calls `f` on every `ArrayBufferView` inside `x`. */
export function forEachView(x: unknown, f: (v: ArrayBufferView) => void, depth = 0): void {
  if (typeof x !== "object" || x === null) return;
  if (ArrayBuffer.isView(x)) {
    f(x);
    return;
  }
  if (depth >= MAX_DEPTH) return;
  if (Array.isArray(x)) {
    // only objects can hold views: a long array of strings or numbers costs no call per item
    for (let i = 0; i < x.length; i++) {
      const e: unknown = x[i];
      if (typeof e === "object" && e !== null) forEachView(e, f, depth + 1);
    }
    return;
  }
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return;
  for (const k in x) forEachView((x as Record<string, unknown>)[k], f, depth + 1);
}

/**
 * The buffers the views inside `x` view, walked as {@link forEachView} walks (no deeper: a value
 * nested deeper counts as unknown); `undefined` when `x` holds an object this walk cannot see
 * into (a class instance), which might view any buffer.
 */
export function viewedBuffers(x: unknown, into = new Set<ArrayBufferLike>(), depth = 0): Set<ArrayBufferLike> | undefined {
  if (typeof x !== "object" || x === null) return into;
  if (ArrayBuffer.isView(x)) {
    into.add(x.buffer);
    return into;
  }
  if (depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const e: unknown = x[i];
      if (typeof e === "object" && e !== null && viewedBuffers(e, into, depth + 1) === undefined) return undefined;
    }
    return into;
  }
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return undefined;
  for (const k in x) if (viewedBuffers((x as Record<string, unknown>)[k], into, depth + 1) === undefined) return undefined;
  return into;
}

/** Whether a view spans its whole buffer, so that moving the buffer moves exactly its bytes. */
export function coversBuffer(v: ArrayBufferView): boolean {
  return v.byteOffset === 0 && v.byteLength === v.buffer.byteLength;
}

function isShared(b: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer !== "undefined" && b instanceof SharedArrayBuffer;
}

/**
 * `x` made ready for `postMessage`: a view that spans its buffer is moved when
 * `mayMove(buffer)` says so (its buffer added to `transfer`); a view of part of a buffer is
 * replaced by a compact copy that is moved (cloning it would copy the whole buffer); shared
 * buffers are left alone. Arrays and plain objects are copied only where a view was replaced.
 */
export function packForTransfer(x: unknown, mayMove: (buffer: ArrayBuffer) => boolean, transfer: Set<ArrayBuffer>, depth = 0): unknown {
  if (typeof x !== "object" || x === null) return x;
  if (ArrayBuffer.isView(x)) {
    const buf = x.buffer;
    if (isShared(buf)) return x;
    if (coversBuffer(x)) {
      if (buf.byteLength > 0 && mayMove(buf as ArrayBuffer)) transfer.add(buf as ArrayBuffer);
      return x;
    }
    // a pooled body is the only view of its buffer: the buffer leaves the pool and moves whole
    if (bodyPool.lent(buf) && mayMove(buf as ArrayBuffer)) {
      bodyPool.forget(buf);
      transfer.add(buf as ArrayBuffer);
      return x;
    }
    const copy = compact(x);
    transfer.add(copy.buffer as ArrayBuffer);
    return copy;
  }
  if (depth >= MAX_DEPTH) return x;
  if (Array.isArray(x)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < x.length; i++) {
      const v = packForTransfer(x[i], mayMove, transfer, depth + 1);
      if (v !== x[i] && out === undefined) out = x.slice(0, i);
      if (out !== undefined) out.push(v);
    }
    return out ?? x;
  }
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return x;
  let out: Record<string, unknown> | undefined;
  const o = x as Record<string, unknown>;
  for (const k in o) {
    const v = packForTransfer(o[k], mayMove, transfer, depth + 1);
    if (v !== o[k]) (out ??= { ...o })[k] = v;
  }
  return out ?? x;
}

function compact(v: ArrayBufferView): ArrayBufferView {
  if (v instanceof DataView) {
    const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
    return new DataView(bytes.buffer);
  }
  return (v as unknown as { slice(): ArrayBufferView }).slice();
}
