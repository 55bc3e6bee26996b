import { Blockwise, DataNode, Graph, blockKey, op, perBlock, tokenize } from "@zask/graph";
import type { Array } from "./array.js";
import { makeArray } from "./array-factory.js";
import { blockOffsets, normalizeChunks, type Chunks, type ChunksSpec } from "./chunks.js";
import { allocate, isDataType, itemsize, type ArrayData, type DataType } from "./dtype.js";
import { cStrides, copyIndexed } from "./ops/copy-indexed.js";

/** Options of the constructors. */
export interface CreationOptions {
  /** Block sizes. @default blocks of about 128 MiB along the first axis */
  chunks?: ChunksSpec;
  /** @default "float64" (`arange`: "int64" for integer arguments, as numpy on Linux) */
  dtype?: DataType;
}

const AUTO_BYTES = 128 * 2 ** 20;

/** dask's "auto" in its simplest form: whole axes, the first one split into ~128 MiB blocks. */
export function autoChunks(shape: readonly number[], dtype: DataType): Chunks {
  if (shape.length === 0) return [];
  const rowBytes = shape.slice(1).reduce((a, b) => a * b, 1) * Math.max(itemsize(dtype), 8);
  const rows = Math.max(1, Math.floor(AUTO_BYTES / Math.max(rowBytes, 1)));
  return normalizeChunks([Math.min(rows, Math.max(shape[0]!, 1)), ...shape.slice(1).map(() => -1)], shape);
}

function checkShape(shape: readonly number[]): void {
  if (!globalThis.Array.isArray(shape) || shape.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new TypeError(`Expected \`shape\` to be non-negative integers, got \`${JSON.stringify(shape)}\``);
  }
}

function checkDtype(dtype: unknown): DataType {
  if (!isDataType(dtype)) throw new TypeError(`Expected a dtype (float32, int64, bool, …), got \`${String(dtype)}\` (${typeof dtype})`);
  return dtype;
}

function resolveChunks(spec: ChunksSpec | undefined, shape: readonly number[], dtype: DataType): Chunks {
  return spec === undefined ? autoChunks(shape, dtype) : normalizeChunks(spec, shape);
}

const fullBlockOp = op("@zask/array/ops", "fullBlock", { lane: "inline" });
const arangeBlockOp = op("@zask/array/ops", "arangeBlock", { lane: "inline" });

/**
 * An array of `shape` filled with `value`, lazily (each block made when needed).
 *
 * @example
 * ```ts
 * await full([2, 3], 7, { dtype: "int32" }).compute(); // Int32Array [7, 7, 7, 7, 7, 7]
 * ```
 */
export function full(shape: readonly number[], value: number | bigint | boolean | string, options: CreationOptions = {}): Array {
  checkShape(shape);
  const dtype = checkDtype(
    options.dtype ?? (typeof value === "boolean" ? "bool" : typeof value === "bigint" ? "int64" : typeof value === "string" ? "string" : "float64"),
  );
  const chunks = resolveChunks(options.chunks, shape, dtype);
  const v = (dtype === "int64" || dtype === "uint64") && typeof value !== "bigint" ? BigInt(value as number) : value;
  const name = `full-${tokenize(shape, String(v), dtype, chunks)}`;
  const layer = new Blockwise({
    name,
    outIndex: "abcdefghijklmnopqrstuvwxyz".slice(0, shape.length),
    numBlocks: chunks.map((c) => c.length),
    op: fullBlockOp,
    args: [perBlock((index) => index.map((b, k) => chunks[k]![b]!), { refs: false }), v, dtype],
  });
  return makeArray(Graph.fromLayer(layer), name, chunks, dtype);
}

/**
 * An array of zeros.
 *
 * @example
 * ```ts
 * zeros([1000, 1000], { chunks: 100, dtype: "float32" }).numBlocks; // [10, 10]
 * ```
 */
export function zeros(shape: readonly number[], options: CreationOptions = {}): Array {
  return full(shape, options.dtype === "bool" ? false : 0, { dtype: "float64", ...options });
}

/**
 * An array of ones.
 *
 * @example
 * ```ts
 * await ones([3], { dtype: "int8" }).compute(); // Int8Array [1, 1, 1]
 * ```
 */
export function ones(shape: readonly number[], options: CreationOptions = {}): Array {
  return full(shape, options.dtype === "bool" ? true : 1, { dtype: "float64", ...options });
}

/**
 * `0, 1, …, n-1` (numpy's `arange(n)`), or `start, start + step, … < stop`.
 *
 * @example
 * ```ts
 * arange(10, { chunks: 4 }).chunks; // [[4, 4, 2]]
 * arange(10, { start: 2, step: 3, dtype: "float32" }); // 2, 5, 8
 * ```
 */
export function arange(stop: number, options: CreationOptions & { start?: number; step?: number } = {}): Array {
  const start = options.start ?? 0;
  const step = options.step ?? 1;
  for (const [k, v] of [
    ["stop", stop],
    ["start", start],
    ["step", step],
  ] as const) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new TypeError(`Expected \`${k}\` to be a finite number, got \`${String(v)}\` (${typeof v})`);
  }
  if (step === 0) throw new RangeError("Expected `step` to be non-zero, got `0`");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const integral = [start, step, stop].every(Number.isInteger);
  const dtype = checkDtype(options.dtype ?? (integral ? "int64" : "float64"));
  const chunks = resolveChunks(options.chunks, [n], dtype);
  const offsets = blockOffsets(chunks[0]!);
  const name = `arange-${tokenize(start, stop, step, dtype, chunks)}`;
  const layer = new Blockwise({
    name,
    outIndex: "a",
    numBlocks: [chunks[0]!.length],
    op: arangeBlockOp,
    args: [perBlock(([b]) => start + offsets[b!]! * step, { refs: false }), step, perBlock(([b]) => chunks[0]![b!]!, { refs: false }), dtype],
  });
  return makeArray(Graph.fromLayer(layer), name, chunks, dtype);
}

/**
 * A chunked array over values already in memory (C order), split into blocks now.
 *
 * @example
 * ```ts
 * const x = fromTypedArray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], { chunks: [1, 2] });
 * x.numBlocks; // [2, 2]
 * ```
 */
export function fromTypedArray(data: ArrayData, shape: readonly number[], options: { chunks?: ChunksSpec; dtype?: DataType } = {}): Array {
  checkShape(shape);
  const dtype = checkDtype(options.dtype ?? dtypeOf(data));
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new RangeError(`Expected ${n} values for shape [${shape.join(", ")}], got ${data.length}`);
  const chunks = resolveChunks(options.chunks, shape, dtype);
  const name = `array-${tokenize(data, shape, dtype, chunks)}`;
  const strides = cStrides(shape);
  const offsets = chunks.map(blockOffsets);
  const nodes: DataNode[] = [];
  const nb = chunks.map((c) => c.length);
  const total = nb.reduce((a, b) => a * b, 1);
  const idx = new globalThis.Array<number>(nb.length).fill(0);
  for (let t = 0; t < total; t++) {
    const bshape = idx.map((b, k) => chunks[k]![b]!);
    const out = allocate(
      dtype,
      bshape.reduce((a, b) => a * b, 1),
    );
    let base = 0;
    for (let k = 0; k < idx.length; k++) base += offsets[k]![idx[k]!]! * strides[k]!;
    copyIndexed(data, strides, [], out, cStrides(bshape), [], bshape, base, 0);
    nodes.push(new DataNode(blockKey(name, idx), { data: out, shape: bshape, dtype }));
    for (let k = nb.length - 1; k >= 0; k--) {
      if (++idx[k]! < nb[k]!) break;
      idx[k] = 0;
    }
  }
  return makeArray(Graph.fromNodes(name, nodes), name, chunks, dtype);
}

function dtypeOf(data: ArrayData): DataType {
  if (globalThis.Array.isArray(data)) return "string";
  const names: [Function, DataType][] = [
    [Float32Array, "float32"],
    [Float64Array, "float64"],
    [Int8Array, "int8"],
    [Int16Array, "int16"],
    [Int32Array, "int32"],
    [BigInt64Array, "int64"],
    [Uint8Array, "uint8"],
    [Uint16Array, "uint16"],
    [Uint32Array, "uint32"],
    [BigUint64Array, "uint64"],
  ];
  for (const [ctor, name] of names) if (data instanceof (ctor as never)) return name;
  throw new TypeError(`Expected a typed array or string[], got \`${String(data)}\``);
}
