/**
 * Bytes held by a task's value, for memory accounting: typed arrays, `ArrayBuffer`s and
 * `DataView`s count their `byteLength`; arrays and plain objects (an `NDArray {data, shape,
 * dtype}`, a sparse matrix, a list of blocks) the sum of their members, a few levels deep.
 * Anything else (numbers, strings, class instances) counts 0. Views of one buffer count once
 * each, so shared buffers are over-counted rather than missed.
 *
 * @example
 * ```ts
 * sizeOf({ data: new Float64Array(10), shape: [10], dtype: "float64" }); // 80
 * ```
 */
export function sizeOf(value: unknown): number {
  return size(value, 0);
}

const MAX_DEPTH = 4;

function size(x: unknown, depth: number): number {
  if (typeof x !== "object" || x === null) return 0;
  if (ArrayBuffer.isView(x)) return x.byteLength;
  if (x instanceof ArrayBuffer) return x.byteLength;
  if (depth >= MAX_DEPTH) return 0;
  let n = 0;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const e: unknown = x[i];
      if (typeof e === "object" && e !== null) n += size(e, depth + 1);
    }
    return n;
  }
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return 0;
  for (const k in x) n += size((x as Record<string, unknown>)[k], depth + 1);
  return n;
}
