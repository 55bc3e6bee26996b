import { BlockIndexArg, BlockwiseInput, PerBlockArg, checkNumBlocks } from "./blockwise-args.js";
import {
  EMPTY,
  EMPTY_KEYS,
  EMPTY_NUMBERS,
  INDEX,
  INPUT,
  LITERAL,
  PER_BLOCK,
  addInputKeys,
  assertNoMarkers,
  checkAlignment,
  contractedRefs,
  inputKey,
  inputLinear,
  product,
  sameNumbers,
  unravel,
  type CompiledArg,
} from "./blockwise-template.js";
import { blockKey, flat, type Key } from "./key.js";
import type { CullResult, Layer, MaterializedLists } from "./layer.js";
import { Ref, Task, findDependencies, stepRef, type GraphNode, type Op } from "./spec.js";

/** Options of {@link Blockwise}. */
export interface BlockwiseOptions {
  /** The output collection's name; output keys are `blockKey(name, index)`. */
  readonly name: string;
  /** One symbol (character) per output axis. */
  readonly outIndex: string;
  /** Output blocks per axis. */
  readonly numBlocks: readonly number[];
  /** The function every task calls. */
  readonly op: Op;
  /** Template arguments: {@link blockwiseInput}, {@link blockIndex}, {@link perBlock}, or literals. */
  readonly args: readonly unknown[];
  /** Free-form facts for passes and schedulers. @default {} */
  readonly annotations?: Record<string, unknown>;
}

/** Blocks of one collection, as a 0/1 flag per block of its grid (row-major). */
export interface BlockSet {
  readonly numBlocks: readonly number[];
  readonly bits: Uint8Array;
}

/** What {@link Blockwise.cullBlocks} returns. */
export interface BlockCullResult {
  /** The layer restricted to the wanted blocks (the same layer when all are kept). */
  readonly layer: Blockwise;
  /** Keys read through literal and {@link perBlock} arguments. */
  readonly dependencies: Set<Key>;
  /** Blocks read through {@link blockwiseInput}s, by collection name. */
  readonly blocks: Map<string, BlockSet>;
}

/**
 * A symbolic layer of one task per output block, all from one template (dask's Blockwise):
 * block `index` of the output calls `op` on the template arguments with every
 * {@link blockwiseInput} replaced by a ref to the block that lines up with `index`. Culling
 * and counting never generate the tasks of blocks that are not needed.
 *
 * @example
 * ```ts
 * const add = op("@zask/array/ops", "add");
 * const layer = new Blockwise({
 *   name: "add-9c1d",
 *   outIndex: "ij",
 *   numBlocks: [2, 3],
 *   op: add,
 *   args: [blockwiseInput("x-ab", "ij", [2, 3]), blockwiseInput("y-cd", "ij", [1, 3])],
 * });
 * layer.size; // 6
 * layer.task([1, 2]).dependencies; // ['["x-ab",1,2]', '["y-cd",0,2]']
 * ```
 */
export class Blockwise implements Layer {
  readonly name: string;
  readonly outIndex: string;
  readonly numBlocks: readonly number[];
  readonly op: Op;
  readonly args: readonly unknown[];
  readonly annotations: Readonly<Record<string, unknown>>;
  /** Names of the collections this layer reads through {@link blockwiseInput}. */
  readonly inputNames: readonly string[];
  readonly #compiled: readonly CompiledArg[];
  /** Keys referenced by literal arguments: dependencies of every task. */
  readonly #literalDeps: readonly Key[];
  /** Whether a {@link perBlock} argument may hold refs. */
  readonly #perBlockRefs: boolean;
  readonly #total: number;
  /** Row-major linear indices of the blocks kept by a cull, ascending; undefined: all. */
  readonly #kept: Int32Array | undefined;
  readonly #prefix: string;
  /** `#prefix` and the comma before the first index. */
  readonly #open: string;
  /** Inputs without contraction, when they and literals are all the arguments (no refs elsewhere); else -1. */
  readonly #plainInputs: number;
  /** Some collection is read by two inputs, so a task's refs may repeat. */
  readonly #repeatsInput: boolean;

  /**
   * @param options - the template; see {@link BlockwiseOptions}.
   * @param kept - row-major indices of the blocks a cull kept, ascending (used by `cull`; omit
   *   for all blocks).
   */
  constructor(options: BlockwiseOptions, kept?: Int32Array) {
    const { name, outIndex, numBlocks, op, args } = options;
    if (typeof name !== "string" || name.length === 0 || name.includes('"') || name.includes("\\")) {
      throw new TypeError(`Expected \`name\` to be a non-empty string without quotes or backslashes, got \`${String(name)}\``);
    }
    if (typeof outIndex !== "string") throw new TypeError(`Expected \`outIndex\` to be a string, got \`${String(outIndex)}\` (${typeof outIndex})`);
    checkNumBlocks(numBlocks, "numBlocks");
    if (outIndex.length !== numBlocks.length) {
      throw new RangeError(`Expected \`outIndex\` to have one symbol per axis (${numBlocks.length}), got \`${outIndex}\``);
    }
    if (new Set(outIndex).size !== outIndex.length) throw new RangeError(`Expected \`outIndex\` symbols to be distinct, got \`${outIndex}\``);
    if (typeof op !== "function" && (typeof op !== "object" || op === null)) {
      throw new TypeError(`Expected \`op\` to be an OpRef or a function, got \`${String(op)}\` (${typeof op})`);
    }
    if (!Array.isArray(args)) throw new TypeError(`Expected \`args\` to be an array, got \`${String(args)}\` (${typeof args})`);
    this.name = name;
    this.outIndex = outIndex;
    this.numBlocks = Object.freeze([...numBlocks]);
    this.op = op;
    this.args = args;
    this.annotations = options.annotations ?? {};
    this.#prefix = '["' + name + '"';
    this.#open = flat(this.#prefix + ",");
    let total = 1;
    for (const n of numBlocks) total *= n;
    this.#total = total;
    this.#kept = kept;

    checkAlignment(outIndex, numBlocks, args);
    const compiled: CompiledArg[] = [];
    const literal: unknown[] = [];
    const inputNames = new Set<string>();
    let hasPerBlock = false;
    let hasPerBlockRefs = false;
    for (const a of args) {
      if (a instanceof BlockwiseInput) {
        inputNames.add(a.name);
        const source = new Int32Array(a.index.length);
        const contraction: number[] = [];
        const local: string[] = [];
        for (let ax = 0; ax < a.index.length; ax++) {
          const s = a.index[ax]!;
          const outAxis = outIndex.indexOf(s);
          if (outAxis >= 0) source[ax] = a.numBlocks[ax] === 1 ? -1 : outAxis;
          else {
            if (!local.includes(s)) {
              local.push(s);
              // an input with one block along a contracted symbol contributes one ref (it broadcasts)
              contraction.push(a.numBlocks[ax]!);
            }
            source[ax] = -2 - local.indexOf(s);
          }
        }
        const identity = a.index === outIndex && a.numBlocks.every((n, ax) => n === numBlocks[ax]);
        compiled.push({ kind: INPUT, value: undefined, name: a.name, source, contraction, numBlocks: a.numBlocks, identity });
      } else if (a instanceof BlockIndexArg) {
        compiled.push({ kind: INDEX, value: undefined, name: "", source: EMPTY, contraction: [], numBlocks: [], identity: false });
      } else if (a instanceof PerBlockArg) {
        hasPerBlock = true;
        if (a.refs) hasPerBlockRefs = true;
        compiled.push({ kind: PER_BLOCK, value: a.fn, name: "", source: EMPTY, contraction: [], numBlocks: [], identity: false, refs: a.refs });
      } else {
        assertNoMarkers(a);
        literal.push(a);
        compiled.push({ kind: LITERAL, value: a, name: "", source: EMPTY, contraction: [], numBlocks: [], identity: false });
      }
    }
    this.#compiled = compiled;
    this.#literalDeps = findDependencies(literal);
    this.#perBlockRefs = hasPerBlockRefs;
    this.inputNames = [...inputNames];
    const inputs = compiled.filter((c) => c.kind === INPUT);
    const plain = !hasPerBlock && this.#literalDeps.length === 0 && inputs.every((c) => c.contraction.length === 0);
    this.#plainInputs = plain ? inputs.length : -1;
    this.#repeatsInput = inputNames.size < inputs.length;
  }

  /** Keys that literal arguments refer to: dependencies of every task of this layer. */
  get literalDependencies(): readonly Key[] {
    return this.#literalDeps;
  }

  /** Tasks in this layer (after a cull, only the kept blocks). */
  get size(): number {
    return this.#kept === undefined ? this.#total : this.#kept.length;
  }

  /** Blocks in the full grid (the product of `numBlocks`), culled or not. */
  get linearSize(): number {
    return this.#total;
  }

  /** Whether this layer was culled to fewer blocks than `numBlocks` spans. */
  get isCulled(): boolean {
    return this.#kept !== undefined;
  }

  has(key: Key): boolean {
    const lin = this.linearIndexOf(key);
    return lin >= 0 && this.#keeps(lin);
  }

  *keys(): IterableIterator<Key> {
    const idx = new Array<number>(this.numBlocks.length);
    for (const lin of this.#linearIndices()) {
      this.#unravel(lin, idx);
      yield this.keyOf(idx);
    }
  }

  /**
   * The row-major linear index of the block that `key` names in the full block grid, or -1
   * when `key` is not a block key of this collection (whether or not a cull dropped it).
   */
  linearIndexOf(key: Key): number {
    const p = this.#prefix;
    if (!key.startsWith(p)) return -1;
    const nb = this.numBlocks;
    let pos = p.length;
    let lin = 0;
    for (let ax = 0; ax < nb.length; ax++) {
      if (key.charCodeAt(pos) !== 44) return -1; // ","
      pos++;
      let v = 0;
      const start = pos;
      for (let c = key.charCodeAt(pos); c >= 48 && c <= 57; c = key.charCodeAt(++pos)) v = v * 10 + (c - 48);
      if (pos === start || v >= nb[ax]! || (pos - start > 1 && key.charCodeAt(start) === 48)) return -1;
      lin = lin * nb[ax]! + v;
    }
    return pos === key.length - 1 && key.charCodeAt(pos) === 93 ? lin : -1; // "]"
  }

  /** The task of output block `index` (whether or not a cull kept it). */
  task(index: readonly number[]): Task {
    this.#checkIndex(index);
    return this.#task(index);
  }

  /**
   * The keys that output block `index`'s task depends on, without building its arguments
   * (except those of {@link perBlock}, which are called to find refs they return).
   */
  dependenciesOf(index: readonly number[], skip?: ReadonlySet<string>): Key[] {
    this.#checkIndex(index);
    const out: Key[] = [];
    this.#addDependencies(index, out, skip);
    return out.length > 1 ? [...new Set(out)] : out;
  }

  /**
   * Whether every task of this layer depends only on blocks of the collections in `names`
   * (read through inputs; no literal refs, no {@link perBlock} arguments that may hold refs).
   */
  readsOnly(names: ReadonlySet<string>): boolean {
    if (this.#literalDeps.length > 0 || this.#perBlockRefs) return false;
    return this.#compiled.every((c) => c.kind !== INPUT || names.has(c.name));
  }

  cull(keys: Iterable<Key>): CullResult {
    const wanted = new Uint8Array(this.#total);
    for (const k of keys) {
      const lin = this.linearIndexOf(k);
      if (lin >= 0) wanted[lin] = 1;
    }
    const { layer, dependencies, blocks } = this.cullBlocks(wanted);
    const idx: number[] = [];
    for (const [name, { numBlocks, bits }] of blocks) {
      for (let lin = 0; lin < bits.length; lin++) if (bits[lin] === 1) dependencies.add(blockKey(name, unravel(lin, numBlocks, idx)));
    }
    return { layer, dependencies };
  }

  /**
   * {@link cull} in block form, with no key strings: `wanted` flags the output blocks to keep
   * (row-major over `numBlocks`; blocks a previous cull dropped stay dropped), and the blocks
   * read through inputs come back as flags over each input's grid.
   */
  cullBlocks(wanted: Uint8Array): BlockCullResult {
    if (wanted.length !== this.#total) throw new RangeError(`Expected ${this.#total} block flags, got ${wanted.length}`);
    if (this.#kept !== undefined) {
      const mask = new Uint8Array(this.#total);
      for (const lin of this.#kept) mask[lin] = wanted[lin]!;
      wanted = mask;
    }
    let count = 0;
    for (let lin = 0; lin < wanted.length; lin++) count += wanted[lin]!;
    const dependencies = new Set<Key>(count > 0 ? this.#literalDeps : []);
    const blocks = new Map<string, BlockSet>();
    const idx = new Array<number>(this.numBlocks.length);
    for (const c of this.#compiled) {
      if (c.kind === PER_BLOCK) {
        if (c.refs === false) continue;
        const fn = c.value as PerBlockArg["fn"];
        for (let lin = 0; lin < wanted.length; lin++) {
          if (wanted[lin] === 0) continue;
          for (const d of findDependencies([fn(unravel(lin, this.numBlocks, []))])) dependencies.add(d);
        }
        continue;
      }
      if (c.kind !== INPUT) continue;
      let set = blocks.get(c.name);
      if (set !== undefined && !sameNumbers(set.numBlocks, c.numBlocks)) {
        // the same name declared with two grids: fall back to keys
        for (let lin = 0; lin < wanted.length; lin++) {
          if (wanted[lin] === 0) continue;
          const keys: Key[] = [];
          addInputKeys(c, unravel(lin, this.numBlocks, idx), keys);
          for (const k of keys) dependencies.add(k);
        }
        continue;
      }
      if (set === undefined) blocks.set(c.name, (set = { numBlocks: c.numBlocks, bits: new Uint8Array(product(c.numBlocks)) }));
      const bits = set.bits;
      if (c.identity) {
        for (let lin = 0; lin < wanted.length; lin++) bits[lin]! |= wanted[lin]!;
        continue;
      }
      const at = new Array<number>(c.contraction.length).fill(0);
      const combos = product(c.contraction);
      for (let lin = 0; lin < wanted.length; lin++) {
        if (wanted[lin] === 0) continue;
        unravel(lin, this.numBlocks, idx);
        for (let k = 0; k < combos; k++) {
          unravel(k, c.contraction, at);
          bits[inputLinear(c, idx, at)] = 1;
        }
      }
    }
    if (count === this.size) return { layer: this, dependencies, blocks };
    const kept = new Int32Array(count);
    for (let lin = 0, j = 0; lin < wanted.length; lin++) if (wanted[lin] === 1) kept[j++] = lin;
    return { layer: this.#withKept(kept), dependencies, blocks };
  }

  /** The same layer restricted to the given row-major linear block indices (ascending). */
  withBlocks(kept: Int32Array): Blockwise {
    return this.#withKept(kept);
  }

  /** The kept blocks' row-major linear indices, ascending (all blocks when not culled). */
  linearIndices(): Int32Array {
    if (this.#kept !== undefined) return this.#kept;
    const all = new Int32Array(this.#total);
    for (let i = 0; i < all.length; i++) all[i] = i;
    return all;
  }

  materialize(): Map<Key, GraphNode> {
    const out = new Map<Key, GraphNode>();
    this.materializeInto(out);
    return out;
  }

  materializeInto(out: Map<Key, GraphNode>): void {
    const { keys, nodes } = this.materializeLists();
    for (let i = 0; i < keys.length; i++) out.set(keys[i]!, nodes[i]!);
  }

  materializeLists(): MaterializedLists {
    const idx = new Array<number>(this.numBlocks.length);
    const lins = this.linearIndices();
    const keys = new Array<Key>(lins.length);
    const nodes = new Array<GraphNode>(lins.length);
    for (let i = 0; i < lins.length; i++) {
      this.#unravel(lins[i]!, idx);
      const t = this.#task(idx);
      keys[i] = t.key;
      nodes[i] = t;
    }
    return { keys, nodes };
  }

  /** The place of block `key` among the kept blocks (row-major), -1 when it is not one. */
  positionOf(key: Key): number {
    const lin = this.linearIndexOf(key);
    return lin < 0 ? -1 : this.#rankOf(lin);
  }

  /** Convert a row-major linear block index into `out` (reused to avoid allocation). */
  unravel(lin: number, out: number[]): number[] {
    this.#unravel(lin, out);
    return out;
  }

  #withKept(kept: Int32Array): Blockwise {
    return new Blockwise(
      { name: this.name, outIndex: this.outIndex, numBlocks: this.numBlocks, op: this.op, args: this.args, annotations: this.annotations },
      kept,
    );
  }

  #keeps(lin: number): boolean {
    return this.#rankOf(lin) >= 0;
  }

  /** The place of block `lin` among the kept blocks, -1 when a cull dropped it. */
  #rankOf(lin: number): number {
    const kept = this.#kept;
    if (kept === undefined) return lin;
    let lo = 0;
    let hi = kept.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = kept[mid]!;
      if (v === lin) return mid;
      if (v < lin) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  *#linearIndices(): IterableIterator<number> {
    const kept = this.#kept;
    if (kept === undefined) for (let lin = 0; lin < this.#total; lin++) yield lin;
    else for (let i = 0; i < kept.length; i++) yield kept[i]!;
  }

  #unravel(lin: number, out: number[]): void {
    const nb = this.numBlocks;
    for (let ax = nb.length - 1; ax >= 0; ax--) {
      const n = nb[ax]!;
      out[ax] = lin % n;
      lin = (lin - out[ax]!) / n;
    }
  }

  #checkIndex(index: readonly number[]): void {
    const nb = this.numBlocks;
    let ok = Array.isArray(index) && index.length === nb.length;
    for (let ax = 0; ok && ax < nb.length; ax++) {
      const v = index[ax]!;
      ok = Number.isInteger(v) && v >= 0 && v < nb[ax]!;
    }
    if (!ok) {
      throw new RangeError(`Expected a block index within [${nb.join(", ")}] blocks, got \`${JSON.stringify(index)}\``);
    }
  }

  #task(index: readonly number[]): Task {
    const compiled = this.#compiled;
    const n = compiled.length;
    const args = new Array<unknown>(n);
    const key = this.keyOf(index);
    if (this.#plainInputs >= 0) {
      // the common case, without growing arrays or sets: one ref per input, no literal refs
      const deps = this.#plainInputs > 0 ? new Array<Key>(this.#plainInputs) : EMPTY_KEYS;
      let d = 0;
      for (let a = 0; a < n; a++) {
        const c = compiled[a]!;
        if (c.kind === INPUT) {
          const k = inputKey(c, index, EMPTY_NUMBERS);
          args[a] = new Ref(k);
          (deps as Key[])[d++] = k;
        } else args[a] = c.kind === LITERAL ? c.value : index.slice();
      }
      return new Task(key, this.op, args, this.#repeatsInput && d > 1 ? [...new Set(deps)] : deps);
    }
    let deps: Key[] | undefined = this.#literalDeps.length > 0 ? [...this.#literalDeps] : undefined;
    for (let a = 0; a < n; a++) {
      const c = compiled[a]!;
      switch (c.kind) {
        case LITERAL:
          args[a] = c.value;
          break;
        case INDEX:
          args[a] = index.slice();
          break;
        case PER_BLOCK: {
          const v = (c.value as PerBlockArg["fn"])(index.slice());
          args[a] = v;
          if (c.refs !== false) (deps ??= []).push(...findDependencies([v]));
          break;
        }
        case INPUT: {
          if (c.contraction.length === 0) {
            const k = inputKey(c, index, EMPTY_NUMBERS);
            args[a] = new Ref(k);
            (deps ??= []).push(k);
          } else {
            args[a] = contractedRefs(c, index, (deps ??= []));
          }
          break;
        }
      }
    }
    if (deps === undefined) return new Task(key, this.op, args, EMPTY_KEYS);
    if (deps.length > 1) deps = [...new Set(deps)];
    return new Task(key, this.op, args, deps);
  }

  /**
   * The arguments of block `index`'s task as a step of a fused node: inputs that `steps` names
   * (earlier steps of the node, by layer name) become {@link StepRef}s, which the caller has
   * checked line up; other inputs become {@link Ref}s.
   */
  stepArgs(index: readonly number[], steps: ReadonlyMap<string, number>): unknown[] {
    const compiled = this.#compiled;
    const args = new Array<unknown>(compiled.length);
    for (let a = 0; a < compiled.length; a++) {
      const c = compiled[a]!;
      if (c.kind === LITERAL) args[a] = c.value;
      else if (c.kind === INDEX) args[a] = index.slice();
      else if (c.kind === PER_BLOCK) args[a] = (c.value as PerBlockArg["fn"])(index.slice());
      else {
        const s = steps.get(c.name);
        if (s !== undefined) args[a] = stepRef(s);
        else args[a] = c.contraction.length === 0 ? new Ref(inputKey(c, index, EMPTY_NUMBERS)) : contractedRefs(c, index, []);
      }
    }
    return args;
  }

  /** {@link stepArgs} when they are the same for every block (literals and inputs `steps` names), else undefined. */
  constantStepArgs(steps: ReadonlyMap<string, number>): unknown[] | undefined {
    for (const c of this.#compiled) {
      if (c.kind === INDEX || c.kind === PER_BLOCK || (c.kind === INPUT && !steps.has(c.name))) return undefined;
    }
    return this.stepArgs(EMPTY_NUMBERS, steps);
  }

  /** Where each argument that reads `name` takes that input's block index from (see `CompiledArg.source`). */
  inputSources(name: string): Int32Array[] {
    return this.#compiled.filter((c) => c.kind === INPUT && c.name === name).map((c) => c.source);
  }

  /** Whether a {@link perBlock} argument may put refs in this layer's tasks. */
  get hasPerBlockArgs(): boolean {
    return this.#perBlockRefs;
  }

  /**
   * The key of output block `index` (as `blockKey(this.name, index)`, from a prefix made once:
   * two fewer string pieces per key).
   */
  keyOf(index: readonly number[]): Key {
    if (index.length === 0) return flat(this.#prefix + "]");
    let s = this.#open + index[0]!;
    for (let ax = 1; ax < index.length; ax++) s += "," + index[ax]!;
    return flat(s + "]");
  }

  #addDependencies(index: readonly number[], out: Key[], skip?: ReadonlySet<string>): void {
    for (const k of this.#literalDeps) out.push(k);
    for (const c of this.#compiled) {
      if (c.kind === INPUT) {
        if (skip !== undefined && skip.has(c.name)) continue;
        if (c.contraction.length === 0) out.push(inputKey(c, index, EMPTY_NUMBERS));
        else contractedRefs(c, index, out);
      } else if (c.kind === PER_BLOCK && c.refs !== false) {
        out.push(...findDependencies([(c.value as PerBlockArg["fn"])(index.slice())]));
      }
    }
  }
}
