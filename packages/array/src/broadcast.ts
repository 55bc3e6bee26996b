import type { Chunks } from "./chunks.js";
import { blockOffsets } from "./chunks.js";

/**
 * numpy's broadcasting of shapes: align on the right; along each axis the lengths must be
 * equal or 1.
 *
 * @example
 * ```ts
 * broadcastShapes([5, 1, 3], [4, 1]); // [5, 4, 3]
 * ```
 */
export function broadcastShapes(...shapes: readonly (readonly number[])[]): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = new Array<number>(ndim).fill(1);
  for (const shape of shapes) {
    const offset = ndim - shape.length;
    for (let i = 0; i < shape.length; i++) {
      const n = shape[i]!;
      const axis = offset + i;
      if (n === out[axis] || n === 1) continue;
      if (out[axis] !== 1) {
        throw new RangeError(
          `Expected shapes that broadcast, got ${shapes.map((s) => `[${s.join(", ")}]`).join(" and ")} (axis ${axis}: ${out[axis]} vs ${n})`,
        );
      }
      out[axis] = n;
    }
  }
  return out;
}

/**
 * Chunks of operands aligned on the right that share block boundaries: along each output
 * axis, the common refinement (the union of every operand's boundaries) of the operands
 * whose length there is not a broadcast 1 (dask's `unify_chunks`). Returns the output
 * chunks and, per operand, the chunks it must be rechunked to (equal to its own when it
 * already fits); an axis of length 1 being broadcast keeps its single block.
 *
 * @example
 * ```ts
 * unifyChunks([[[2, 2, 1]], [[3, 2]]]);
 * // { chunks: [[2, 1, 1, 1]], operands: [[[2, 1, 1, 1]], [[2, 1, 1, 1]]] }
 * ```
 */
export function unifyChunks(operands: readonly Chunks[]): { chunks: number[][]; operands: number[][][] } {
  const shape = broadcastShapes(...operands.map((c) => c.map((sizes) => sizes.reduce((a, b) => a + b, 0))));
  const ndim = shape.length;
  const chunks: number[][] = [];
  for (let axis = 0; axis < ndim; axis++) {
    const bounds = new Set<number>();
    let seen = false;
    for (const c of operands) {
      const i = axis - (ndim - c.length);
      if (i < 0) continue;
      const sizes = c[i]!;
      const len = sizes.reduce((a, b) => a + b, 0);
      if (len === 1 && shape[axis] !== 1) continue;
      seen = true;
      for (const b of blockOffsets(sizes)) bounds.add(b);
    }
    if (!seen) {
      chunks.push([shape[axis]!]);
      continue;
    }
    const sorted = [...bounds].sort((a, b) => a - b);
    const sizes: number[] = [];
    for (let k = 1; k < sorted.length; k++) sizes.push(sorted[k]! - sorted[k - 1]!);
    chunks.push(sizes.length === 0 ? [0] : sizes);
  }
  const perOperand = operands.map((c) =>
    c.map((sizes, i) => {
      const axis = i + ndim - c.length;
      const len = sizes.reduce((a, b) => a + b, 0);
      if (len === 1 && shape[axis] !== 1) return [1];
      return chunks[axis]!;
    }),
  );
  return { chunks, operands: perOperand };
}
