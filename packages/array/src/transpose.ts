import { Blockwise, blockwiseInput, op, tokenize } from "@zask/graph";
import type { Array } from "./array.js";
import { makeArray } from "./array-factory.js";

const transposeBlockOp = op("@zask/array/ops", "transposeBlock");
const SYMBOLS = "abcdefghijklmnopqrstuvwxyz";

/**
 * `x.transpose(axes)`: output axis `k` is input axis `axes[k]` (reversed when omitted); a
 * Blockwise layer that transposes each block on its own.
 *
 * @example
 * ```ts
 * x.transpose([1, 0]).shape; // [x.shape[1], x.shape[0]]
 * ```
 */
export function transposeArray(x: Array, axes?: readonly number[]): Array {
  const nd = x.ndim;
  const perm = axes === undefined ? x.shape.map((_, k) => nd - 1 - k) : axes.map((a) => (a < 0 ? a + nd : a));
  if (perm.length !== nd || new Set(perm).size !== nd || perm.some((a) => !Number.isInteger(a) || a < 0 || a >= nd)) {
    throw new RangeError(`Expected \`axes\` to be a permutation of 0…${nd - 1}, got [${axes?.join(", ")}]`);
  }
  if (perm.every((a, k) => a === k)) return x;
  const name = `transpose-${tokenize(x.name, perm)}`;
  const chunks = perm.map((a) => x.chunks[a]!);
  const outIndex = SYMBOLS.slice(0, nd);
  const inIndex = new globalThis.Array<string>(nd);
  for (let k = 0; k < nd; k++) inIndex[perm[k]!] = outIndex[k]!;
  const layer = new Blockwise({
    name,
    outIndex,
    numBlocks: chunks.map((c) => c.length),
    op: transposeBlockOp,
    args: [blockwiseInput(x.name, inIndex.join(""), x.numBlocks), perm],
  });
  return makeArray(x.graph.withLayer(layer, [x.name]), name, chunks, x.dtype);
}
