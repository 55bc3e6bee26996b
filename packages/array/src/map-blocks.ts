import { Blockwise, Graph, blockwiseInput, tokenize, type Op } from "@zask/graph";
import type { Array as LazyArray } from "./array.js";
import { isArray, makeArray } from "./array-factory.js";
import { unifyChunks } from "./broadcast.js";
import { rechunkWith } from "./rechunk.js";
import type { Chunks } from "./chunks.js";
import { isDataType, type DataType } from "./dtype.js";

/** Options of {@link mapBlocks}. */
export interface MapBlocksOptions {
  /** dtype of the result. @default the first array's dtype */
  dtype?: DataType;
  /** Chunks of the result (same number of blocks per axis as the inputs). @default the inputs' (unified) chunks */
  chunks?: Chunks;
  /** Name prefix of the new layer. @default the op's name */
  name?: string;
}

function checkOp(fn: unknown): asserts fn is Op {
  const ok = typeof fn === "function" || (typeof fn === "object" && fn !== null && typeof (fn as { module?: unknown }).module === "string");
  if (!ok) throw new TypeError(`Expected \`op\` to be an op reference (op(module, name)) or a function, got \`${String(fn)}\` (${typeof fn})`);
}

function prefix(fn: Op, name: string | undefined): string {
  const raw = name ?? (typeof fn === "function" ? fn.name || "map-blocks" : fn.name);
  return raw.replace(/[^A-Za-z0-9_.-]/g, "-") || "map-blocks";
}

const functionIds = new WeakMap<object, number>();
let nextFunctionId = 0;

/**
 * What names an op in a layer's token. Two closures with the same source but different
 * captured values must not share a name (tokenize hashes a function's source), so a plain
 * function counts by identity; an op reference by its module and export.
 */
function opToken(fn: Op): unknown {
  if (typeof fn !== "function") return fn;
  let id = functionIds.get(fn);
  if (id === undefined) functionIds.set(fn, (id = nextFunctionId++));
  return `function#${id}`;
}

function checkDtype(dtype: unknown): asserts dtype is DataType {
  if (!isDataType(dtype)) throw new TypeError(`Expected \`dtype\` to be a dtype name, got \`${String(dtype)}\``);
}

/**
 * Apply `op` to corresponding blocks of `arrays` (dask's `map_blocks`): block `index` of the
 * result is `op(...blocks)`, each block an `NDArray` `{data, shape, dtype}`, and `op` must
 * return the result block as an `NDArray`. Arrays broadcast against each other like
 * elementwise operands and are rechunked to common block boundaries first.
 *
 * An op reference (`op(new URL("./my-ops.js", import.meta.url), "normalize")`) runs on the
 * worker pool (blocks are transferred, not copied); a plain function runs inline on the
 * main thread, which suits cheap work and closures (it cannot be sent to a worker).
 *
 * @example
 * ```ts
 * const scaled = mapBlocks(op(new URL("./my-ops.js", import.meta.url), "scale"), [x], { dtype: "float64" });
 * const doubled = mapBlocks((b: NDArray) => ({ ...b, data: (b.data as Float64Array).map((v) => v * 2) }), [x]);
 * ```
 */
export function mapBlocks(fn: Op, arrays: readonly LazyArray[], options: MapBlocksOptions = {}): LazyArray {
  checkOp(fn);
  if (!Array.isArray(arrays) || arrays.length === 0 || !arrays.every((a) => isArray(a))) {
    throw new TypeError(`Expected \`arrays\` to be a non-empty array of Arrays, got \`${String(arrays)}\``);
  }
  const dtype = options.dtype ?? arrays[0]!.dtype;
  checkDtype(dtype);
  const unified = unifyChunks(arrays.map((a) => a.chunks));
  const inputs = arrays.map((a, i) => rechunkWith(a, unified.operands[i]!));
  const ndim = unified.chunks.length;
  const numBlocks = unified.chunks.map((c) => c.length);
  let chunks: number[][] = unified.chunks;
  if (options.chunks !== undefined) {
    const c = options.chunks;
    if (
      !Array.isArray(c) ||
      c.length !== ndim ||
      c.some((sizes, d) => !Array.isArray(sizes) || sizes.length !== numBlocks[d] || sizes.some((s) => !Number.isInteger(s) || s < 0))
    ) {
      throw new RangeError(
        `Expected \`chunks\` to give ${ndim} axes of non-negative block sizes with [${numBlocks.join(", ")}] blocks, got \`${JSON.stringify(c)}\``,
      );
    }
    chunks = c.map((sizes) => [...sizes]);
  }
  const outIndex = symbols(ndim);
  const name = `${prefix(fn, options.name)}-${tokenize(
    opToken(fn),
    inputs.map((a) => a.name),
    dtype,
    chunks,
  )}`;
  const layer = new Blockwise({
    name,
    outIndex,
    numBlocks,
    op: fn,
    args: inputs.map((a) => blockwiseInput(a.name, outIndex.slice(ndim - a.ndim), a.numBlocks)),
  });
  const graph = Graph.merge(...inputs.map((a) => a.graph)).withLayer(layer, [...new Set(inputs.map((a) => a.name))]);
  return makeArray(graph, name, chunks, dtype);
}

function symbols(n: number): string {
  const s = "abcdefghijklmnopqrstuvwxyz";
  if (n > s.length) throw new RangeError(`Expected at most ${s.length} axes, got ${n}`);
  return s.slice(0, n);
}

/** Options of {@link blockwise}. */
export interface BlockwiseOptions {
  /** dtype of the result. */
  dtype: DataType;
  /** New output axes (symbols in `outIndex` that no input has) and their lengths, one block each. */
  newAxes?: Record<string, number>;
  /** Output block sizes along a symbol: a size for every block, or a function of the input block size. */
  adjustChunks?: Record<string, number | ((size: number) => number)>;
  /** Name prefix of the new layer. @default the op's name */
  name?: string;
}

/**
 * Dask's `blockwise` with index notation: `pairs` are `[array, "ij"]` for arrays (one symbol
 * per axis) and `[value, null]` for literals passed as they are. Output block `index` calls
 * `op` with, for each array, the block that lines up with `index` along the symbols of
 * `outIndex`; a symbol absent from `outIndex` is contracted: the op receives the array of
 * blocks along it (nested per contracted symbol). Arrays sharing a symbol are rechunked to
 * common boundaries along it; an axis of length 1 broadcasts. Op references run on the
 * worker pool, plain functions inline (see {@link mapBlocks}).
 *
 * @example
 * ```ts
 * // block-wise matrix product partials: out(i, k) = op([x(i, j) for j], [y(j, k) for j])
 * const z = blockwise(matmulOp, "ik", [[x, "ij"], [y, "jk"]], { dtype: "float64" });
 * ```
 */
export function blockwise(fn: Op, outIndex: string, pairs: readonly (readonly [unknown, string | null])[], options: BlockwiseOptions): LazyArray {
  checkOp(fn);
  if (typeof outIndex !== "string") throw new TypeError(`Expected \`outIndex\` to be a string, got \`${String(outIndex)}\` (${typeof outIndex})`);
  checkDtype(options?.dtype);
  // per symbol: the common boundaries of every array axis carrying it (length-1 axes broadcast)
  const sizes = new Map<string, number[][]>();
  for (const [value, index] of pairs) {
    if (index === null) continue;
    if (!isArray(value)) throw new TypeError(`Expected an Array before index \`${index}\`, got \`${String(value)}\` (${typeof value})`);
    if (index.length !== value.ndim) throw new RangeError(`Expected index \`${index}\` to have one symbol per axis of an array with ${value.ndim} axes`);
    [...index].forEach((s, d) => {
      const list = sizes.get(s) ?? [];
      list.push(value.chunks[d]! as number[]);
      sizes.set(s, list);
    });
  }
  const common = new Map<string, number[]>();
  for (const [s, list] of sizes) common.set(s, unifyChunks(list.map((c) => [c])).chunks[0]!);
  const args: unknown[] = [];
  const inputs: LazyArray[] = [];
  for (const [value, index] of pairs) {
    if (index === null) {
      args.push(value);
      continue;
    }
    const a = value as LazyArray;
    const target = [...index].map((s, d) => (a.shape[d] === 1 && common.get(s)!.reduce((x, y) => x + y, 0) !== 1 ? [1] : common.get(s)!));
    const r = rechunkWith(a, target);
    inputs.push(r);
    args.push(blockwiseInput(r.name, index, r.numBlocks));
  }
  const chunks = [...outIndex].map((s) => {
    const newLen = options.newAxes?.[s];
    if (newLen !== undefined) return [newLen];
    const c = common.get(s);
    if (c === undefined) throw new RangeError(`Expected output symbol \`${s}\` to appear in an input index or in \`newAxes\`, got neither`);
    const adjust = options.adjustChunks?.[s];
    if (adjust === undefined) return [...c];
    return c.map((n) => (typeof adjust === "function" ? adjust(n) : adjust));
  });
  const name = `${prefix(fn, options.name)}-${tokenize(
    opToken(fn),
    outIndex,
    pairs.map(([v, i]) => (isArray(v) ? [v.name, i] : [v, i])),
    options.dtype,
    chunks,
  )}`;
  const layer = new Blockwise({ name, outIndex, numBlocks: chunks.map((c) => c.length), op: fn, args });
  const graph = Graph.merge(...inputs.map((a) => a.graph)).withLayer(layer, [...new Set(inputs.map((a) => a.name))]);
  return makeArray(graph, name, chunks, options.dtype);
}
