import { Blockwise, type BlockSet } from "./blockwise.js";
import { MissingKeyError } from "./errors.js";
import { FusedBlockwise } from "./fused-blockwise.js";
import { Graph } from "./graph.js";
import { blockKey, type Key } from "./key.js";
import { KeyRouter } from "./key-router.js";
import type { Layer } from "./layer.js";
import { sameNumbers, unravel } from "./blockwise-template.js";

type BlockwiseLike = Blockwise | FusedBlockwise;

/** What a layer has been asked for so far. */
interface Request {
  /** Blockwise-like layers: flags over the block grid. */
  bits?: Uint8Array;
  /** Other layers: keys. */
  keys?: Key[];
  /** Asked for more since the last cull of this layer. */
  dirty: boolean;
}

/**
 * The part of `graph` needed to compute `keys`: exactly the requested keys and their
 * ancestors (dask's cull). Works layer by layer, dependents before dependencies, so a
 * Blockwise layer is restricted to the blocks that are needed without generating the others
 * (between Blockwise layers the needed blocks travel as flags, not as key strings); layers
 * that nothing needs are dropped, and each kept layer's dependencies become the layers its
 * kept tasks actually read. Throws {@link MissingKeyError} for a key (requested or
 * referenced) that no layer produces.
 *
 * @example
 * ```ts
 * const small = cull(x.graph, [blockKey(x.name, [0, 0])]);
 * small.stats(); // { tasks: 2, layers: 2 } for a load + one elementwise op
 * ```
 */
export function cull(graph: Graph, keys: Iterable<Key>): Graph {
  const router = new KeyRouter(graph.layers);
  const requests = new Map<string, Request>();
  const culled = new Map<string, Layer>();
  const reads = new Map<string, Set<string>>();

  const request = (layer: Layer): Request => {
    let r = requests.get(layer.name);
    if (r === undefined) requests.set(layer.name, (r = { dirty: false }));
    return r;
  };
  const askKey = (key: Key, from: string | undefined): string => {
    const layer = router.layerOf(key);
    if (layer === undefined) throw new MissingKeyError(key, from);
    const done = culled.get(layer.name);
    if (done !== undefined && done.has(key)) return layer.name;
    const r = request(layer);
    if (isBlockwiseLike(layer)) {
      // layer.has(key) held, so the flag is within its grid and kept blocks
      r.bits ??= new Uint8Array(layer.linearSize);
      const lin = layer.linearIndexOf(key);
      if (r.bits[lin] === 0) r.bits[lin] = 1;
      else return layer.name;
    } else {
      (r.keys ??= []).push(key);
    }
    r.dirty = true;
    return layer.name;
  };
  const askBlocks = (name: string, set: BlockSet, from: string): string | undefined => {
    const layer = graph.layers.get(name);
    if (isBlockwiseLike(layer) && !layer.isCulled && sameNumbers(layer.numBlocks, set.numBlocks)) {
      const r = request(layer);
      const bits = (r.bits ??= new Uint8Array(layer.linearSize));
      const src = set.bits;
      let more = false;
      for (let i = 0; i < src.length; i++) {
        if (src[i] === 1 && bits[i] === 0) {
          bits[i] = 1;
          more = true;
        }
      }
      if (more) r.dirty = true;
      return name;
    }
    // not a Blockwise of that grid: route each block's key
    let target: string | undefined;
    const idx: number[] = [];
    for (let lin = 0; lin < set.bits.length; lin++) {
      if (set.bits[lin] === 1) target = askKey(blockKey(name, unravel(lin, set.numBlocks, idx)), from);
    }
    return target;
  };

  for (const k of keys) askKey(k, undefined);

  // Dependents first, so a layer has every request before it is culled. A request that
  // arrives later (a task reading a layer it does not declare) culls that layer again.
  const order = graph.layerOrder().reverse();
  for (let again = true; again; ) {
    again = false;
    for (const name of order) {
      const r = requests.get(name);
      if (r === undefined || !r.dirty) continue;
      r.dirty = false;
      again = true;
      const layer = graph.layers.get(name)!;
      const read = reads.get(name) ?? new Set<string>();
      reads.set(name, read);
      let dependencies: Iterable<Key>;
      if (isBlockwiseLike(layer)) {
        const res = layer.cullBlocks(r.bits!);
        culled.set(name, res.layer);
        dependencies = res.dependencies;
        for (const [input, set] of res.blocks) {
          const target = askBlocks(input, set, name);
          if (target !== undefined) read.add(target);
        }
      } else {
        const res = layer.cull(r.keys!);
        culled.set(name, res.layer);
        dependencies = res.dependencies;
      }
      for (const d of dependencies) read.add(askKey(d, name));
    }
  }

  const layers = new Map<string, Layer>();
  const deps = new Map<string, Set<string>>();
  for (const name of graph.layers.keys()) {
    const layer = culled.get(name);
    if (layer === undefined) continue;
    layers.set(name, layer);
    const read = new Set<string>();
    for (const r of reads.get(name)!) if (r !== name && culled.has(r)) read.add(r);
    deps.set(name, read);
  }
  return new Graph(layers, deps);
}

function isBlockwiseLike(layer: Layer | undefined): layer is BlockwiseLike {
  return layer instanceof Blockwise || layer instanceof FusedBlockwise;
}
