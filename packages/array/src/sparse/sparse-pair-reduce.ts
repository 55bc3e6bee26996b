// Graph builder: the first step of a reduction (sum, mean, var, std, min, max, nonzero count)
// of a stored sparse matrix over its major axis (or both), of all its lines or a selection of
// them, as one task per `data`/`indices` chunk pair, in place of one per block (see
// ops/sparse-reduce-pair.ts). Such a reduction needs each stored value and its index only, so
// no block is gathered: each chunk pair is fetched, decoded, folded in and dropped in one
// task, on the main thread for a small read, else on the pool.
import { Blockwise, blockKey, blockwiseInput, op, perBlock, type Graph } from "@zask/graph";
import { itemsize, type DataType } from "../dtype.js";
import type { SparseReducePairLayout } from "../ops/sparse-reduce-pair.js";
import type { PartialsMaker } from "../reductions.js";
import { zarrRead } from "../zarr-layers.js";
import type { SparseSource } from "./sparse-read.js";

const pairOp = op("@zask/array/ops", "sparseReducePair", { lane: "cpu" });
const pairInlineOp = op("@zask/array/ops", "sparseReducePair", { lane: "inline" });
const PAIR_KINDS = new Set(["fsum", "isum", "mean", "countNonzero", "var", "std", "min", "max"]);

/** The kinds linear in the stored values: a line's duplicate indices add up as they are. */
const LINEAR_KINDS = new Set(["fsum", "isum", "mean"]);

/** What one chunk pair reads: its ranges (offsets from the chunk's start) and its share of the lines. */
interface PairRead {
  ranges: number[];
  owned: number;
  /** With `byLine`: where each whole line starts, in the order the ranges are read. */
  lineStarts: number[];
  /** With `byLine`: the parts of lines across chunk boundaries (see SparseReducePairLayout.lineParts). */
  lineParts: number[];
}

/**
 * Per touched chunk (in chunk order), the ranges of the lines `major` (all when null) that lie
 * in it, a line's run merged into the last range when it continues it, and how many lines it
 * counts: each in the chunk its values start in, an empty one in the first touched chunk.
 * With `byLine`, where each whole line starts is kept too, and a line across a chunk boundary
 * is a line part in each of its chunks instead of a range. Empty when no line stores a value.
 */
function pairReads(source: SparseSource, major: Int32Array | null, len: number, byLine: boolean): Map<number, PairRead> {
  const { indptr, format, shape } = source;
  const lines = major === null ? shape[format === "csr" ? 0 : 1] : major.length;
  const reads = new Map<number, PairRead>();
  let empty = 0;
  for (let i = 0; i < lines; i++) {
    const a = major === null ? i : major[i]!;
    const s = Number(indptr[a]);
    const e = Number(indptr[a + 1]);
    if (!(e > s)) {
      empty++;
      continue;
    }
    const across = byLine && Math.floor(s / len) !== Math.floor((e - 1) / len);
    for (let c = Math.floor(s / len); c * len < e; c++) {
      let read = reads.get(c);
      if (read === undefined) reads.set(c, (read = { ranges: [], owned: 0, lineStarts: [], lineParts: [] }));
      const from = Math.max(s, c * len) - c * len;
      const to = Math.min(e, (c + 1) * len) - c * len;
      const r = read.ranges;
      if (across) {
        read.lineParts.push(i, from, to, e - s);
        continue;
      }
      if (byLine) read.lineStarts.push(from);
      if (r.length > 0 && r[r.length - 1] === from) r[r.length - 1] = to;
      else r.push(from, to);
    }
    reads.get(Math.floor(s / len))!.owned++;
  }
  const sorted = new Map([...reads].sort(([a], [b]) => a - b));
  const first = sorted.values().next();
  if (!first.done) first.value.owned += empty;
  return sorted;
}

/**
 * The `partials` annotation (see PartialsMaker) of a read of the lines `major` of `source`
 * (all when null), without a minor selection: a sum, mean, var, std, min, max or nonzero count
 * over the major axis, or over both, gets one partial per chunk pair the lines' values lie in,
 * when `data` and `indices` are zarr reads chunked alike and the values are not 64-bit
 * integers (whose sums the block kernels take exactly). `fetches` is the graph of the two
 * arrays' chunk fetches; `small`, the read's decoded-bytes bound of the main thread.
 *
 * @example
 * ```ts
 * const annotations = { partials: pairPartials(source, null, () => fetchGraph, DEFAULT_SMALL_READ_BYTES) };
 * ```
 */
export function pairPartials(source: SparseSource, major: Int32Array | null, fetches: () => Graph, small: number): PartialsMaker {
  return ({ kind, axes, name }) => {
    const { data, indices, format, shape } = source;
    const majorAxis = format === "csr" ? 0 : 1;
    const dtype = data.dtype as DataType;
    if (!PAIR_KINDS.has(kind) || !axes.includes(majorAxis) || dtype === "string" || dtype === "int64" || dtype === "uint64") return undefined;
    const dataRead = zarrRead(data);
    const indicesRead = zarrRead(indices);
    const len = data.chunks[0]![0]!;
    const chunkCount = data.chunks[0]!.length;
    if (dataRead === undefined || indicesRead === undefined || !(len > 0) || indices.chunks[0]![0] !== len || indices.chunks[0]!.length !== chunkCount) {
      return undefined;
    }
    const reads = pairReads(source, major, len, !LINEAR_KINDS.has(kind));
    const pairs = [...reads.keys()];
    if (pairs.length === 0 || pairs[pairs.length - 1]! >= chunkCount) return undefined;
    const pairIndex = new Map(pairs.map((c, i) => [c, i]));
    const minor = shape[1 - majorAxis]!;
    const byIndex = axes.length === 1;
    const shapeOf: number[] = byIndex ? (majorAxis === 0 ? [1, minor] : [minor, 1]) : [1, 1];
    const inline = pairs.length * len * (itemsize(dtype) + itemsize(indices.dtype as DataType)) <= small;
    // one block per chunk, as the fetches' (so that each pair fuses with its two fetches and
    // the scheduler stages their bytes for the pool); the tree sees the touched ones along the
    // major axis
    const layerBlocks = [chunkCount];
    const layer = new Blockwise({
      name,
      outIndex: "a",
      numBlocks: layerBlocks,
      op: inline ? pairInlineOp : pairOp,
      args: [
        kind,
        perBlock(
          ([c]): SparseReducePairLayout => {
            const read = reads.get(c!) ?? { ranges: [], owned: 0, lineStarts: [], lineParts: [] };
            const ranges = Int32Array.from(read.ranges);
            const base = c! * len;
            const parts = LINEAR_KINDS.has(kind) ? undefined : Float64Array.from(read.lineParts);
            const [lo, hi] = span(ranges, parts);
            return {
              ...(parts === undefined ? {} : { lineParts: parts, lineStarts: Int32Array.from(read.lineStarts) }),
              chunk: c!,
              chunkLen: len,
              p0: base + lo,
              p1: base + hi,
              ranges,
              minor,
              dtype,
              path: source.path,
              url: source.url,
              byIndex,
              shape: shapeOf,
              n: read.owned * (byIndex ? 1 : minor),
            };
          },
          { refs: false },
        ),
        blockwiseInput(dataRead.fetch, "a", layerBlocks),
        blockwiseInput(indicesRead.fetch, "a", layerBlocks),
        // the decode op's other arguments for the chunk: metadata, coordinates, shape, where it is
        perBlock(([c]) => dataRead.decode.task([c!]).args.slice(1), { refs: false }),
        perBlock(([c]) => indicesRead.decode.task([c!]).args.slice(1), { refs: false }),
      ],
    });
    return {
      graph: fetches().withLayer(layer, [dataRead.fetch, indicesRead.fetch]),
      numBlocks: majorAxis === 0 ? [pairs.length, 1] : [1, pairs.length],
      keyOf: (index) => blockKey(name, [pairs[index[majorAxis]!]!]),
      indexOf: ([c]) => {
        const i = pairIndex.get(c!) ?? 0;
        return majorAxis === 0 ? [i, 0] : [0, i];
      },
    };
  };
}

/** The first start and the last end of [start, end) pairs and of line parts ([0, 0] when there are none). */
function span(ranges: Int32Array, parts: Float64Array | undefined): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < ranges.length; i += 2) {
    lo = Math.min(lo, ranges[i]!);
    hi = Math.max(hi, ranges[i + 1]!);
  }
  for (let i = 0; parts !== undefined && i < parts.length; i += 4) {
    lo = Math.min(lo, parts[i + 1]!);
    hi = Math.max(hi, parts[i + 2]!);
  }
  return lo === Infinity ? [0, 0] : [lo, hi];
}
