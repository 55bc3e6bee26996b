import { MaterializedLayer, blockKey, Task, op, ref, tokenize, type GraphNode } from "@zask/graph";
import type { Array } from "./array.js";
import { makeArray } from "./array-factory.js";
import { blockOffsets } from "./chunks.js";
import type { AxisIndex } from "./ops/slicing-kernels.js";
import { normalizeSelector, type AxisSelection, type Selector } from "./selection.js";
import { zarrRead } from "./zarr-layers.js";

const getitemOp = op("@zask/array/ops", "getitem");
const getitemRowsOp = op("@zask/array/ops", "getitemRows");
const gatherOp = op("@zask/array/ops", "gather");

/** One input block's part of one output block, along one axis. */
interface AxisPiece {
  readonly inBlock: number;
  readonly src: AxisIndex;
  /** `null`: positions 0 … n-1 of the output block. */
  readonly dst: AxisIndex;
}

/** How one axis of the output is made: output block sizes and the pieces of each. */
interface AxisPlan {
  readonly outChunks: number[];
  readonly blocks: AxisPiece[][];
  readonly drop: boolean;
}

/** `positions` as compactly as possible: null (0 … whole-1), a progression, or a list. */
function compact(positions: ArrayLike<number>, whole: number): AxisIndex {
  const n = positions.length;
  if (n === 0) return [];
  const start = positions[0]!;
  const step = n > 1 ? positions[1]! - start : 1;
  for (let i = 1; i < n; i++) if (positions[i]! !== start + i * step) return globalThis.Array.from(positions);
  if (start === 0 && step === 1 && n === whole) return null;
  return { start, step, count: n };
}

function planAxis(sel: AxisSelection, sizes: readonly number[]): AxisPlan {
  if (sel.full) {
    return { outChunks: [...sizes], blocks: sizes.map((_, b) => [{ inBlock: b, src: null, dst: null }]), drop: false };
  }
  const offsets = blockOffsets(sizes);
  const p = sel.positions;
  const m = p.length;
  if (m === 0) return { outChunks: [0], blocks: [[]], drop: sel.drop };
  const blockOf = new Int32Array(m);
  let up = true;
  let down = true;
  for (let i = 0; i < m; i++) {
    // Binary search: the last block whose offset is <= position.
    let lo = 0;
    let hi = sizes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (offsets[mid]! <= p[i]!) lo = mid;
      else hi = mid - 1;
    }
    blockOf[i] = lo;
    if (i > 0) {
      if (blockOf[i]! < blockOf[i - 1]!) up = false;
      if (blockOf[i]! > blockOf[i - 1]!) down = false;
    }
  }
  const outChunks: number[] = [];
  const blocks: AxisPiece[][] = [];
  if (up || down) {
    // Monotonic (slices, masks, sorted lists): one output block per touched input block.
    for (let i = 0; i < m; ) {
      const b = blockOf[i]!;
      let j = i;
      while (j < m && blockOf[j] === b) j++;
      const local = new Int32Array(j - i);
      for (let t = i; t < j; t++) local[t - i] = p[t]! - offsets[b]!;
      outChunks.push(j - i);
      blocks.push([{ inBlock: b, src: compact(local, sizes[b]!), dst: null }]);
      i = j;
    }
  } else {
    // Out of order (dask's take): output blocks of the input's chunk size, each gathering
    // from every input block it touches, then placing the values in order.
    const size = Math.max(...sizes, 1);
    for (let start = 0; start < m; start += size) {
      const end = Math.min(m, start + size);
      const groups = new Map<number, { src: number[]; dst: number[] }>();
      for (let i = start; i < end; i++) {
        const b = blockOf[i]!;
        let g = groups.get(b);
        if (g === undefined) groups.set(b, (g = { src: [], dst: [] }));
        g.src.push(p[i]! - offsets[b]!);
        g.dst.push(i - start);
      }
      outChunks.push(end - start);
      blocks.push(
        [...groups.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([b, g]) => ({
            inBlock: b,
            src: compact(g.src, sizes[b]!),
            dst: compact(g.dst, end - start),
          })),
      );
    }
  }
  return { outChunks, blocks, drop: sel.drop };
}

/** The rows [r0, r1) of a block of `rows` that `index` reads, or `undefined` when it reads them all. */
function rowsRead(index: AxisIndex, rows: number): readonly [number, number] | undefined {
  if (index === null) return undefined;
  let lo: number;
  let hi: number;
  if (globalThis.Array.isArray(index)) {
    const list = index as readonly number[];
    if (list.length === 0) return undefined;
    // a loop, not Math.min(...list): a block's list can be longer than a call takes arguments
    lo = Infinity;
    hi = -Infinity;
    for (const p of list) {
      if (p < lo) lo = p;
      if (p + 1 > hi) hi = p + 1;
    }
  } else {
    const { start, step, count } = index as { start: number; step: number; count: number };
    if (count === 0) return undefined;
    const end = start + step * (count - 1);
    lo = Math.min(start, end);
    hi = Math.max(start, end) + 1;
  }
  return hi - lo < rows ? [lo, hi] : undefined;
}

/**
 * `x[selectors]` with orthogonal (dask/zarr) semantics, as a new layer over `x`: each
 * output block selects from the input blocks it touches, so untouched blocks are never
 * referenced (and culled away before anything runs).
 */
export function sliceArray(x: Array, selectors: readonly Selector[]): Array {
  if (selectors.length > x.ndim) {
    throw new RangeError(`Expected at most ${x.ndim} selectors (one per axis), got ${selectors.length}`);
  }
  const sels = x.shape.map((n, axis) => normalizeSelector(selectors[axis] ?? null, axis, n));
  if (sels.every((s) => s.full)) return x;
  const plans = sels.map((s, axis) => planAxis(s, x.chunks[axis]!));
  const name = `getitem-${tokenize(
    x.name,
    sels.map((s) => [s.positions, s.drop]),
  )}`;
  const kept = plans.map((p, axis) => ({ p, axis })).filter(({ p }) => !p.drop);
  const outChunks = kept.map(({ p }) => p.outChunks);
  const nodes: GraphNode[] = [];
  // over a zarr read, a block that keeps some of a chunk's rows decodes only what holds them
  const read = x.dtype === "string" || x.ndim === 0 ? undefined : zarrRead(x);
  let readsFetches = false;
  let readsBlocks = false;
  const counts = plans.map((p) => p.blocks.length);
  const total = counts.reduce((a, b) => a * b, 1);
  const idx = new globalThis.Array<number>(plans.length).fill(0);
  for (let t = 0; t < total; t++) {
    const outIndex = idx.filter((_, k) => !plans[k]!.drop);
    const key = blockKey(name, outIndex);
    const fullShape = plans.map((p, k) => p.outChunks[idx[k]!]!);
    const outShape = fullShape.filter((_, k) => !plans[k]!.drop);
    const perAxis = plans.map((p, k) => p.blocks[idx[k]!]!);
    const nPieces = perAxis.reduce((a, ps) => a * ps.length, 1);
    if (nPieces === 1 && perAxis.every((ps) => ps[0]!.dst === null)) {
      const inIndex = perAxis.map((ps) => ps[0]!.inBlock);
      const src = perAxis.map((ps) => ps[0]!.src);
      const rows = read === undefined ? undefined : rowsRead(src[0]!, x.chunks[0]![inIndex[0]!]!);
      if (read !== undefined && rows !== undefined) {
        nodes.push(new Task(key, getitemRowsOp, [...read.decode.task(inIndex).args, rows, src, outShape]));
        readsFetches = true;
      } else {
        nodes.push(new Task(key, getitemOp, [ref(x.key(inIndex)), src, outShape]));
        readsBlocks = true;
      }
    } else {
      readsBlocks = true;
      const pieces: unknown[] = [];
      const choice = new globalThis.Array<number>(plans.length).fill(0);
      for (let q = 0; q < nPieces; q++) {
        const ps = perAxis.map((list, k) => list[choice[k]!]!);
        pieces.push({ block: ref(x.key(ps.map((pc) => pc.inBlock))), src: ps.map((pc) => pc.src), dst: ps.map((pc) => pc.dst) });
        for (let k = plans.length - 1; k >= 0; k--) {
          if (++choice[k]! < perAxis[k]!.length) break;
          choice[k] = 0;
        }
      }
      nodes.push(new Task(key, gatherOp, [pieces, fullShape, outShape, x.dtype]));
    }
    for (let k = plans.length - 1; k >= 0; k--) {
      if (++idx[k]! < counts[k]!) break;
      idx[k] = 0;
    }
  }
  const deps = [...(readsBlocks || !readsFetches ? [x.name] : []), ...(readsFetches && read !== undefined ? [read.fetch] : [])];
  const graph = x.graph.withLayer(new MaterializedLayer(name, nodes), deps);
  return makeArray(graph, name, outChunks, x.dtype);
}
