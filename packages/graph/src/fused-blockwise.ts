import type { BlockSet, Blockwise } from "./blockwise.js";
import { FusionError } from "./errors.js";
import { blockKey, keyName, type Key } from "./key.js";
import type { CullResult, Layer, MaterializedLists } from "./layer.js";
import { Fused, findDependencies, type GraphNode, type FusedSteps, type Op, type Task } from "./spec.js";
import { unravel } from "./blockwise-template.js";

/**
 * One Blockwise of a {@link FusedBlockwise}, and how its block grid lines up with the output's.
 *
 * @example
 * ```ts
 * const stage: BlockwiseStage = { layer: transposeLayer, axes: [1, 0] }; // its axis 0 follows output axis 1
 * ```
 */
export interface BlockwiseStage {
  readonly layer: Blockwise;
  /** For each axis of `layer`, the output axis it follows. */
  readonly axes: readonly number[];
}

/**
 * Adjacent {@link Blockwise} layers merged into one symbolic layer by `fuse` (dask's
 * optimize_blockwise): output block `index` materializes into one {@link Fused} node whose
 * steps are the stages' tasks for the blocks that line up with `index`, producers first. The
 * output keys, and culling, are those of the last stage.
 *
 * @example
 * ```ts
 * const fused = new FusedBlockwise([
 *   { layer: load, axes: [0] },
 *   { layer: decode, axes: [0] },
 * ]);
 * fused.materialize().get(blockKey(decode.name, [0])); // Fused with steps [load 0, decode 0]
 * ```
 */
export class FusedBlockwise implements Layer, FusedSteps {
  readonly name: string;
  readonly stages: readonly BlockwiseStage[];
  readonly annotations: Readonly<Record<string, unknown>>;
  /** The stages' ops, in order: the ops of every fused node's steps. */
  readonly stepOps: readonly Op[];
  /** Names of the stages other than the last: keys that exist only inside the fused nodes. */
  readonly #internal: ReadonlySet<string>;
  readonly #out: Blockwise;
  /** Per stage: 1 when all its dependencies are earlier stages' blocks. */
  readonly #noExternal: Uint8Array;
  /** Whether no stage reads outside the layer (then no block has external dependencies). */
  readonly #allInternal: boolean;
  /** What {@link stepArgs} needs, made on first use; null when the steps must be built instead. */
  #program: StepProgram | null | undefined;

  constructor(stages: readonly BlockwiseStage[], annotations?: Record<string, unknown>) {
    if (stages.length === 0) throw new RangeError("Expected at least one stage, got 0");
    const out = stages[stages.length - 1]!;
    const nd = out.layer.numBlocks.length;
    for (const s of stages) {
      if (s.axes.length !== s.layer.numBlocks.length || s.axes.some((a, i) => a < 0 || a >= nd || s.layer.numBlocks[i] !== out.layer.numBlocks[a])) {
        throw new RangeError(`Expected stage \`${s.layer.name}\` to line up with the output's block grid, got axes ${JSON.stringify(s.axes)}`);
      }
    }
    this.#out = out.layer;
    this.name = out.layer.name;
    this.stages = stages;
    this.annotations = annotations ?? out.layer.annotations;
    this.#internal = new Set(stages.slice(0, -1).map((s) => s.layer.name));
    this.stepOps = Object.freeze(stages.map((s) => s.layer.op));
    this.#noExternal = Uint8Array.from(stages, (s) => (s.layer.readsOnly(this.#internal) ? 1 : 0));
    this.#allInternal = this.#noExternal.every((x) => x === 1);
  }

  /** The output stage's index symbols. */
  get outIndex(): string {
    return this.#out.outIndex;
  }

  /** Output blocks per axis. */
  get numBlocks(): readonly number[] {
    return this.#out.numBlocks;
  }

  get size(): number {
    return this.#out.size;
  }

  /** Blocks in the full output grid, culled or not. */
  get linearSize(): number {
    return this.#out.linearSize;
  }

  /** Whether a cull dropped some output blocks. */
  get isCulled(): boolean {
    return this.#out.isCulled;
  }

  /** See {@link Blockwise.linearIndexOf}. */
  linearIndexOf(key: Key): number {
    return this.#out.linearIndexOf(key);
  }

  has(key: Key): boolean {
    return this.#out.has(key);
  }

  keys(): Iterable<Key> {
    return this.#out.keys();
  }

  /** Names of the layers fused away into this one (every stage but the last). */
  get internalNames(): ReadonlySet<string> {
    return this.#internal;
  }

  cull(keys: Iterable<Key>): CullResult {
    const wanted = new Uint8Array(this.#out.linearSize);
    for (const k of keys) {
      const lin = this.#out.linearIndexOf(k);
      if (lin >= 0) wanted[lin] = 1;
    }
    const { layer, dependencies, blocks } = this.cullBlocks(wanted);
    const idx: number[] = [];
    for (const [name, { numBlocks, bits }] of blocks) {
      for (let lin = 0; lin < bits.length; lin++) {
        if (bits[lin] === 1) dependencies.add(blockKey(name, unravel(lin, numBlocks, idx)));
      }
    }
    return { layer, dependencies };
  }

  /** {@link Blockwise.cullBlocks} for the fused layer: only blocks and keys outside it come back. */
  cullBlocks(wanted: Uint8Array): { layer: FusedBlockwise; dependencies: Set<Key>; blocks: Map<string, BlockSet> } {
    const outStage = this.stages[this.stages.length - 1]!;
    const res = this.#out.cullBlocks(wanted);
    const culled = res.layer === this.#out ? this : this.#withOutput(res.layer);
    const flags = culled.#out.isCulled ? keptFlags(culled.#out) : wanted;
    const dependencies = new Set<Key>();
    const blocks = new Map<string, BlockSet>();
    const collect = (r: { dependencies: Set<Key>; blocks: Map<string, BlockSet> }): void => {
      for (const d of r.dependencies) if (!this.#internal.has(keyName(d))) dependencies.add(d);
      for (const [name, set] of r.blocks) {
        if (this.#internal.has(name)) continue;
        const prev = blocks.get(name);
        if (prev === undefined) blocks.set(name, set);
        else if (prev.bits.length === set.bits.length) for (let i = 0; i < set.bits.length; i++) prev.bits[i]! |= set.bits[i]!;
        else throw new RangeError(`Expected one block grid for \`${name}\`, got ${JSON.stringify(prev.numBlocks)} and ${JSON.stringify(set.numBlocks)}`);
      }
    };
    for (const st of this.stages) {
      if (st === outStage) {
        collect(res);
        continue;
      }
      collect(st.layer.cullBlocks(permuteFlags(flags, this.numBlocks, st.axes, st.layer.numBlocks)));
    }
    return { layer: culled, dependencies, blocks };
  }

  /** The fused node of output block `index` (its steps built at once). */
  node(index: readonly number[]): Fused {
    const lin = this.#out.linearIndexOf(blockKey(this.name, index));
    if (lin < 0 || !this.#out.has(blockKey(this.name, index))) throw new RangeError(`Expected a kept block, got \`${JSON.stringify(index)}\``);
    return new Fused(blockKey(this.name, index), this.steps(lin), this.#externalDependencies(index));
  }

  /**
   * One {@link Fused} node per kept output block. Its dependencies are computed here; its
   * steps are built when first read (see {@link Fused}), by {@link steps}.
   */
  materialize(): Map<Key, GraphNode> {
    const out = new Map<Key, GraphNode>();
    this.materializeInto(out);
    return out;
  }

  /** {@link materialize} into an existing map. */
  materializeInto(out: Map<Key, GraphNode>): void {
    const { keys, nodes } = this.materializeLists();
    for (let i = 0; i < keys.length; i++) out.set(keys[i]!, nodes[i]!);
  }

  /** {@link materialize} as lists, in its order (see {@link Layer.materializeLists}). */
  materializeLists(): MaterializedLists {
    const idx = new Array<number>(this.numBlocks.length);
    const lins = this.#out.linearIndices();
    const keys = new Array<Key>(lins.length);
    const nodes = new Array<GraphNode>(lins.length);
    for (let i = 0; i < lins.length; i++) {
      const lin = lins[i]!;
      this.#out.unravel(lin, idx);
      const key = this.#out.keyOf(idx);
      keys[i] = key;
      nodes[i] = new Fused(key, this, this.#externalDependencies(idx), lin);
    }
    return { keys, nodes };
  }

  /** The place of block `key` among the kept output blocks, -1 when it is not one. */
  positionOf(key: Key): number {
    return this.#out.positionOf(key);
  }

  /**
   * The steps of the node of output block number `lin` (row-major): each stage's task for the
   * block that lines up, producers first. Throws {@link FusionError} when a step refers to a
   * fused-away block that is not one of its own steps.
   */
  steps(lin: number): readonly Task[] {
    const idx = this.#out.unravel(lin, new Array<number>(this.numBlocks.length));
    const n = this.stages.length;
    const steps = new Array<Task>(n);
    for (let s = 0; s < n; s++) {
      const st = this.stages[s]!;
      const t = st.layer.task(mapIndex(st.axes, idx, new Array<number>(st.axes.length)));
      steps[s] = t;
      if (this.#internal.size === 0) continue;
      for (const d of t.dependencies) {
        // an earlier step first: a cheap compare, where keyName would cut a string per step
        if (!isEarlierStep(steps, s, d) && this.#internal.has(keyName(d))) throw new FusionError(steps[n - 1]?.key ?? t.key, d);
      }
    }
    return steps;
  }

  /**
   * The arguments of step `s` of output block number `lin`, without building the steps (see
   * {@link FusedSteps.stepArgs}): each stage's template, its reads of earlier stages as
   * `StepRef`s; one shared array for a stage whose arguments do not depend on the block. A
   * stage whose reads of earlier stages do not line up axis by axis (or that reads a later one)
   * gives `undefined` for the whole layer: its steps are built and checked instead. Throws
   * {@link FusionError} when a per-block argument refers to a fused-away block.
   */
  stepArgs(lin: number, s: number): readonly unknown[] | undefined {
    const program = (this.#program ??= this.#makeProgram());
    if (program === null) return undefined;
    const constant = program.constant[s];
    if (constant !== undefined) return constant;
    const st = this.stages[s]!;
    const idx = this.#out.unravel(lin, new Array<number>(this.numBlocks.length));
    const args = st.layer.stepArgs(mapIndex(st.axes, idx, new Array<number>(st.axes.length)), program.stepOf[s]!);
    if (st.layer.hasPerBlockArgs && this.#internal.size > 0) {
      for (const d of findDependencies(args)) if (this.#internal.has(keyName(d))) throw new FusionError(blockKey(this.name, idx), d);
    }
    return args;
  }

  #makeProgram(): StepProgram | null {
    const stepOf: ReadonlyMap<string, number>[] = [];
    const constant: (readonly unknown[] | undefined)[] = [];
    const earlier = new Map<string, number>();
    for (let s = 0; s < this.stages.length; s++) {
      const { layer, axes } = this.stages[s]!;
      for (const d of layer.literalDependencies) if (this.#internal.has(keyName(d))) return null;
      for (const name of this.#internal) {
        const sources = layer.inputSources(name);
        if (sources.length === 0) continue;
        const from = earlier.get(name);
        if (from === undefined) return null;
        const fromAxes = this.stages[from]!.axes;
        // block i of the output: this stage reads the producer's block at axes[src[ax]] for each
        // of its axes ax, and the step made it at fromAxes[ax]: the same, or it is not that step
        for (const src of sources) {
          for (let ax = 0; ax < src.length; ax++) if (src[ax]! !== -1 && (src[ax]! < 0 || axes[src[ax]!] !== fromAxes[ax])) return null;
        }
      }
      const steps = new Map(earlier);
      stepOf.push(steps);
      constant.push(layer.constantStepArgs(steps));
      earlier.set(layer.name, s);
    }
    return { stepOf, constant };
  }

  /** Dependencies of the node at `idx` on keys outside it, without building its steps. */
  #externalDependencies(idx: readonly number[]): readonly Key[] {
    if (this.#allInternal) return NO_KEYS;
    let deps: Key[] | undefined;
    const stageIdx: number[] = [];
    for (let s = 0; s < this.stages.length; s++) {
      const st = this.stages[s]!;
      if (this.#noExternal[s] === 1) continue;
      stageIdx.length = st.axes.length;
      for (const d of st.layer.dependenciesOf(mapIndex(st.axes, idx, stageIdx), this.#internal)) {
        if (this.#internal.has(keyName(d))) continue;
        if (deps === undefined) deps = [d];
        else if (!deps.includes(d)) deps.push(d);
      }
    }
    return deps ?? NO_KEYS;
  }

  #withOutput(out: Blockwise): FusedBlockwise {
    const stages = this.stages.slice();
    stages[stages.length - 1] = { layer: out, axes: stages[stages.length - 1]!.axes };
    const culled = new FusedBlockwise(stages, { ...this.annotations });
    // the same templates: a cull keeps blocks, not arguments
    culled.#program = this.#program;
    return culled;
  }
}

const NO_KEYS: readonly Key[] = Object.freeze([]);

/** Per stage of a {@link FusedBlockwise}: the earlier stages by name, and its arguments when they are the same for every block. */
interface StepProgram {
  readonly stepOf: readonly ReadonlyMap<string, number>[];
  readonly constant: readonly (readonly unknown[] | undefined)[];
}

function mapIndex(axes: readonly number[], idx: readonly number[], out: number[]): number[] {
  for (let a = 0; a < axes.length; a++) out[a] = idx[axes[a]!]!;
  return out;
}

function isEarlierStep(steps: readonly Task[], s: number, key: Key): boolean {
  for (let i = 0; i < s; i++) if (steps[i]!.key === key) return true;
  return false;
}

function keptFlags(layer: Blockwise): Uint8Array {
  const flags = new Uint8Array(layer.linearSize);
  for (const lin of layer.linearIndices()) flags[lin] = 1;
  return flags;
}

/** Output-grid flags → flags over a stage's grid, whose axis a follows output axis axes[a]. */
function permuteFlags(flags: Uint8Array, numBlocks: readonly number[], axes: readonly number[], stageBlocks: readonly number[]): Uint8Array {
  if (axes.every((a, i) => a === i)) return flags;
  const out = new Uint8Array(flags.length);
  const idx: number[] = [];
  for (let lin = 0; lin < flags.length; lin++) {
    if (flags[lin] === 0) continue;
    unravel(lin, numBlocks, idx);
    let s = 0;
    for (let a = 0; a < axes.length; a++) s = s * stageBlocks[a]! + idx[axes[a]!]!;
    out[s] = 1;
  }
  return out;
}
