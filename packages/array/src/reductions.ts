import { Blockwise, MaterializedLayer, Task, blockKey, blockwiseInput, op, perBlock, ref, tokenize, type Graph } from "@zask/graph";
import type { Array as LazyArray } from "./array.js";
import { isArray, makeArray } from "./array-factory.js";
import { blockOffsets } from "./chunks.js";
import { astype } from "./elementwise.js";
import { isDataType, itemsize, type DataType } from "./dtype.js";
import { recordBlockBytes } from "./block-bytes.js";
import type { ReduceKind } from "./ops/reduction-kernels.js";
import { kindOf } from "./promote.js";

/** Names of the reductions. */
export type ReductionKind = "sum" | "mean" | "min" | "max" | "var" | "std" | "countNonzero" | "any" | "all" | "argmin" | "argmax";

/** Options of every reduction method (`x.mean({ axis: 0 })`). */
export interface ReductionOptions {
  /** Axis or axes to reduce; all when omitted. Negative counts from the end. */
  axis?: number | readonly number[];
  /** Keep reduced axes with length 1. @default false */
  keepdims?: boolean;
  /**
   * How many blocks each tree-reduction step combines along each reduced axis (so a step
   * over two reduced axes combines up to `splitEvery ** 2` blocks), or per axis as dask's
   * dict form (`{ 0: 8, 1: 2 }`, negative axes allowed, unlisted reduced axes 2). @default 4
   */
  splitEvery?: number | Readonly<Record<number, number>>;
  /** Result dtype of `sum`/`mean`/`var`/`std`, as numpy's `dtype=`. */
  dtype?: DataType;
  /** Delta degrees of freedom for `var`/`std`: the divisor is `n - ddof`. @default 0 */
  ddof?: number;
}

/** What a reduction asks of an array that makes its partial results itself. */
export interface PartialsStep {
  readonly kind: ReduceKind;
  /** The reduced axes, sorted. */
  readonly axes: readonly number[];
  /** The name the partials' layer must have. */
  readonly name: string;
}

/** The first step of a reduction as an array makes it (see PartialsMaker). */
export interface OwnPartials {
  /** The graph with the partials' layer, `PartialsStep.name`. */
  readonly graph: Graph;
  /** The partials' grid over the array's axes: reduced axes free, kept axes as the array's blocks. */
  readonly numBlocks: readonly number[];
  /** The key of the partial at `index` of that grid (the layer may have fewer axes, so that it fuses with its inputs). */
  readonly keyOf: (index: readonly number[]) => string;
  /** The grid index of the layer's block `index`. */
  readonly indexOf: (index: readonly number[]) => readonly number[];
}

/**
 * The layer annotation (`partials`) of an array that can make a reduction's first step
 * without its blocks (a stored sparse matrix: one partial per chunk pair): given the step, its
 * partial results, each of the kept shape the blocks' would have, or `undefined` to reduce the
 * blocks.
 */
export type PartialsMaker = (step: PartialsStep) => OwnPartials | undefined;

const kinds = new Set<ReductionKind>(["sum", "mean", "min", "max", "var", "std", "countNonzero", "any", "all", "argmin", "argmax"]);
const chunkOp = op("@zask/array/ops", "reduceChunk", { lane: "cpu" });
const chunkInlineOp = op("@zask/array/ops", "reduceChunk", { lane: "inline" });
const combineOp = op("@zask/array/ops", "reduceCombine", { lane: "cpu" });
const aggregateOp = op("@zask/array/ops", "reduceAggregate", { lane: "cpu" });

function normalizeAxes(axis: ReductionOptions["axis"], ndim: number, kind: ReductionKind): { axes: number[]; single: number | null } {
  if (axis === undefined || axis === null) return { axes: Array.from({ length: ndim }, (_, i) => i), single: null };
  const list = typeof axis === "number" ? [axis] : axis;
  if (!Array.isArray(list)) throw new TypeError(`Expected \`axis\` to be an integer or an array of integers, got \`${String(axis)}\` (${typeof axis})`);
  if ((kind === "argmin" || kind === "argmax") && typeof axis !== "number") {
    throw new TypeError(`Expected \`axis\` of ${kind} to be one integer or undefined, got \`${JSON.stringify(axis)}\``);
  }
  const axes: number[] = [];
  for (const a of list) {
    if (!Number.isInteger(a)) throw new TypeError(`Expected \`axis\` to be integers, got \`${String(a)}\` (${typeof a})`);
    if (a < -ndim || a >= ndim) throw new RangeError(`Expected \`axis\` within [${-ndim}, ${ndim - 1}], got \`${a}\``);
    const n = a < 0 ? a + ndim : a;
    if (axes.includes(n)) throw new RangeError(`Expected distinct axes, got \`${JSON.stringify(list)}\``);
    axes.push(n);
  }
  axes.sort((a, b) => a - b);
  return { axes, single: typeof axis === "number" ? axes[0]! : null };
}

function resultDtype(kind: ReductionKind, input: DataType, requested: DataType | undefined): DataType {
  const k = kindOf(input);
  switch (kind) {
    case "sum":
      return requested ?? (k === "float" ? input : k === "uint" ? "uint64" : "int64");
    case "mean":
    case "var":
    case "std":
      return requested ?? (k === "float" ? input : "float64");
    case "min":
    case "max":
      return input;
    case "any":
    case "all":
      return "bool";
    default:
      return "int64";
  }
}

function kernelKind(kind: ReductionKind, input: DataType, out: DataType): ReduceKind {
  if (kind !== "sum") return kind;
  return kindOf(out) !== "float" && kindOf(input) !== "float" ? "isum" : "fsum";
}

/**
 * A tree reduction of `x` (dask's): one chunk task per block reducing it over the axes
 * (keeping them with length 1), then combine steps merging up to `splitEvery` partial
 * results along each reduced axis, until one aggregate step per output block makes the
 * result. dtypes follow numpy: `sum` of bool/signed integers gives int64, of unsigned
 * uint64 (exact, wrapping like numpy's); `mean`/`var`/`std` of integers float64; floats keep
 * their dtype but float32 accumulates in float64; `argmin`/`argmax`/`countNonzero` give int64.
 * NaN propagates through sum, mean, var, min and max; argmin/argmax point at the first NaN.
 *
 * @example
 * ```ts
 * reduction(x, "mean", { axis: 0 });            // per-column means
 * reduction(x, "std", { axis: [0, 1], ddof: 1 }); // sample std over both axes
 * reduction(x, "argmax", { axis: -1, keepdims: true });
 * ```
 */
export function reduction(x: LazyArray, kind: ReductionKind, options: ReductionOptions = {}): LazyArray {
  if (!isArray(x)) throw new TypeError(`Expected \`x\` to be an Array, got \`${String(x)}\` (${typeof x})`);
  if (!kinds.has(kind)) throw new RangeError(`Expected a reduction (${[...kinds].join(", ")}), got \`${String(kind)}\``);
  if (x.dtype === "string") throw new TypeError(`Expected a numeric Array for ${kind}, got dtype \`string\``);
  const { keepdims = false, splitEvery = 4, ddof = 0 } = options;
  if (typeof ddof !== "number" || !Number.isFinite(ddof)) throw new TypeError(`Expected \`ddof\` to be a number, got \`${String(ddof)}\` (${typeof ddof})`);
  if (options.dtype !== undefined) {
    if (!isDataType(options.dtype) || options.dtype === "string")
      throw new TypeError(`Expected \`dtype\` to be a numeric dtype name, got \`${String(options.dtype)}\``);
    if (!["sum", "mean", "var", "std"].includes(kind)) throw new TypeError(`Expected no \`dtype\` option for ${kind}, got \`${options.dtype}\``);
  }
  const { axes, single } = normalizeAxes(options.axis, x.ndim, kind);
  const reduced = new Set(axes);
  const split = splitPerAxis(splitEvery, axes, x.ndim);
  const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
  if (count === 0 && ["min", "max", "argmin", "argmax"].includes(kind)) {
    throw new RangeError(`Expected a non-empty reduction for ${kind}, which has no identity, got shape [${x.shape.join(", ")}] over axes [${axes.join(", ")}]`);
  }
  const out = resultDtype(kind, x.dtype, options.dtype);
  // numpy's sum(dtype=<int>) of floats casts every element before adding
  if (kind === "sum" && kindOf(x.dtype) === "float" && kindOf(out) !== "float") x = astype(x, out);
  const kk = kernelKind(kind, x.dtype, out);
  const token = tokenize(kind, x.name, axes, keepdims, split, out, ddof);
  const ndim = x.ndim;
  const outIndex = "abcdefghijklmnopqrstuvwxyz".slice(0, ndim);

  // 1. per-block partial results, or the array's own (see PartialsMaker)
  const chunkName = `${kind}-chunk-${token}`;
  const annotations = x.graph.layers.get(x.name)?.annotations;
  const own = (annotations?.["partials"] as PartialsMaker | undefined)?.({ kind: kk, axes, name: chunkName });
  // a partial result has one element per kept position of its block(s), for the plan's task
  // memory; an array's own var, std, min and max partials also count each element's inputs
  const counted = own !== undefined && (kk === "var" || kk === "std" || kk === "min" || kk === "max");
  const partialBytes = partialItemBytes(kk, x.dtype) + (counted ? 8 : 0);
  const keptChunks = x.chunks.map((c, d) => (reduced.has(d) ? null : c));
  const partial = (index: readonly number[]): number => keptChunks.reduce((n, c, d) => (c === null ? n : n * c[index[d]!]!), partialBytes);
  let graph: Graph;
  let numBlocks: readonly number[];
  let keyOf = (index: readonly number[]): string => blockKey(chunkName, index);
  if (own !== undefined) {
    ({ graph, numBlocks, keyOf } = own);
    recordBlockBytes(graph.layers.get(chunkName), (index) => partial(own.indexOf(index)));
  } else {
    const offsets = x.chunks.map(blockOffsets);
    const args: unknown[] = [kk, blockwiseInput(x.name, outIndex, x.numBlocks), axes];
    if (kk === "argmin" || kk === "argmax") {
      args.push(perBlock((index) => ({ offsets: index.map((b, d) => offsets[d]![b]!), shape: [...x.shape], axis: single }), { refs: false }));
    }
    // blocks their layer marks `inlineBlocks` are made on the main thread (a small sparse read's), so reduce them there
    const kernel = annotations?.["inlineBlocks"] === true ? chunkInlineOp : chunkOp;
    const chunkLayer = new Blockwise({ name: chunkName, outIndex, numBlocks: x.numBlocks, op: kernel, args });
    recordBlockBytes(chunkLayer, partial);
    graph = x.graph.withLayer(chunkLayer, [x.name]);
    numBlocks = x.numBlocks;
  }
  let name = chunkName;

  // 2. combine steps while some reduced axis still has more than its split's blocks
  for (let level = 0; axes.some((a) => numBlocks[a]! > split[a]!); level++) {
    const next = numBlocks.map((n, d) => (reduced.has(d) ? Math.ceil(n / split[d]!) : n));
    const stepName = `${kind}-combine-${level}-${token}`;
    const nodes: Task[] = [];
    for (const index of blockIndices(next)) {
      const group = groupKeys(keyOf, index, numBlocks, reduced, split);
      nodes.push(new Task(blockKey(stepName, index), combineOp, [kk, group.map(ref)]));
    }
    const stepLayer = new MaterializedLayer(stepName, nodes);
    recordBlockBytes(stepLayer, partial);
    graph = graph.withLayer(stepLayer, [name]);
    name = stepName;
    keyOf = (index) => blockKey(stepName, index);
    numBlocks = next;
  }

  // 3. one aggregate per output block, over all remaining partials along the reduced axes
  const finalName = `${kind}-${token}`;
  const outChunks: number[][] = [];
  x.chunks.forEach((sizes, d) => {
    if (!reduced.has(d)) outChunks.push([...sizes]);
    else if (keepdims) outChunks.push([1]);
  });
  const finalBlocks = numBlocks.map((n, d) => (reduced.has(d) ? 1 : n));
  const nodes: Task[] = [];
  for (const index of blockIndices(finalBlocks)) {
    const group = groupKeys(keyOf, index, numBlocks, reduced, null);
    const outIndexOf = keepdims ? index : index.filter((_, d) => !reduced.has(d));
    const shape = outIndexOf.map((b, d) => outChunks[d]![b]!);
    nodes.push(new Task(blockKey(finalName, outIndexOf), aggregateOp, [kk, group.map(ref), { shape, dtype: out, ddof }]));
  }
  graph = graph.withLayer(new MaterializedLayer(finalName, nodes), [name]);
  return makeArray(graph, finalName, outChunks, out);
}

/** Bytes per element of a partial result (`PartialResult`: `data`, and `aux` for var/std/argmin/argmax). */
function partialItemBytes(kind: ReduceKind, input: DataType): number {
  switch (kind) {
    case "var":
    case "std":
      return 16;
    case "min":
    case "max":
      return itemsize(input);
    case "argmin":
    case "argmax":
      return itemsize(input) + 8;
    case "any":
    case "all":
      return 1;
    default:
      return 8;
  }
}

/** Every block index of a grid, in C order. */
function* blockIndices(numBlocks: readonly number[]): Generator<number[]> {
  const total = numBlocks.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(numBlocks.length).fill(0);
  for (let lin = 0; lin < total; lin++) {
    yield [...idx];
    for (let d = numBlocks.length - 1; d >= 0; d--) {
      if (++idx[d]! < numBlocks[d]!) break;
      idx[d] = 0;
    }
  }
}

/** Blocks combined per step along each axis (index = axis), checked. */
function splitPerAxis(splitEvery: ReductionOptions["splitEvery"], axes: readonly number[], ndim: number): number[] {
  const check = (v: unknown, what: string): number => {
    if (!Number.isInteger(v) || (v as number) < 2) throw new RangeError(`Expected ${what} to be an integer >= 2, got \`${String(v)}\``);
    return v as number;
  };
  const out = new Array<number>(ndim).fill(1);
  if (typeof splitEvery === "number" || typeof splitEvery !== "object" || splitEvery === null) {
    const n = check(splitEvery, "`splitEvery`");
    for (const a of axes) out[a] = n;
    return out;
  }
  for (const a of axes) out[a] = 2;
  for (const [k, v] of Object.entries(splitEvery)) {
    const a = Number(k);
    if (!Number.isInteger(a) || a < -ndim || a >= ndim)
      throw new RangeError(`Expected \`splitEvery\` keys to be axes within [${-ndim}, ${ndim - 1}], got \`${k}\``);
    const axis = a < 0 ? a + ndim : a;
    if (axes.includes(axis)) out[axis] = check(v, `\`splitEvery[${k}]\``);
  }
  return out;
}

/** Keys (`keyOf` a block's index) of the blocks that block `index` of the next step combines: `split[d]` per reduced axis d (null: all). */
function groupKeys(
  keyOf: (index: readonly number[]) => string,
  index: readonly number[],
  numBlocks: readonly number[],
  reduced: ReadonlySet<number>,
  split: readonly number[] | null,
): string[] {
  const ranges = index.map((b, d) => {
    if (!reduced.has(d)) return [b];
    const lo = split === null ? 0 : b * split[d]!;
    const hi = Math.min(numBlocks[d]!, split === null ? numBlocks[d]! : lo + split[d]!);
    return Array.from({ length: hi - lo }, (_, i) => lo + i);
  });
  let keys: number[][] = [[]];
  for (const r of ranges) keys = keys.flatMap((k) => r.map((v) => [...k, v]));
  return keys.map(keyOf);
}
