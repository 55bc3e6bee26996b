import { MaterializedLayer, Task, blockKey, op, ref, tokenize } from "@zask/graph";
import type { Array } from "./array.js";
import { makeArray } from "./array-factory.js";
import { rechunkWith } from "./rechunk.js";

const reshapeBlockOp = op("@zask/array/ops", "reshapeBlock", { lane: "inline" });

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * `x.reshape(shape)` in C order (one `-1` inferred). Works for any shapes by lining blocks
 * up on the flattened array: the input is rechunked so that each block is whole trailing
 * axes over a run of leading rows whose size is a common multiple of both row sizes, and each
 * such block is then reshaped on its own (no copy). dask does the same with finer rules;
 * this can make large blocks when the two row sizes share few factors.
 *
 * @example
 * ```ts
 * arange(12, { chunks: 4 }).reshape([3, 4]).chunks; // [[1, 1, 1]]
 * ```
 */
export function reshapeArray(x: Array, shape: readonly number[]): Array {
  const size = x.size;
  const unknown = shape.filter((n) => n === -1).length;
  if (unknown > 1 || shape.some((n) => !Number.isInteger(n) || n < -1)) {
    throw new TypeError(`Expected \`shape\` to be non-negative integers with at most one -1, got [${shape.join(", ")}]`);
  }
  const known = shape.reduce((a, n) => (n === -1 ? a : a * n), 1);
  const target = shape.map((n) => (n === -1 ? (known === 0 ? 0 : size / known) : n));
  if (target.reduce((a, b) => a * b, 1) !== size || target.some((n) => !Number.isInteger(n))) {
    throw new RangeError(`Expected a shape of ${size} elements, got [${shape.join(", ")}]`);
  }
  if (target.length === x.ndim && target.every((n, k) => n === x.shape[k])) return x;
  if (x.ndim === 0 || target.length === 0 || size === 0) {
    const one = rechunkWith(
      x,
      x.shape.map((n) => [n]),
    );
    return blocksReshaped(
      one,
      target,
      target.map((n) => [n]),
    );
  }
  const R = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const S = target.slice(1).reduce((a, b) => a * b, 1);
  const L = (R / gcd(R, S)) * S;
  const rowsPerUnit = L / R;
  const units = x.shape[0]! / rowsPerUnit;
  const wanted = Math.max(1, Math.round(Math.max(...x.chunks[0]!) / rowsPerUnit));
  const inRows: number[] = [];
  for (let u = 0; u < units; u += wanted) inRows.push(Math.min(wanted, units - u) * rowsPerUnit);
  const input = rechunkWith(x, [inRows, ...x.shape.slice(1).map((n) => [n])]);
  const outChunks = [inRows.map((r) => (r * R) / S), ...target.slice(1).map((n) => [n])];
  return blocksReshaped(input, target, outChunks);
}

function blocksReshaped(x: Array, shape: readonly number[], chunks: readonly (readonly number[])[]): Array {
  const name = `reshape-${tokenize(x.name, shape)}`;
  // Blocks line up one-to-one along the first axis; every other axis is one block.
  const n = chunks.length === 0 ? 1 : chunks[0]!.length;
  const nodes: Task[] = [];
  for (let b = 0; b < n; b++) {
    const outIdx = shape.map((_, k) => (k === 0 ? b : 0));
    const inIdx = x.shape.map((_, k) => (k === 0 ? b : 0));
    const bshape = shape.map((_, k) => chunks[k]![k === 0 ? b : 0]!);
    nodes.push(new Task(blockKey(name, outIdx), reshapeBlockOp, [ref(x.key(inIdx)), bshape]));
  }
  return makeArray(x.graph.withLayer(new MaterializedLayer(name, nodes), [x.name]), name, chunks, x.dtype);
}
