import type { Blockwise } from "./blockwise.js";
import { FusionError } from "./errors.js";
import { blockKey, keyName, type Key } from "./key.js";
import type { CullResult, Layer } from "./layer.js";
import { Fused, type GraphNode, type Task } from "./spec.js";

/** One Blockwise of a {@link FusedBlockwise}, and how its block grid lines up with the output's. */
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
export class FusedBlockwise implements Layer {
  readonly name: string;
  readonly stages: readonly BlockwiseStage[];
  readonly annotations: Readonly<Record<string, unknown>>;
  /** Names of the stages other than the last: keys that exist only inside the fused nodes. */
  readonly #internal: ReadonlySet<string>;
  readonly #out: Blockwise;

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
    const { layer } = this.#out.cull(keys);
    const culled = layer === this.#out ? this : this.#withOutput(layer as Blockwise);
    const deps = new Set<Key>();
    const idx = new Array<number>(this.numBlocks.length);
    const stageIdx = this.stages.map((s) => new Array<number>(s.axes.length));
    for (const lin of culled.#out.linearIndices()) {
      this.#out.unravel(lin, idx);
      for (let s = 0; s < this.stages.length; s++) {
        const st = this.stages[s]!;
        for (const d of st.layer.dependenciesOf(mapIndex(st.axes, idx, stageIdx[s]!))) if (!this.#internal.has(keyName(d))) deps.add(d);
      }
    }
    return { layer: culled, dependencies: deps };
  }

  /** The fused node of output block `index`. */
  node(index: readonly number[]): Fused {
    if (!this.#out.has(blockKey(this.name, index))) throw new RangeError(`Expected a kept block, got \`${JSON.stringify(index)}\``);
    return this.#node(index, this.stages.map((s) => new Array<number>(s.axes.length)));
  }

  materialize(): Map<Key, GraphNode> {
    const out = new Map<Key, GraphNode>();
    const idx = new Array<number>(this.numBlocks.length);
    const stageIdx = this.stages.map((s) => new Array<number>(s.axes.length));
    for (const lin of this.#out.linearIndices()) {
      this.#out.unravel(lin, idx);
      const node = this.#node(idx, stageIdx);
      out.set(node.key, node);
    }
    return out;
  }

  #node(idx: readonly number[], stageIdx: number[][]): Fused {
    const n = this.stages.length;
    const steps = new Array<Task>(n);
    for (let s = 0; s < n; s++) {
      const st = this.stages[s]!;
      steps[s] = st.layer.task(mapIndex(st.axes, idx, stageIdx[s]!));
    }
    // External dependencies: every step dependency that is not an earlier step.
    let deps: Key[] | undefined;
    for (let s = 0; s < n; s++) {
      const sd = steps[s]!.dependencies;
      for (let i = 0; i < sd.length; i++) {
        const d = sd[i]!;
        if (this.#internal.size > 0 && this.#internal.has(keyName(d))) {
          if (!isEarlierStep(steps, s, d)) throw new FusionError(steps[n - 1]!.key, d);
          continue;
        }
        if (deps === undefined) deps = [d];
        else if (!deps.includes(d)) deps.push(d);
      }
    }
    return new Fused(steps[n - 1]!.key, steps, deps ?? []);
  }

  #withOutput(out: Blockwise): FusedBlockwise {
    const stages = this.stages.slice();
    stages[stages.length - 1] = { layer: out, axes: stages[stages.length - 1]!.axes };
    return new FusedBlockwise(stages, { ...this.annotations });
  }
}

function mapIndex(axes: readonly number[], idx: readonly number[], out: number[]): number[] {
  for (let a = 0; a < axes.length; a++) out[a] = idx[axes[a]!]!;
  return out;
}

function isEarlierStep(steps: readonly Task[], s: number, key: Key): boolean {
  for (let i = 0; i < s; i++) if (steps[i]!.key === key) return true;
  return false;
}
