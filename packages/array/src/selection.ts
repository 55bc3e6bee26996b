/**
 * A `start:stop:step` selector, as Python's `slice` (made by {@link slice}).
 *
 * @example
 * ```ts
 * slice(null, null, -2).indices(5); // { start: 4, stop: -1, step: -2, count: 3 }
 * ```
 */
export class Slice {
  readonly start: number | null;
  readonly stop: number | null;
  readonly step: number | null;
  constructor(start: number | null, stop: number | null, step: number | null) {
    this.start = start;
    this.stop = stop;
    this.step = step;
  }

  /** `start:stop:step` with Python's rules (negative bounds count from the end, clamped). */
  indices(length: number): { start: number; stop: number; step: number; count: number } {
    const step = this.step ?? 1;
    let start: number;
    let stop: number;
    if (step > 0) {
      start = clamp(this.start === null ? 0 : this.start < 0 ? this.start + length : this.start, 0, length);
      stop = clamp(this.stop === null ? length : this.stop < 0 ? this.stop + length : this.stop, 0, length);
    } else {
      start = clamp(this.start === null ? length - 1 : this.start < 0 ? this.start + length : this.start, -1, length - 1);
      stop = clamp(this.stop === null ? -1 : this.stop < 0 ? this.stop + length : this.stop, -1, length - 1);
    }
    const count = step > 0 ? Math.max(0, Math.ceil((stop - start) / step)) : Math.max(0, Math.ceil((start - stop) / -step));
    return { start, stop, step, count };
  }

  toString(): string {
    return `slice(${this.start}, ${this.stop}, ${this.step})`;
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * A slice selector for {@link Array.slice}: `slice(stop)`, `slice(start, stop)` or
 * `slice(start, stop, step)`; `null` for an open bound; negative bounds count from the end;
 * a negative step walks backwards (`slice(null, null, -1)` reverses the axis).
 *
 * @example
 * ```ts
 * x.slice(slice(0, 100), slice(null, null, -2));
 * ```
 */
export function slice(start?: number | null, stop?: number | null, step?: number | null): Slice {
  if (stop === undefined && step === undefined) {
    stop = start ?? null;
    start = null;
  }
  for (const [name, v] of [
    ["start", start],
    ["stop", stop],
    ["step", step],
  ] as const) {
    if (v !== undefined && v !== null && !Number.isInteger(v)) {
      throw new TypeError(`Expected slice \`${name}\` to be an integer or null, got \`${String(v)}\` (${typeof v})`);
    }
  }
  if (step === 0) throw new RangeError("Expected slice `step` to be a non-zero integer, got `0`");
  return new Slice(start ?? null, stop ?? null, step ?? null);
}

/** An integer typed array usable as an index list. */
export type IntegerTypedArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array | BigInt64Array | BigUint64Array;

/**
 * One axis's selector: `null` (everything), an integer (negative from the end; drops the
 * axis), a {@link Slice}, a `boolean[]` mask, or a list of integer indices (any order,
 * repeats allowed) as `number[]` or an integer typed array.
 */
export type Selector = null | undefined | number | Slice | readonly boolean[] | readonly number[] | IntegerTypedArray;

/** A selector resolved against one axis: the input positions in output order. */
export interface AxisSelection {
  /** Input positions (0 … length-1), in output order. */
  readonly positions: Int32Array;
  /** The axis disappears from the result (an integer selector). */
  readonly drop: boolean;
  /** Every position in order (a selector that changes nothing). */
  readonly full: boolean;
}

/**
 * Resolve `selector` against an axis of `length`, or throw a RangeError/TypeError that
 * names the axis.
 */
export function normalizeSelector(selector: Selector, axis: number, length: number): AxisSelection {
  if (selector === null || selector === undefined) {
    const positions = new Int32Array(length);
    for (let i = 0; i < length; i++) positions[i] = i;
    return { positions, drop: false, full: true };
  }
  if (typeof selector === "number") {
    return { positions: Int32Array.of(checkIndex(selector, axis, length)), drop: true, full: false };
  }
  if (selector instanceof Slice) {
    const { start, step, count } = selector.indices(length);
    const positions = new Int32Array(count);
    for (let i = 0; i < count; i++) positions[i] = start + i * step;
    return { positions, drop: false, full: step === 1 && count === length };
  }
  if (ArrayBuffer.isView(selector)) {
    if (selector instanceof Float32Array || selector instanceof Float64Array || selector instanceof DataView) {
      throw new TypeError(`Expected an integer index list on axis ${axis}, got a ${selector.constructor.name}`);
    }
    const n = selector.length;
    const positions = new Int32Array(n);
    for (let i = 0; i < n; i++) positions[i] = checkIndex(Number(selector[i]!), axis, length);
    return { positions, drop: false, full: false };
  }
  if (globalThis.Array.isArray(selector)) {
    const list = selector as readonly unknown[];
    if (list.length > 0 && typeof list[0] === "boolean") {
      if (list.length !== length) {
        throw new RangeError(`Expected a boolean mask of length ${length} on axis ${axis}, got length ${list.length}`);
      }
      let count = 0;
      for (let i = 0; i < length; i++) {
        if (typeof list[i] !== "boolean") {
          throw new TypeError(`Expected a boolean mask on axis ${axis}, got \`${String(list[i])}\` (${typeof list[i]}) at position ${i}`);
        }
        if (list[i]) count++;
      }
      const positions = new Int32Array(count);
      for (let i = 0, j = 0; i < length; i++) if (list[i]) positions[j++] = i;
      return { positions, drop: false, full: count === length };
    }
    const positions = new Int32Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const v = list[i];
      if (typeof v !== "number") {
        throw new TypeError(`Expected integer indices on axis ${axis}, got \`${String(v)}\` (${typeof v}) at position ${i}`);
      }
      positions[i] = checkIndex(v, axis, length);
    }
    return { positions, drop: false, full: false };
  }
  throw new TypeError(
    `Expected a selector on axis ${axis} (null, an integer, slice(), a boolean mask or integer indices), got \`${String(selector)}\` (${typeof selector})`,
  );
}

function checkIndex(i: number, axis: number, length: number): number {
  if (!Number.isInteger(i)) {
    throw new TypeError(`Expected an integer index on axis ${axis}, got \`${String(i)}\` (${typeof i})`);
  }
  if (i < -length || i >= length) {
    throw new RangeError(`Expected an index in [${-length}, ${length}) on axis ${axis} (length ${length}), got ${i}`);
  }
  return i < 0 ? i + length : i;
}
