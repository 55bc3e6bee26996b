/**
 * The method by which a class instance tells {@link sizeOf} the bytes it holds (sizeOf does not
 * look into class instances otherwise). A registered symbol, so every copy of this module agrees.
 *
 * @example
 * ```ts
 * class Packed { constructor(readonly bytes: Uint8Array) {} [SIZE_OF]() { return this.bytes.byteLength; } }
 * sizeOf(new Packed(new Uint8Array(5))); // 5
 * ```
 */
export const SIZE_OF: unique symbol = Symbol.for("@zask/scheduler/sizeOf") as never;

/** A value that counts its own bytes for {@link sizeOf}. */
export interface Sized {
  [SIZE_OF](): number;
}

/** V8's header of a string, bytes: a one-byte string then holds one byte per character. */
const STRING_HEADER = 16;

/**
 * Bytes held by a task's value, for memory accounting: typed arrays, `ArrayBuffer`s and
 * `DataView`s count their `byteLength`; strings, as a value or in an array (not an object's
 * labels such as `dtype`), their characters and a header (one byte per character, as V8
 * stores Latin-1 text; text beyond it takes twice that); arrays and plain
 * objects (an `NDArray {data, shape, dtype}`, a sparse matrix, a list of blocks) the sum of
 * their members, a few levels deep; a class instance what its {@link SIZE_OF} method says.
 * Anything else (numbers, other class instances) counts 0. Views of one buffer count once
 * each, so shared buffers are over-counted rather than missed.
 *
 * @example
 * ```ts
 * sizeOf({ data: new Float64Array(10), shape: [10], dtype: "float64" }); // 80
 * sizeOf(["AAACATACAACCAC-1", "AAACATTGAGCTAC-1"]); // 64
 * ```
 */
export function sizeOf(value: unknown): number {
  return size(value, 0);
}

const MAX_DEPTH = 4;

function size(x: unknown, depth: number): number {
  if (typeof x === "string") return STRING_HEADER + x.length;
  if (typeof x !== "object" || x === null) return 0;
  if (ArrayBuffer.isView(x)) return x.byteLength;
  if (x instanceof ArrayBuffer) return x.byteLength;
  if (depth >= MAX_DEPTH) return 0;
  let n = 0;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const e: unknown = x[i];
      if (typeof e === "string") n += STRING_HEADER + e.length;
      else if (typeof e === "object" && e !== null) n += size(e, depth + 1);
    }
    return n;
  }
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) {
    const own = (x as Partial<Sized>)[SIZE_OF];
    return typeof own === "function" ? own.call(x) : 0;
  }
  for (const k in x) {
    const v = (x as Record<string, unknown>)[k];
    // a string member is a label (a dtype, a format), not data
    if (typeof v !== "string") n += size(v, depth + 1);
  }
  return n;
}
