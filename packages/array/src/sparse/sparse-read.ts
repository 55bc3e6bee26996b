// Graph builder: the row (CSR) or column (CSC) blocks of a sparse matrix stored as three 1-D
// zarr arrays. Each block depends on the decoded `data`/`indices` chunks its ranges span, so a
// chunk shared by neighbouring blocks is one task: fetched and decoded once per compute. A
// small read decodes, gathers and reduces on the main thread (see DEFAULT_SMALL_READ_BYTES). A
// minor selection picks each chunk pair's selected values in one task: on the pool for a
// larger read, on the main thread for a small one whose chunks the WebAssembly pick takes.
import { Blockwise, Graph, MaterializedLayer, Task, blockKey, blockwiseInput, op, perBlock, ref, tokenize } from "@zask/graph";
import type { Array as LazyArray } from "../array.js";
import { itemsize, type DataType, type TypedArray } from "../dtype.js";
import type { SparseFormat } from "../ops/sparse-block.js";
import type { SparseGatherLayout } from "../ops/sparse-gather.js";
import type { SparsePickedBlockLayout } from "../ops/sparse-gather-picked.js";
import type { SparsePickLayout } from "../ops/sparse-pick.js";
import type { MinorMap } from "../ops/sparse-select.js";
import { wasmKernels } from "../codecs/blosc-kernels.js";
import { bloscOnlyOf, type ZarrChunkMeta } from "../ops/zarr.js";
import { zarrRead } from "../zarr-layers.js";
import { blockSizesByNnz, blockSizesOfAll } from "./sparse-blocks.js";
import { pairPartials } from "./sparse-pair-reduce.js";

const gatherOp = op("@zask/array/ops", "sparseGather", { lane: "cpu" });
const gatherInlineOp = op("@zask/array/ops", "sparseGather", { lane: "inline" });
const decodeInlineOp = op("@zask/array/ops", "decodeChunk", { lane: "inline" });
const decodeIndicesOp = op("@zask/array/ops", "decodeIndicesChunk", { lane: "cpu" });
const decodeIndicesInlineOp = op("@zask/array/ops", "decodeIndicesChunk", { lane: "inline" });
const pickOp = op("@zask/array/ops", "sparsePickChunk", { lane: "cpu" });
const pickInlineOp = op("@zask/array/ops", "sparsePickChunk", { lane: "inline" });
const gatherPickedOp = op("@zask/array/ops", "sparseGatherPicked", { lane: "cpu" });
const gatherPickedInlineOp = op("@zask/array/ops", "sparseGatherPicked", { lane: "inline" });

/**
 * Default {@link SparseReadOptions.smallReadBytes}: a read whose touched `data` and `indices`
 * chunks decode to at most this many bytes decodes, gathers and reduces them on the main
 * thread, where a pool message per chunk, and the decoded chunks copied again to every gather
 * that shares them (a chunk shared by two blocks cannot be moved to either), cost more than
 * the work. The bound keeps that stretch of main-thread work to a few milliseconds; a larger
 * read runs on the pool, or on a distributed executor's workers (`npm run bench -- --only csr`
 * measures the small reads).
 */
export const DEFAULT_SMALL_READ_BYTES = 8 * 2 ** 20;

/**
 * The `pickedBlocks` annotation of a small picked read's block layer: each block, in major
 * order, as its gather's layout and the keys of the picks it takes (all in `pickLayer`). The
 * dense answer of exactly these blocks is written from the picks, without gathering each block
 * first (`sparseFinal`).
 */
export interface PickedBlocks {
  readonly pickLayer: string;
  readonly blocks: [SparsePickedBlockLayout, string[]][];
}

/** A compressed sparse matrix in a store: its checked `indptr`, and lazy 1-D `data` and `indices`. */
export interface SparseSource {
  readonly format: SparseFormat;
  readonly shape: readonly [number, number];
  /** The whole `indptr`, read and checked at open (non-decreasing, from 0 to nnz). */
  readonly indptr: TypedArray;
  /** `data` and `indices` as lazy 1-D arrays (`fromZarr`). */
  readonly data: LazyArray;
  readonly indices: LazyArray;
  /** Where the matrix is, for errors. */
  readonly path: string;
  readonly url: string | undefined;
}

/** Default {@link SparseReadOptions.blockNnz}: about 8 MB of float32 values and int32 indices per block. */
export const DEFAULT_BLOCK_NNZ = 2 ** 20;

/** Options of {@link sparseRead}. */
export interface SparseReadOptions {
  /**
   * About how many stored values a block holds: major positions are added to a block until
   * their stored values reach this, so a dense region makes more, smaller blocks.
   * @default 1048576
   */
  blockNnz?: number;
  /**
   * A read whose touched chunks decode to at most this many bytes decodes, gathers and
   * reduces them on the main thread; a larger one on the worker pool. 0: always the pool.
   * @default 8388608
   */
  smallReadBytes?: number;
}

/** `starts[i] = indptr[from + i]`, `ends[i] = indptr[from + i + 1]` for the block's length. */
function copyRuns(indptr: TypedArray, from: number, starts: Float64Array, ends: Float64Array): void {
  const n = starts.length;
  if (indptr instanceof BigInt64Array || indptr instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) {
      starts[i] = Number(indptr[from + i]);
      ends[i] = Number(indptr[from + i + 1]);
    }
  } else {
    starts.set(indptr.subarray(from, from + n) as ArrayLike<number>);
    ends.set(indptr.subarray(from + 1, from + n + 1) as ArrayLike<number>);
  }
}

/** `a`'s graph without its top (decode) layer: what the chunk fetches need. */
function withoutTop(a: LazyArray): Graph {
  const layers = new Map(a.graph.layers);
  layers.delete(a.name);
  const dependencies = new Map(a.graph.dependencies);
  dependencies.delete(a.name);
  return new Graph(layers, dependencies);
}

/**
 * The graph of a read with a minor selection (columns of CSR) when `data` and `indices` are
 * zarr reads (sharded or not) chunked alike: one task per touched chunk pair fetches and
 * decodes both chunks and keeps only the selected stored values ({@link SparsePickLayout}), and each block
 * is cut from those short lists. A decoded chunk then lives only inside its task: it is
 * neither shared by the blocks that straddle it nor sent between threads. The pick layer is
 * Blockwise over the chunks, so each pick fuses with its two fetches into one node, whose
 * fetched bytes the scheduler stages for the pool like a dense read's.
 */
function pickedRead(source: SparseSource, layouts: readonly SparseGatherLayout[], minorMap: MinorMap, name: string, inline: boolean, runs: boolean): Graph {
  const { data, indices } = source;
  const len = layouts[0]?.dataChunk ?? 1;
  // per chunk: the stored positions some block reads, so rows outside the selection are not checked
  const ranges = new Map<number, [number, number]>();
  const add = (s: number, e: number): void => {
    if (!(e > s)) return;
    for (let c = Math.floor(s / len); c * len < e; c++) {
      const lo = Math.max(s, c * len);
      const hi = Math.min(e, (c + 1) * len);
      const r = ranges.get(c);
      if (r === undefined) ranges.set(c, [lo, hi]);
      else {
        r[0] = Math.min(r[0], lo);
        r[1] = Math.max(r[1], hi);
      }
    }
  };
  for (const { starts, ends } of layouts) {
    // with `runs`, each block's values are one run (all positions in order)
    if (runs) {
      if (starts.length > 0) add(starts[0]!, ends[ends.length - 1]!);
    } else for (let i = 0; i < starts.length; i++) add(starts[i]!, ends[i]!);
  }
  const dataRead = zarrRead(data)!;
  const indicesRead = zarrRead(indices)!;
  const numBlocks = [data.chunks[0]!.length];
  const minor = layouts[0]?.minor ?? 0;
  const dtype = data.dtype as DataType;
  const pickName = name.replace(/^sparse-read-/, "sparse-pick-");
  const pickLayer = new Blockwise({
    name: pickName,
    outIndex: "a",
    numBlocks,
    op: inline ? pickInlineOp : pickOp,
    args: [
      perBlock(
        ([c]): SparsePickLayout => {
          const [p0, p1] = ranges.get(c!) ?? [c! * len, c! * len];
          return { chunk: c!, chunkLen: len, p0, p1, minor, minorMap, dtype, path: source.path, url: source.url };
        },
        { refs: false },
      ),
      blockwiseInput(dataRead.fetch, "a", numBlocks),
      blockwiseInput(indicesRead.fetch, "a", numBlocks),
      // the decode op's other arguments for the chunk: metadata, coordinates, shape, where it is
      perBlock(([c]) => dataRead.decode.task([c!]).args.slice(1), { refs: false }),
      perBlock(([c]) => indicesRead.decode.task([c!]).args.slice(1), { refs: false }),
    ],
  });
  const picked: PickedBlocks = { pickLayer: pickName, blocks: [] };
  const blocks = layouts.map((layout, b) => {
    const block: SparsePickedBlockLayout = { format: layout.format, starts: layout.starts, ends: layout.ends, minor: minorMap.length, dtype: layout.dtype };
    const index = layout.format === "csr" ? [b, 0] : [0, b];
    const picks = layout.dataChunks.map((c) => blockKey(pickName, [c]));
    picked.blocks.push([block, picks]);
    // the dependencies are known: no walk of the layout to find them
    return new Task(blockKey(name, index), inline ? gatherPickedInlineOp : gatherPickedOp, [block, picks.map(ref)], picks);
  });
  // a small read's blocks are gathered on the main thread, where a dense answer can be written
  // from the picks directly (see PickedBlocks)
  const annotations = inline ? { inlineBlocks: true, pickedBlocks: picked } : {};
  return Graph.merge(withoutTop(data), withoutTop(indices))
    .withLayer(pickLayer, [dataRead.fetch, indicesRead.fetch])
    .withLayer(new MaterializedLayer(name, blocks, annotations), [pickName]);
}

/**
 * Whether `indices` are 64-bit integers (scipy's once a matrix holds 2^31 values). A small read
 * picks their chunk pairs too: the pick narrows only the range it scans, into a scratch buffer,
 * where a gather reads whole chunks decoded to int32 into buffers of their own.
 */
function wideIndices(indices: LazyArray): boolean {
  return indices.dtype === "int64" || indices.dtype === "uint64";
}

/**
 * Whether a small read's chunk pairs would be picked by the WebAssembly pick kernel
 * (sparsePickChunk's fast path): plain blosc chunks (see bloscOnlyOf), int32 indices, and
 * WebAssembly SIMD on this thread. Then picking beats decoding the chunks and gathering from
 * them; other chunks would decode whole in the pick task, a copy more than the gather's.
 */
function pickableInWasm(data: LazyArray, indices: LazyArray): boolean {
  // asked per selection of the same opened arrays: answered once per pair
  let byIndices = pickable.get(data);
  if (byIndices === undefined) pickable.set(data, (byIndices = new WeakMap()));
  let answer = byIndices.get(indices);
  if (answer === undefined) {
    const metaOf = (a: LazyArray): ZarrChunkMeta | undefined => zarrRead(a)?.decode.task([0]).args[1] as ZarrChunkMeta | undefined;
    const d = metaOf(data);
    const x = metaOf(indices);
    answer = d !== undefined && x !== undefined && x.dtype === "int32" && bloscOnlyOf(d) !== null && bloscOnlyOf(x) !== null && wasmKernels() !== null;
    byIndices.set(indices, answer);
  }
  return answer;
}
const pickable = new WeakMap<LazyArray, WeakMap<LazyArray, boolean>>();

/**
 * `a`'s graph (int64 indices) with its decode layer replaced by a twin of this read's own that
 * decodes each chunk to int32 (`decodeIndicesChunk`; on the main thread when `inline`), when
 * its top layer is the decode layer of a zarr read; else undefined. The twin has its own name,
 * so the same chunks decoded elsewhere in a graph stay int64; it reads the decode layer's
 * fetches, so a plan counts the same requests.
 */
function narrowedIndices(a: LazyArray, inline: boolean): { graph: Graph; name: string } | undefined {
  const layer = a.graph.layers.get(a.name);
  if (!(layer instanceof Blockwise) || typeof layer.op === "function" || layer.op.name !== "decodeChunk") return undefined;
  const name = `narrowed-${a.name}`;
  const twin = new Blockwise({
    name,
    outIndex: layer.outIndex,
    numBlocks: layer.numBlocks,
    op: inline ? decodeIndicesInlineOp : decodeIndicesOp,
    args: layer.args,
    annotations: layer.annotations,
  });
  return { graph: withoutTop(a).withLayer(twin, [...(a.graph.dependencies.get(a.name) ?? [])]), name };
}

/**
 * `a`'s graph with its chunks decoded on the main thread, when its top layer is the decode
 * layer of a zarr read (else unchanged): the same layer with the decode op's inline twin, so
 * keys, fetches and plans stay the same.
 */
function decodedInline(a: LazyArray): Graph {
  const layer = a.graph.layers.get(a.name);
  if (!(layer instanceof Blockwise) || typeof layer.op === "function" || layer.op.name !== "decodeChunk" || layer.op.lane !== "cpu") return a.graph;
  const inline = new Blockwise({
    name: layer.name,
    outIndex: layer.outIndex,
    numBlocks: layer.numBlocks,
    op: decodeInlineOp,
    args: layer.args,
    annotations: layer.annotations,
  });
  const layers = new Map(a.graph.layers).set(layer.name, inline);
  return new Graph(layers, a.graph.dependencies);
}

/**
 * The graph of the blocks of `source` at major positions `major` (all when null): block b
 * covers the next run of positions holding about `blockNnz` stored values. Returns the top
 * layer's name and the chunks along the two axes.
 *
 * @example
 * ```ts
 * const { graph, name, chunks } = sparseRead(source, Int32Array.of(0, 1, 2));
 * ```
 */
export function sparseRead(
  source: SparseSource,
  major: Int32Array | null,
  options: SparseReadOptions = {},
  minorMap?: MinorMap,
): { graph: Graph; name: string; chunks: number[][] } {
  const target = options.blockNnz ?? DEFAULT_BLOCK_NNZ;
  if (!(Number.isInteger(target) && target > 0)) throw new RangeError(`Expected \`blockNnz\` to be a positive integer, got \`${String(target)}\``);
  const small = options.smallReadBytes ?? DEFAULT_SMALL_READ_BYTES;
  if (!(typeof small === "number" && small >= 0)) throw new RangeError(`Expected \`smallReadBytes\` to be a non-negative number, got \`${String(small)}\``);
  const [rows, cols] = source.shape;
  const csr = source.format === "csr";
  const minor = csr ? cols : rows;
  const { data, indices, indptr } = source;
  const dataLen = data.chunks[0]![0] || 1;
  const indicesLen = indices.chunks[0]![0] || 1;
  // all positions in order (a minor selection, a full read): cut and laid out from indptr's runs
  const all = major === null;
  const sizes = all ? blockSizesOfAll(indptr, target, [dataLen, indicesLen]) : blockSizesByNnz(indptr, major, target, [dataLen, indicesLen]);
  const dtype = data.dtype as DataType;
  const tasks: Task[] = [];
  const layouts: SparseGatherLayout[] = [];
  const touchedData = new Set<number>();
  const touchedIndices = new Set<number>();
  let at = 0;
  for (const size of sizes) {
    const starts = new Float64Array(size);
    const ends = new Float64Array(size);
    let lo = Infinity;
    let hi = -Infinity;
    if (all) {
      copyRuns(indptr, at, starts, ends);
      // indptr is non-decreasing (checked at open): the block's values are one run
      if (size > 0 && ends[size - 1]! > starts[0]!) {
        lo = starts[0]!;
        hi = ends[size - 1]!;
      }
    } else {
      for (let i = 0; i < size; i++) {
        const a = major[at + i]!;
        starts[i] = Number(indptr[a]);
        ends[i] = Number(indptr[a + 1]);
        if (ends[i]! > starts[i]!) {
          lo = Math.min(lo, starts[i]!);
          hi = Math.max(hi, ends[i]!);
        }
      }
    }
    at += size;
    // the chunks between the block's first and last stored value (a selection in source order
    // touches little in between; an unordered one may span more, read once all the same)
    const chunkRange = (len: number): [number, number] => (hi > lo ? [Math.floor(lo / len), Math.floor((hi - 1) / len) + 1] : [0, 0]);
    const [d0, d1] = chunkRange(dataLen);
    const [i0, i1] = chunkRange(indicesLen);
    const needed = (len: number, c0: number, c1: number): number[] => {
      const out: number[] = [];
      // one run of values overlaps every chunk between its ends
      if (all) for (let c = c0; c < c1; c++) out.push(c);
      else
        for (let c = c0; c < c1; c++) {
          // only chunks some range of the block overlaps
          for (let i = 0; i < size; i++) {
            if (ends[i]! > starts[i]! && starts[i]! < (c + 1) * len && ends[i]! > c * len) {
              out.push(c);
              break;
            }
          }
        }
      return out;
    };
    const dataChunks = needed(dataLen, d0, d1);
    const indicesChunks = needed(indicesLen, i0, i1);
    const layout: SparseGatherLayout = {
      format: source.format,
      minor,
      starts,
      ends,
      dtype,
      path: source.path,
      url: source.url,
      dataChunk: dataLen,
      indicesChunk: indicesLen,
      dataChunks,
      indicesChunks,
      ...(minorMap === undefined ? {} : { minorMap }),
    };
    layouts.push(layout);
    for (const c of dataChunks) touchedData.add(c);
    for (const c of indicesChunks) touchedIndices.add(c);
  }
  const decoded = touchedData.size * dataLen * itemsize(dtype) + touchedIndices.size * indicesLen * itemsize(indices.dtype as DataType);
  const decodeHere = decoded <= small;
  const name = `sparse-read-${tokenize(data.name, indices.name, major, target, decodeHere, minorMap?.targets ?? null, minorMap?.offsets ?? null)}`;
  const minorOut = minorMap?.length ?? minor;
  const chunks = csr ? [sizes, [minorOut]] : [[minorOut], sizes];
  const picking =
    (!decodeHere || pickableInWasm(data, indices) || wideIndices(indices)) &&
    minorMap !== undefined &&
    minorMap.monotonic &&
    minorMap.targets.length === minorMap.length &&
    dataLen === indicesLen &&
    data.chunks[0]!.length === indices.chunks[0]!.length &&
    zarrRead(data) !== undefined &&
    zarrRead(indices) !== undefined;
  if (picking) return { graph: pickedRead(source, layouts, minorMap, name, decodeHere, all), name, chunks };
  // int64 indices decoded to int32 by a layer of this read's own
  const narrowed = wideIndices(indices) ? narrowedIndices(indices, decodeHere) : undefined;
  const indicesName = narrowed?.name ?? indices.name;
  layouts.forEach((layout, b) => {
    const index = csr ? [b, 0] : [0, b];
    const args = [layout, layout.dataChunks.map((c) => ref(data.key([c]))), layout.indicesChunks.map((c) => ref(blockKey(indicesName, [c])))];
    tasks.push(new Task(blockKey(name, index), decodeHere ? gatherInlineOp : gatherOp, args));
  });
  const indicesGraph = narrowed?.graph ?? (decodeHere ? decodedInline(indices) : indices.graph);
  const sources = Graph.merge(decodeHere ? decodedInline(data) : data.graph, indicesGraph);
  // a block gathered on the main thread is reduced there: sending it to a worker would copy its values
  const annotations: Record<string, unknown> = decodeHere ? { inlineBlocks: true } : {};
  // a reduction over the major axis reads chunk pairs, not blocks
  if (minorMap === undefined) annotations["partials"] = pairPartials(source, major, () => Graph.merge(withoutTop(data), withoutTop(indices)), small);
  const graph = sources.withLayer(new MaterializedLayer(name, tasks, annotations), [data.name, indicesName]);
  return { graph, name, chunks };
}
