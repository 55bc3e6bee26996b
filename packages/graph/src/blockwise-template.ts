import { BlockIndexArg, BlockwiseInput, PerBlockArg } from "./blockwise-args.js";
import { flat, type Key } from "./key.js";
import { Ref } from "./spec.js";

// How Blockwise compiles its template arguments, and the index arithmetic on block grids.

export const LITERAL = 0;
export const INPUT = 1;
export const INDEX = 2;
export const PER_BLOCK = 3;

/** A template argument, compiled once so that making a task allocates only what it keeps. */
export interface CompiledArg {
  readonly kind: typeof LITERAL | typeof INPUT | typeof INDEX | typeof PER_BLOCK;
  readonly value: unknown;
  /** INPUT: the input's name. */
  readonly name: string;
  /** INPUT: per input axis, the output axis it follows (>= 0), -1 to broadcast (block 0), or -2 - c for contraction c. */
  readonly source: Int32Array;
  /** INPUT: blocks of each contraction symbol, in order of first appearance. */
  readonly contraction: readonly number[];
  /** INPUT: the input's blocks per axis. */
  readonly numBlocks: readonly number[];
  /** INPUT: block i of the output reads block i of the input (same grid, same symbols). */
  readonly identity: boolean;
  /** PER_BLOCK: its values may hold refs. */
  readonly refs?: boolean;
}

export const EMPTY = new Int32Array(0);
export const EMPTY_NUMBERS: readonly number[] = [];
export const EMPTY_KEYS: readonly Key[] = Object.freeze([]);

export function inputKey(c: CompiledArg, index: readonly number[], contracted: readonly number[]): Key {
  const src = c.source;
  let s = '["' + c.name + '"';
  for (let ax = 0; ax < src.length; ax++) {
    const from = src[ax]!;
    s += "," + (from >= 0 ? index[from]! : from === -1 ? 0 : contracted[-2 - from]!);
  }
  return flat(s + "]");
}

/** Nested arrays of refs over the contraction symbols of input `c`, pushing each key to `deps`. */
export function contractedRefs(c: CompiledArg, index: readonly number[], deps: Key[]): unknown[] {
  const at = new Array<number>(c.contraction.length).fill(0);
  const level = (d: number): unknown[] => {
    const n = c.contraction[d]!;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      at[d] = i;
      if (d + 1 < c.contraction.length) out[i] = level(d + 1);
      else {
        const key = inputKey(c, index, at);
        deps.push(key);
        out[i] = new Ref(key);
      }
    }
    return out;
  };
  return level(0);
}

export function inputLinear(c: CompiledArg, index: readonly number[], contracted: readonly number[]): number {
  const src = c.source;
  let lin = 0;
  for (let ax = 0; ax < src.length; ax++) {
    const from = src[ax]!;
    lin = lin * c.numBlocks[ax]! + (from >= 0 ? index[from]! : from === -1 ? 0 : contracted[-2 - from]!);
  }
  return lin;
}

export function addInputKeys(c: CompiledArg, index: readonly number[], out: Key[]): void {
  if (c.contraction.length === 0) out.push(inputKey(c, index, EMPTY_NUMBERS));
  else contractedRefs(c, index, out);
}

/** Row-major linear index → block index, into `out`. */
export function unravel(lin: number, numBlocks: readonly number[], out: number[]): number[] {
  for (let ax = numBlocks.length - 1; ax >= 0; ax--) {
    const n = numBlocks[ax]!;
    const v = lin % n;
    out[ax] = v;
    lin = (lin - v) / n;
  }
  out.length = numBlocks.length;
  return out;
}

export function product(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

export function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Check that every input lines up with the output and that contracted symbols agree. */
export function checkAlignment(outIndex: string, numBlocks: readonly number[], args: readonly unknown[]): void {
  const sizes = new Map<string, number>();
  for (const a of args) {
    if (!(a instanceof BlockwiseInput)) continue;
    for (let ax = 0; ax < a.index.length; ax++) {
      const s = a.index[ax]!;
      const n = a.numBlocks[ax]!;
      const outAxis = outIndex.indexOf(s);
      if (outAxis >= 0) {
        if (n !== 1 && n !== numBlocks[outAxis]) {
          throw new RangeError(`Expected input \`${a.name}\` to have ${numBlocks[outAxis]} or 1 blocks along symbol \`${s}\`, got ${n}`);
        }
      } else {
        const prev = sizes.get(s);
        if (prev === undefined || prev === 1) sizes.set(s, n);
        else if (n !== 1 && n !== prev) {
          throw new RangeError(`Expected every input to have ${prev} or 1 blocks along contracted symbol \`${s}\`, got ${n} in \`${a.name}\``);
        }
      }
    }
  }
}

export function assertNoMarkers(x: unknown, depth = 0): void {
  if (depth > 0 && (x instanceof BlockwiseInput || x instanceof BlockIndexArg || x instanceof PerBlockArg)) {
    throw new TypeError("Expected blockwiseInput(), blockIndex() and perBlock() as top-level arguments, got one nested in a literal");
  }
  if (Array.isArray(x)) {
    for (const v of x) if (typeof v === "object" && v !== null) assertNoMarkers(v, depth + 1);
  } else if (typeof x === "object" && x !== null && Object.getPrototypeOf(x) === Object.prototype) {
    for (const k in x) assertNoMarkers((x as Record<string, unknown>)[k], depth + 1);
  }
}
