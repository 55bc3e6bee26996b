// The template arguments of a Blockwise layer other than literals.

/**
 * A template argument of `Blockwise`: the block of another collection that lines up.
 *
 * @example
 * ```ts
 * const input: BlockwiseInput = blockwiseInput("x-ab", "ij", [2, 3]);
 * ```
 */
export class BlockwiseInput {
  readonly name: string;
  readonly index: string;
  readonly numBlocks: readonly number[];
  constructor(name: string, index: string, numBlocks: readonly number[]) {
    this.name = name;
    this.index = index;
    this.numBlocks = numBlocks;
  }
}

/** A template argument of `Blockwise` replaced by the output block index. */
export class BlockIndexArg {}

/** A template argument of `Blockwise` computed from the output block index. */
export class PerBlockArg {
  readonly fn: (index: readonly number[]) => unknown;
  /** Whether its values may hold refs (else the graph never calls it to find dependencies). */
  readonly refs: boolean;
  constructor(fn: (index: readonly number[]) => unknown, refs = true) {
    this.fn = fn;
    this.refs = refs;
  }
}

/**
 * A `Blockwise` argument that refers to a block of collection `name`, whose axes carry
 * the index symbols of `index` (one character per axis). A symbol of the output index picks
 * the output block's coordinate, except that an axis with one block broadcasts (always block
 * 0); a symbol not in the output index is a contraction: the argument becomes an array of
 * refs over that symbol's blocks (nested, one level per contracted symbol).
 *
 * @example
 * ```ts
 * blockwiseInput("x-ab", "ij", [2, 3]); // block (i, j) of x-ab
 * ```
 */
export function blockwiseInput(name: string, index: string, numBlocks: readonly number[]): BlockwiseInput {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`Expected \`name\` to be a non-empty string, got \`${String(name)}\` (${typeof name})`);
  }
  if (typeof index !== "string") throw new TypeError(`Expected \`index\` to be a string, got \`${String(index)}\` (${typeof index})`);
  checkNumBlocks(numBlocks, "numBlocks");
  if (index.length !== numBlocks.length) {
    throw new RangeError(`Expected \`index\` to have one symbol per axis (${numBlocks.length}), got \`${index}\``);
  }
  return new BlockwiseInput(name, index, [...numBlocks]);
}

const blockIndexArg = new BlockIndexArg();

/**
 * A `Blockwise` argument that becomes the output block index (`number[]`).
 *
 * @example
 * ```ts
 * new Blockwise({ name: "ones-1", outIndex: "i", numBlocks: [4], op: ones, args: [blockIndex(), 10] });
 * ```
 */
export function blockIndex(): BlockIndexArg {
  return blockIndexArg;
}

/**
 * A `Blockwise` argument computed from the output block index when a task is made
 * (for example the byte range or the selection of that block). Its value may hold {@link Ref}s,
 * which become dependencies of that block's task. With `refs: false` (dask's
 * `produces_tasks=False`) it promises none: cull and fuse then find the block's dependencies
 * without calling `fn`, which runs only when the task is built.
 *
 * @example
 * ```ts
 * perBlock(([i]) => ({ start: i * 100, stop: i * 100 + 100 }), { refs: false });
 * ```
 */
export function perBlock(fn: (index: readonly number[]) => unknown, options: { readonly refs?: boolean } = {}): PerBlockArg {
  if (typeof fn !== "function") throw new TypeError(`Expected \`fn\` to be a function, got \`${String(fn)}\` (${typeof fn})`);
  const refs = options.refs ?? true;
  if (typeof refs !== "boolean") throw new TypeError(`Expected \`refs\` to be a boolean, got \`${String(refs)}\` (${typeof refs})`);
  return new PerBlockArg(fn, refs);
}

/** Check that `numBlocks` is an array of positive integers. */
export function checkNumBlocks(numBlocks: readonly number[], what: string): void {
  if (!Array.isArray(numBlocks) || numBlocks.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new TypeError(`Expected \`${what}\` to be an array of positive integers, got \`${JSON.stringify(numBlocks)}\``);
  }
}
