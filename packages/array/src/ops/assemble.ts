// Block-level glue: assembling blocks into one array, reshaping and transposing blocks.
import { BlockAssembler } from "../block-assembler.js";
import { allocate, type DataType, type NDArray } from "../dtype.js";
import { cStrides, copyIndexed } from "./copy-indexed.js";

/**
 * inline op: the whole array from its blocks (`blocks` in row-major block order, `chunks`
 * the per-axis block sizes, `keys` their task keys for errors), in C order. A single block is
 * returned as it is.
 */
export function assemble(blocks: readonly NDArray[], chunks: readonly (readonly number[])[], dtype: DataType, keys?: readonly string[]): NDArray {
  const a = new BlockAssembler(chunks, dtype);
  for (let i = 0; i < blocks.length; i++) a.place(i, keys?.[i] ?? `block ${i}`, blocks[i]!);
  return a.result();
}

/** inline op: the same values with another shape (C order is unchanged, so nothing is copied). */
export function reshapeBlock(block: NDArray, shape: readonly number[]): NDArray {
  return { data: block.data, shape: [...shape], dtype: block.dtype };
}

/** cpu op: the block with its axes permuted (`axes[k]` is the input axis of output axis k). */
export function transposeBlock(block: NDArray, axes: readonly number[]): NDArray {
  const inStrides = cStrides(block.shape);
  const shape = axes.map((a) => block.shape[a]!);
  const out = allocate(block.dtype, block.data.length);
  copyIndexed(
    block.data,
    axes.map((a) => inStrides[a]!),
    [],
    out,
    cStrides(shape),
    [],
    shape,
  );
  return { data: out, shape, dtype: block.dtype };
}

/** cpu op: a block of `shape` filled with `value` (the blocks of `zeros`, `ones`, `full`). */
export function fullBlock(shape: readonly number[], value: number | bigint | string | boolean, dtype: DataType): NDArray {
  const data = allocate(
    dtype,
    shape.reduce((a, b) => a * b, 1),
  );
  const v = dtype === "bool" ? (value ? 1 : 0) : value;
  (data as unknown as { fill(v: unknown): void }).fill(v);
  return { data, shape: [...shape], dtype };
}

/** cpu op: a block of `arange`: `start, start + step, …` (`count` values). */
export function arangeBlock(start: number, step: number, count: number, dtype: DataType): NDArray {
  const data = allocate(dtype, count);
  const big = dtype === "int64" || dtype === "uint64";
  for (let i = 0; i < count; i++) {
    const v = start + i * step;
    (data as unknown as unknown[])[i] = big ? BigInt(v) : v;
  }
  return { data, shape: [count], dtype };
}
