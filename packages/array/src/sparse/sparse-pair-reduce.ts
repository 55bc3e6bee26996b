// Graph builder: the first step of a reduction (sum, mean, var, std, min, max, nonzero count)
// of a stored sparse matrix over its major axis (or both) as one task per `data`/`indices`
// chunk pair, in place of one per block (see ops/sparse-reduce-pair.ts). Such a reduction
// needs each stored value and its index only, so no block is gathered: each chunk pair is
// fetched, decoded, folded in and dropped in one task, on the main thread for a small read,
// else on the pool.
import { Blockwise, blockKey, blockwiseInput, op, perBlock, type Graph } from "@zask/graph";
import { itemsize, type DataType } from "../dtype.js";
import type { SparseReducePairLayout } from "../ops/sparse-reduce-pair.js";
import type { PartialsMaker } from "../reductions.js";
import { zarrRead } from "../zarr-layers.js";
import type { SparseSource } from "./sparse-read.js";

const pairOp = op("@zask/array/ops", "sparseReducePair", { lane: "cpu" });
const pairInlineOp = op("@zask/array/ops", "sparseReducePair", { lane: "inline" });
const PAIR_KINDS = new Set(["fsum", "isum", "mean", "countNonzero", "var", "std", "min", "max"]);

/**
 * The `partials` annotation (see PartialsMaker) of a read of every position of `source`: a
 * sum, mean, var, std, min, max or nonzero count over the major axis, or over both, gets one
 * partial per chunk pair, when `data` and `indices` are zarr reads chunked alike and the values are not 64-bit
 * integers (whose sums the block kernels take exactly). `fetches` is the graph of the two
 * arrays' chunk fetches; `small`, the read's decoded-bytes bound of the main thread.
 *
 * @example
 * ```ts
 * const annotations = { partials: pairPartials(source, () => fetchGraph, DEFAULT_SMALL_READ_BYTES) };
 * ```
 */
export function pairPartials(source: SparseSource, fetches: () => Graph, small: number): PartialsMaker {
  return ({ kind, axes, name }) => {
    const { data, indices, indptr, format, shape } = source;
    const majorAxis = format === "csr" ? 0 : 1;
    const dtype = data.dtype as DataType;
    if (!PAIR_KINDS.has(kind) || !axes.includes(majorAxis) || dtype === "string" || dtype === "int64" || dtype === "uint64") return undefined;
    const dataRead = zarrRead(data);
    const indicesRead = zarrRead(indices);
    const len = data.chunks[0]![0]!;
    if (dataRead === undefined || indicesRead === undefined || !(len > 0) || indices.chunks[0]![0] !== len) return undefined;
    const major = shape[majorAxis]!;
    const minor = shape[1 - majorAxis]!;
    const nnz = Number(indptr[major]);
    const pairs = Math.ceil(nnz / len);
    const chunkCount = data.chunks[0]!.length;
    if (pairs === 0 || pairs > chunkCount || indices.chunks[0]!.length !== chunkCount) return undefined;
    // each major position counts once, in the pair where its values start (empty ones at the end: the last)
    const owned = new Float64Array(pairs);
    for (let a = 0; a < major; a++) owned[Math.min(Math.floor(Number(indptr[a]) / len), pairs - 1)]!++;
    const byIndex = axes.length === 1;
    const shapeOf: number[] = byIndex ? (majorAxis === 0 ? [1, minor] : [minor, 1]) : [1, 1];
    const inline = pairs * len * (itemsize(dtype) + itemsize(indices.dtype as DataType)) <= small;
    // one block per chunk, as the fetches' (so that each pair fuses with its two fetches and
    // the scheduler stages their bytes for the pool); the tree sees them along the major axis
    const layerBlocks = [chunkCount];
    const pairOfBlock = (b: readonly number[]): number => b[0]!;
    const layer = new Blockwise({
      name,
      outIndex: "a",
      numBlocks: layerBlocks,
      op: inline ? pairInlineOp : pairOp,
      args: [
        kind,
        perBlock(
          (b): SparseReducePairLayout => {
            const c = pairOfBlock(b);
            return {
              chunk: c,
              chunkLen: len,
              p0: c * len,
              p1: Math.min((c + 1) * len, nnz),
              minor,
              dtype,
              path: source.path,
              url: source.url,
              byIndex,
              shape: shapeOf,
              n: owned[c]! * (byIndex ? 1 : minor),
            };
          },
          { refs: false },
        ),
        blockwiseInput(dataRead.fetch, "a", layerBlocks),
        blockwiseInput(indicesRead.fetch, "a", layerBlocks),
        // the decode op's other arguments for the chunk: metadata, coordinates, shape, where it is
        perBlock((b) => dataRead.decode.task([pairOfBlock(b)]).args.slice(1), { refs: false }),
        perBlock((b) => indicesRead.decode.task([pairOfBlock(b)]).args.slice(1), { refs: false }),
      ],
    });
    return {
      graph: fetches().withLayer(layer, [dataRead.fetch, indicesRead.fetch]),
      numBlocks: majorAxis === 0 ? [pairs, 1] : [1, pairs],
      keyOf: (index) => blockKey(name, [index[majorAxis]!]),
      indexOf: ([c]) => (majorAxis === 0 ? [c!, 0] : [0, c!]),
    };
  };
}
