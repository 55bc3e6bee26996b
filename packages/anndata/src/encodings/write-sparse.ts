// The writer of a sparse matrix element (csr_matrix, csc_matrix). Its `data` and `indices` go
// through part writers block by block: one block for a matrix in memory or a small lazy one, a
// window of blocks at a time for a large lazy one, so that rewriting a matrix larger than
// memory holds one window. `indptr` is written last.
import { SparseArray as LazySparse, DEFAULT_WINDOW_BLOCKS } from "@zask/array";
import { sourceByteOrder } from "../byte-order.js";
import { normalizeCompressor } from "../compressor.js";
import { ElementWriteError } from "../errors.js";
import { dtypeOf, type TypedArray } from "../ndarray.js";
import { SparseArray } from "../sparse-array.js";
import { SparseMatrix, type SparseFormat } from "../sparse-matrix.js";
import { PartWriter, type PartOptions } from "../zarr-part-writer.js";
import { itemsizeOf, type DatasetOptions, type NumericType, type ZarrWriter } from "../zarr-writer.js";

/** A compressed block as the writer takes it: `data` and `indices` may run past the block's last stored value. */
interface Block {
  readonly format: SparseFormat;
  readonly shape: readonly [number, number];
  readonly indptr: TypedArray;
  readonly indices: TypedArray;
  readonly data: TypedArray;
  readonly dtype: string;
}

/** The part writer options of `options` (the element's), checked before anything is written. */
function partOptions(path: string, options: DatasetOptions, format: 2 | 3): Omit<PartOptions, "bigEndian"> {
  // As anndata does, the parts are datasets of the sparse element, not elements of their own:
  // the element's `chunks` and `shards` (one length each, as h5py/zarr take for 1-d datasets)
  // apply to each part.
  const chunks = options.chunks;
  if (chunks !== undefined && (chunks.length !== 1 || !(chunks[0] === null || (Number.isInteger(chunks[0]) && chunks[0]! > 0)))) {
    throw new RangeError(`Expected \`chunks\` of sparse element ${path} to be one positive length for its 1-d parts, got \`${JSON.stringify(chunks)}\``);
  }
  const shards = format === 3 ? options.shards : undefined;
  if (shards !== undefined && shards !== "auto") {
    const chunk = chunks?.[0];
    if (shards.length !== 1 || !(Number.isInteger(shards[0]) && shards[0]! > 0) || typeof chunk !== "number" || shards[0]! % chunk !== 0) {
      throw new RangeError(
        `Expected \`shards\` of sparse element ${path} to be "auto" or one positive multiple of its \`chunks\` length, got shards \`${JSON.stringify(shards)}\` with chunks \`${JSON.stringify(chunks ?? null)}\``,
      );
    }
  }
  return {
    chunk: chunks === undefined ? undefined : chunks[0] === null ? "whole" : chunks[0]!,
    shards: shards === undefined ? undefined : shards === "auto" ? "auto" : shards[0]!,
    compressor: normalizeCompressor(options.compressor),
  };
}

/** The blocks of `value` in major order: streamed for a lazy matrix of more than one window of blocks, else one. */
async function* blocksOf(value: unknown): AsyncGenerator<Block> {
  if (value instanceof SparseMatrix) {
    yield value;
    return;
  }
  if (value instanceof LazySparse) {
    const majorBlocks = value.numBlocks[value.format === "csr" ? 0 : 1]!;
    if (majorBlocks > DEFAULT_WINDOW_BLOCKS) {
      yield* value.computeBlocks() as AsyncGenerator<Block>;
      return;
    }
  }
  yield (await (value as { computeSparse(): Promise<Block> }).computeSparse()) as Block;
}

/**
 * Write the sparse matrix `value` (a {@link SparseMatrix} or a lazy one) at `path`: the group
 * with `attrs` and the matrix's shape, then `data`, `indices` and `indptr`, each of the
 * source's dtype and byte order, chunked (and sharded) as `options` ask.
 */
export async function writeSparse(writer: ZarrWriter, path: string, value: unknown, attrs: Record<string, unknown>, options: DatasetOptions): Promise<void> {
  const base = partOptions(path, options, writer.format);
  const shape = (value as { shape: readonly [number, number] }).shape;
  const format = (value as { format: SparseFormat }).format;
  const major = format === "csr" ? shape[0] : shape[1];
  const child = (name: string): string => (path === "/" || path === "" ? "/" : path + "/") + name;
  await writer.group(path, { ...attrs, shape: [...shape] });
  const part = async (name: string, dtype: NumericType, sample: TypedArray): Promise<PartWriter> => {
    const bigEndian = (await sourceByteOrder(sample)) === ">" && itemsizeOf(dtype) > 1;
    return new PartWriter(writer, child(name), dtype, { ...base, bigEndian });
  };
  // a matrix read from a store knows its stored values; otherwise they are estimated after the first window
  const known = value instanceof SparseArray ? value.nnz : value instanceof SparseMatrix ? value.nnz : undefined;
  let data: PartWriter | undefined;
  let indices: PartWriter | undefined;
  let single: Block | undefined;
  const offsets = new Float64Array(major + 1);
  let blocks = 0;
  let at = 0;
  let nnz = 0;
  for await (const b of blocksOf(value)) {
    const m = b.format === "csr" ? b.shape[0] : b.shape[1];
    const n = Number(b.indptr[m]);
    if (data === undefined || indices === undefined) {
      data = await part("data", b.dtype as NumericType, b.data);
      indices = await part("indices", dtypeOf(b.indices) as NumericType, b.indices);
      if (known !== undefined) {
        data.lengthHint(known);
        indices.lengthHint(known);
      }
    }
    if (at + m > major)
      throw new ElementWriteError(
        child("indptr"),
        writer.url,
        "value",
        `the blocks hold more than the ${major} major positions of shape [${shape.join(", ")}]`,
      );
    for (let i = 1; i <= m; i++) offsets[at + i] = nnz + Number(b.indptr[i]);
    await data.append(b.data.length === n ? b.data : b.data.subarray(0, n));
    await indices.append(b.indices.length === n ? b.indices : b.indices.subarray(0, n));
    single = blocks === 0 ? b : undefined;
    at += m;
    nnz += n;
    if (++blocks === DEFAULT_WINDOW_BLOCKS && known === undefined) {
      // the first window's share of the major axis, extended to all of it
      const estimate = at > 0 ? Math.round((nnz * major) / at) : nnz;
      data.lengthHint(estimate);
      indices.lengthHint(estimate);
    }
  }
  if (data === undefined || indices === undefined || at !== major) {
    throw new ElementWriteError(child("indptr"), writer.url, "value", `the blocks hold ${at} of the ${major} major positions of shape [${shape.join(", ")}]`);
  }
  await data.finish();
  await indices.finish();
  // indptr as the source holds it (a single block's, or a stored matrix's, checked against the
  // blocks); offsets made here are int32 while they fit, as scipy keeps them
  let indptr: TypedArray;
  if (single !== undefined && single.indptr.length === major + 1) indptr = single.indptr;
  else if (value instanceof SparseArray && Number(value.indptr[major]) === nnz) indptr = value.indptr;
  else indptr = nnz < 2 ** 31 ? Int32Array.from(offsets) : BigInt64Array.from(offsets, (v) => BigInt(v));
  const ip = await part("indptr", dtypeOf(indptr) as NumericType, indptr);
  await ip.append(indptr);
  await ip.finish();
}
