// Graph builders over sparse blocks: minor-axis selection, zero-preserving elementwise ops,
// densification, and the final concatenation of a compute.
import { Blockwise, Graph, MaterializedLayer, Task, blockwiseInput, op, ref, tokenize } from "@zask/graph";
import type { Array as LazyArray } from "../array.js";
import type { Chunks } from "../chunks.js";
import { itemsize, type DataType } from "../dtype.js";
import type { SparseFormat } from "../ops/sparse-block.js";
import type { SparseMapOp } from "../ops/sparse-elementwise.js";
import type { MinorMap } from "../ops/sparse-select.js";
import type { PickedBlocks } from "./sparse-read.js";

const takeMinorOp = op("@zask/array/ops", "sparseTakeMinor", { lane: "cpu" });
const mapOp = op("@zask/array/ops", "sparseMap", { lane: "cpu" });
const toDenseOp = op("@zask/array/ops", "sparseToDense", { lane: "cpu" });
const concatOp = op("@zask/array/ops", "sparseConcat", { lane: "inline" });
const densePickedOp = op("@zask/array/ops", "sparseDensePicked", { lane: "inline" });

/** What the builders need of a lazy sparse array. */
export interface SparseParts {
  readonly graph: Graph;
  readonly name: string;
  readonly chunks: Chunks;
  readonly dtype: DataType;
  readonly format: SparseFormat;
}

/** The layer annotation of a layer that turns sparse blocks dense: bytes of each dense block. */
export interface DensifyInfo {
  bytes(index: readonly number[]): number;
}

function blockwiseOne(
  x: SparseParts,
  name: string,
  kernel: ReturnType<typeof op>,
  head: unknown[],
  tail: unknown[],
  extra: LazyArray | undefined,
  annotations: Record<string, unknown> = {},
): Graph {
  const numBlocks = x.chunks.map((c) => c.length);
  const args: unknown[] = [...head, blockwiseInput(x.name, "ab", numBlocks)];
  if (extra !== undefined) args.push(blockwiseInput(extra.name, "ab", extra.numBlocks));
  args.push(...tail);
  const layer = new Blockwise({ name, outIndex: "ab", numBlocks, op: kernel, args, annotations });
  const graph = extra === undefined ? x.graph : Graph.merge(x.graph, extra.graph);
  return graph.withLayer(layer, extra === undefined ? [x.name] : [x.name, extra.name]);
}

/** `x` restricted to the minor positions of `map` (columns of CSR), block by block. */
export function sparseTakeMinorLayer(x: SparseParts, map: MinorMap, token: unknown): SparseParts {
  const name = `sparse-take-${tokenize(x.name, token)}`;
  const minorAxis = x.format === "csr" ? 1 : 0;
  const chunks = x.chunks.map((c, d) => (d === minorAxis ? [map.length] : [...c]));
  return { graph: blockwiseOne(x, name, takeMinorOp, [], [map], undefined), name, chunks, dtype: x.dtype, format: x.format };
}

/**
 * `name` over the stored values of every block of `x`, into `out`: a scalar operand, or a
 * vector array `vector` (already chunked to line up with `x`'s blocks) along `vectorAxis`.
 */
export function sparseMapLayer(
  x: SparseParts,
  name: SparseMapOp,
  out: DataType,
  operand?: number | bigint,
  vector?: { array: LazyArray; axis: 0 | 1 },
): SparseParts {
  const layerName = `sparse-${name}-${tokenize(x.name, name, out, operand ?? null, vector?.array.name ?? null)}`;
  const tail = vector === undefined ? (operand === undefined ? [] : [operand]) : [vector.axis];
  const graph = blockwiseOne(x, layerName, mapOp, [name, out], tail, vector?.array);
  return { graph, name: layerName, chunks: x.chunks, dtype: out, format: x.format };
}

/** The dense blocks of `x` (same chunks), annotated with the dense bytes they make. */
export function sparseToDenseLayer(x: SparseParts): { graph: Graph; name: string } {
  const name = `sparse-todense-${tokenize(x.name)}`;
  const size = itemsize(x.dtype);
  const densify: DensifyInfo = { bytes: (index) => index.reduce((n, b, d) => n * x.chunks[d]![b]!, size) };
  return { graph: blockwiseOne(x, name, toDenseOp, [], [], undefined, { densify }), name };
}

/**
 * `x`'s graph plus one task joining its blocks (the sparse matrix, or with `dense` the dense
 * array). The dense answer of a small picked read is written from its picks directly: the
 * blocks would only be gathered to be scattered again.
 */
export function sparseFinal(x: SparseParts, keys: readonly string[], shape: readonly [number, number], dense: boolean): { graph: Graph; key: string } {
  const key = `sparse-final-${dense ? "dense" : "sparse"}-${x.name}`;
  const picked = x.graph.layers.get(x.name)?.annotations["pickedBlocks"] as PickedBlocks | undefined;
  if (dense && picked !== undefined && picked.blocks.length === keys.length) {
    const args = [picked.blocks.map(([layout, picks]) => [layout, picks.map(ref)]), x.format, [...shape], x.dtype];
    const task = new Task(key, densePickedOp, args, [...new Set(picked.blocks.flatMap(([, picks]) => picks))]);
    return { graph: x.graph.withLayer(new MaterializedLayer(key, [task]), [picked.pickLayer]), key };
  }
  const task = new Task(key, concatOp, [keys.map(ref), x.format, [...shape], x.dtype, dense]);
  return { graph: x.graph.withLayer(new MaterializedLayer(key, [task]), [x.name]), key };
}
