import type { Key } from "@zask/graph";

/**
 * The values of a fused node's steps while it runs: a handful of entries, so two parallel
 * arrays searched from the end (a step reads the one just before it most often) are cheaper
 * than a Map built for every node.
 */
export class StepValues {
  readonly #keys: Key[] = [];
  readonly #values: unknown[] = [];

  has(key: Key): boolean {
    return this.#find(key) >= 0;
  }

  get(key: Key): unknown {
    const j = this.#find(key);
    return j >= 0 ? this.#values[j] : undefined;
  }

  set(key: Key, value: unknown): void {
    const j = this.#find(key);
    if (j >= 0) this.#values[j] = value;
    else {
      this.#keys.push(key);
      this.#values.push(value);
    }
  }

  /** Calls `f` on each value but the one of `except`. */
  forEachExcept(except: Key, f: (value: unknown) => void): void {
    const keys = this.#keys;
    for (let j = 0; j < keys.length; j++) if (keys[j] !== except) f(this.#values[j]);
  }

  #find(key: Key): number {
    const keys = this.#keys;
    for (let j = keys.length - 1; j >= 0; j--) if (keys[j] === key) return j;
    return -1;
  }
}
