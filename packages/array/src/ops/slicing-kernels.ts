// Selection kernels (worker ops): one output block from one or several input blocks.
import { allocate, type DataType, type NDArray } from "../dtype.js";
import { cStrides, copyIndexed } from "./copy-indexed.js";

/**
 * Positions along one axis of a block, compactly: `null` (all of them, in order), an
 * arithmetic progression, or an explicit list. Plain data, so task arguments stay small and
 * clone to workers without being transferred away from the graph.
 */
export type AxisIndex = null | { readonly start: number; readonly step: number; readonly count: number } | readonly number[];

/** Expand an {@link AxisIndex} (`null` stays `null`: the identity). */
export function expandIndex(index: AxisIndex): Int32Array | null {
  if (index === null) return null;
  if (globalThis.Array.isArray(index)) return Int32Array.from(index as readonly number[]);
  const { start, step, count } = index as { start: number; step: number; count: number };
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = start + i * step;
  return out;
}

function indexLength(index: AxisIndex, whole: number): number {
  if (index === null) return whole;
  if (globalThis.Array.isArray(index)) return index.length;
  return (index as { count: number }).count;
}

/**
 * cpu op: select `src[k]` along every axis `k` of `block` (orthogonal indexing) and return
 * the result with shape `outShape` (dropped axes are the ones of length 1 missing there).
 */
export function getitem(block: NDArray, src: readonly AxisIndex[], outShape: readonly number[]): NDArray {
  if (src.every((s) => s === null)) return { data: block.data, shape: [...outShape], dtype: block.dtype };
  const count = block.shape.map((n, k) => indexLength(src[k] ?? null, n));
  const total = count.reduce((a, b) => a * b, 1);
  const out = allocate(block.dtype, total);
  copyIndexed(block.data, cStrides(block.shape), src.map(expandIndex), out, cStrides(count), [], count);
  return { data: out, shape: [...outShape], dtype: block.dtype };
}

/** One input block's contribution to an output block in {@link gather}. */
export interface GatherPiece {
  readonly block: NDArray;
  /** Positions to read in the input block, per axis of the input. */
  readonly src: readonly AxisIndex[];
  /** Positions to write in the output block, per axis of the input (dropped axes: `[0]`). */
  readonly dst: readonly AxisIndex[];
}

/**
 * cpu op: build an output block of `fullShape` (the output shape with dropped axes kept as
 * length 1) from pieces of several input blocks, then give it `outShape`. Used where an
 * index list out of order makes one output block draw from several input blocks; with no
 * pieces it makes an empty block.
 */
export function gather(pieces: readonly GatherPiece[], fullShape: readonly number[], outShape: readonly number[], dtype: DataType): NDArray {
  const total = fullShape.reduce((a, b) => a * b, 1);
  const out = allocate(dtype, total);
  const dstStrides = cStrides(fullShape);
  for (const p of pieces) {
    const count = p.block.shape.map((n, k) => indexLength(p.src[k] ?? null, n));
    copyIndexed(p.block.data, cStrides(p.block.shape), p.src.map(expandIndex), out, dstStrides, p.dst.map(expandIndex), count);
  }
  return { data: out, shape: [...outShape], dtype };
}
