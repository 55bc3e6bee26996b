import { Blockwise } from "./blockwise.js";
import { BlockwiseInput } from "./blockwise-args.js";
import { MissingKeyError } from "./errors.js";
import { FusedBlockwise, type BlockwiseStage } from "./fused-blockwise.js";
import { Graph } from "./graph.js";
import { keyName, type Key } from "./key.js";
import { KeyRouter } from "./key-router.js";
import type { Layer } from "./layer.js";

type BlockwiseLike = Blockwise | FusedBlockwise;

function isBlockwiseLike(layer: Layer | undefined): layer is BlockwiseLike {
  return layer instanceof Blockwise || layer instanceof FusedBlockwise;
}

/**
 * Blockwise fusion (dask's optimize_blockwise): a Blockwise layer whose only dependent layer
 * is another Blockwise layer, that reads it once through a {@link blockwiseInput} lining up
 * one-to-one with its own blocks (a permutation of its output symbols, no broadcasting, no
 * contraction), merges into that dependent as a {@link FusedBlockwise}. Never fuses a layer
 * holding a requested key, and never across a contraction (a reduction's many-to-one step)
 * or a broadcast (which would repeat the producer's work).
 *
 * @example
 * ```ts
 * const g = fuseBlockwise(graph, [blockKey(y.name, [0])]);
 * ```
 */
export function fuseBlockwise(graph: Graph, keys: Iterable<Key>): Graph {
  const router = new KeyRouter(graph.layers);
  const requested = new Set<string>();
  for (const k of keys) {
    const layer = router.layerOf(k);
    if (layer === undefined) throw new MissingKeyError(k);
    requested.add(layer.name);
  }
  const layers = new Map(graph.layers);
  const deps = new Map<string, Set<string>>();
  const dependents = new Map<string, Set<string>>();
  for (const name of layers.keys()) dependents.set(name, new Set());
  for (const [name, d] of graph.dependencies) {
    deps.set(name, new Set(d));
    for (const p of d) dependents.get(p)!.add(name);
  }

  let fusedAny = false;
  for (const name of graph.layerOrder()) {
    const first = layers.get(name);
    if (!isBlockwiseLike(first)) continue;
    let consumer: BlockwiseLike = first;
    for (let changed = true; changed; ) {
      changed = false;
      for (const p of deps.get(name)!) {
        const producer = layers.get(p);
        if (!isBlockwiseLike(producer) || requested.has(p) || dependents.get(p)!.size !== 1) continue;
        const merged = merge(producer, consumer);
        if (merged === undefined) continue;
        layers.delete(p);
        layers.set(name, merged);
        consumer = merged;
        const own = deps.get(name)!;
        own.delete(p);
        for (const q of deps.get(p)!) {
          own.add(q);
          dependents.get(q)!.delete(p);
          dependents.get(q)!.add(name);
        }
        deps.delete(p);
        dependents.delete(p);
        changed = fusedAny = true;
        break;
      }
    }
  }
  if (!fusedAny) return graph;
  const outDeps = new Map<string, Set<string>>();
  for (const name of layers.keys()) outDeps.set(name, deps.get(name) ?? new Set());
  return new Graph(layers, outDeps);
}

function stagesOf(layer: BlockwiseLike): readonly BlockwiseStage[] {
  if (layer instanceof FusedBlockwise) return layer.stages;
  return [{ layer, axes: layer.numBlocks.map((_, i) => i) }];
}

/** `producer` merged into `consumer`, or undefined when their blocks do not line up one to one. */
function merge(producer: BlockwiseLike, consumer: BlockwiseLike): FusedBlockwise | undefined {
  const cStages = stagesOf(consumer);
  let use: { stage: BlockwiseStage; input: BlockwiseInput } | undefined;
  for (const stage of cStages) {
    for (const a of stage.layer.args) {
      if (!(a instanceof BlockwiseInput) || a.name !== producer.name) continue;
      if (use !== undefined) return undefined; // read twice: each producer block would feed two tasks
      use = { stage, input: a };
    }
    if (stage.layer.literalDependencies.some((k) => keyName(k) === producer.name)) return undefined;
  }
  if (use === undefined) return undefined;
  const { stage, input } = use;
  const out = stage.layer;
  if (input.index.length !== out.outIndex.length) return undefined;
  const pAxes: number[] = [];
  for (let k = 0; k < input.index.length; k++) {
    const a = out.outIndex.indexOf(input.index[k]!);
    if (a < 0 || input.numBlocks[k] !== out.numBlocks[a] || producer.numBlocks[k] !== input.numBlocks[k]) return undefined;
    pAxes.push(stage.axes[a]!);
  }
  if (new Set(pAxes).size !== pAxes.length || producer.numBlocks.length !== pAxes.length) return undefined;
  const pStages = stagesOf(producer).map((s) => ({ layer: s.layer, axes: s.axes.map((x) => pAxes[x]!) }));
  return new FusedBlockwise([...pStages, ...cStages], { ...producer.annotations, ...consumer.annotations });
}
