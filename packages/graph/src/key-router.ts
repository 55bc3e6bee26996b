import { keyName, type Key } from "./key.js";
import type { Layer } from "./layer.js";
import { MaterializedLayer } from "./materialized-layer.js";

/**
 * Finds the layer that produces a key. Block keys are looked up by their collection's name
 * first (the usual case, O(1) plus the layer's own `has`); keys whose name is not a layer's
 * name are found in an index of the materialized layers' keys, built once on first need.
 */
export class KeyRouter {
  readonly #layers: ReadonlyMap<string, Layer>;
  #index: Map<Key, Layer> | undefined;
  /** The layer of the previous key: keys mostly come in runs of one collection. */
  #last: Layer | undefined;

  constructor(layers: ReadonlyMap<string, Layer>) {
    this.#layers = layers;
  }

  layerOf(key: Key): Layer | undefined {
    if (this.#last !== undefined && this.#last.has(key)) return this.#last;
    const found = this.#find(key);
    if (found !== undefined) this.#last = found;
    return found;
  }

  #find(key: Key): Layer | undefined {
    const byName = this.#layers.get(keyName(key));
    if (byName !== undefined && byName.has(key)) return byName;
    const indexed = (this.#index ??= this.#buildIndex()).get(key);
    if (indexed !== undefined) return indexed;
    // symbolic layers whose keys carry another name: rare, so scanned
    for (const layer of this.#layers.values()) if (layer !== byName && layer.has(key)) return layer;
    return undefined;
  }

  #buildIndex(): Map<Key, Layer> {
    const index = new Map<Key, Layer>();
    for (const layer of this.#layers.values()) {
      if (!(layer instanceof MaterializedLayer)) continue;
      for (const k of layer.keys()) if (keyName(k) !== layer.name) index.set(k, layer);
    }
    return index;
  }
}
