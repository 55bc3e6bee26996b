import { Alias, MaterializedLayer, Task, blockKey, op, ref, tokenize, type GraphNode } from "@zask/graph";
import type { Array } from "./array.js";
import { makeArray } from "./array-factory.js";
import { blockOffsets, normalizeChunks, type Chunks, type ChunksSpec } from "./chunks.js";
import type { AxisIndex } from "./ops/slicing-kernels.js";

export type { ChunksSpec } from "./chunks.js";

const getitemOp = op("@zask/array/ops", "getitem");
const gatherOp = op("@zask/array/ops", "gather");

interface Piece {
  readonly inBlock: number;
  readonly src: AxisIndex;
  readonly dst: AxisIndex;
}

function axisPieces(inSizes: readonly number[], outSizes: readonly number[]): Piece[][] {
  const iOff = blockOffsets(inSizes);
  const oOff = blockOffsets(outSizes);
  const out: Piece[][] = [];
  let b = 0;
  for (let j = 0; j < outSizes.length; j++) {
    const o0 = oOff[j]!;
    const o1 = oOff[j + 1]!;
    const pieces: Piece[] = [];
    while (b < inSizes.length && iOff[b + 1]! <= o0) b++;
    for (let c = b; c < inSizes.length && iOff[c]! < o1; c++) {
      const lo = Math.max(o0, iOff[c]!);
      const hi = Math.min(o1, iOff[c + 1]!);
      if (hi <= lo) continue;
      const whole = lo === iOff[c]! && hi === iOff[c + 1]!;
      const fills = lo === o0 && hi === o1;
      pieces.push({
        inBlock: c,
        src: whole ? null : { start: lo - iOff[c]!, step: 1, count: hi - lo },
        dst: fills ? null : { start: lo - o0, step: 1, count: hi - lo },
      });
    }
    out.push(pieces);
  }
  return out;
}

/** `x` with the same values in blocks of `chunks` (each output block gathers the input blocks it overlaps). */
export function rechunkWith(x: Array, chunks: Chunks): Array {
  if (chunks.every((c, k) => c.length === x.chunks[k]!.length && c.every((s, i) => s === x.chunks[k]![i]))) return x;
  const name = `rechunk-${tokenize(x.name, chunks)}`;
  const plans = chunks.map((c, k) => axisPieces(x.chunks[k]!, c));
  const nb = chunks.map((c) => c.length);
  const total = nb.reduce((a, b) => a * b, 1);
  const idx = new globalThis.Array<number>(nb.length).fill(0);
  const nodes: GraphNode[] = [];
  for (let t = 0; t < total; t++) {
    const key = blockKey(name, idx);
    const shape = idx.map((b, k) => chunks[k]![b]!);
    const perAxis = plans.map((p, k) => p[idx[k]!]!);
    const n = perAxis.reduce((a, ps) => a * ps.length, 1);
    if (n === 1 && perAxis.every((ps) => ps[0]!.dst === null)) {
      const inKey = x.key(perAxis.map((ps) => ps[0]!.inBlock));
      const srcs = perAxis.map((ps) => ps[0]!.src);
      nodes.push(srcs.every((s) => s === null) ? new Alias(key, inKey) : new Task(key, getitemOp, [ref(inKey), srcs, shape]));
    } else {
      const pieces: unknown[] = [];
      const choice = new globalThis.Array<number>(nb.length).fill(0);
      for (let q = 0; q < n; q++) {
        const ps = perAxis.map((list, k) => list[choice[k]!]!);
        pieces.push({ block: ref(x.key(ps.map((p) => p.inBlock))), src: ps.map((p) => p.src), dst: ps.map((p) => p.dst) });
        for (let k = nb.length - 1; k >= 0; k--) {
          if (++choice[k]! < perAxis[k]!.length) break;
          choice[k] = 0;
        }
      }
      nodes.push(new Task(key, gatherOp, [pieces, shape, shape, x.dtype]));
    }
    for (let k = nb.length - 1; k >= 0; k--) {
      if (++idx[k]! < nb[k]!) break;
      idx[k] = 0;
    }
  }
  return makeArray(x.graph.withLayer(new MaterializedLayer(name, nodes), [x.name]), name, chunks, x.dtype);
}

/**
 * `x.rechunk(chunks)`: the same values in other blocks.
 *
 * @example
 * ```ts
 * x.rechunk([-1, 100]); // whole columns of 100 genes
 * ```
 */
export function rechunkArray(x: Array, spec: ChunksSpec): Array {
  return rechunkWith(x, normalizeChunks(spec, x.shape));
}
