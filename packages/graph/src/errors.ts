/**
 * The base class of every error zask throws on purpose. Each package defines its own
 * subclasses in its `errors.ts`, each with a literal `name` and typed fields.
 *
 * @example
 * ```ts
 * try { await x.compute(); } catch (e) { if (e instanceof ZaskError) console.error(e.name, e.message); }
 * ```
 */
export class ZaskError extends Error {
  override name: string = "ZaskError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A task or layer refers to a key that no layer of the graph produces.
 *
 * @example
 * ```ts
 * cull(graph, ["nope"]); // throws MissingKeyError, e.key === "nope"
 * ```
 */
export class MissingKeyError extends ZaskError {
  override name = "MissingKeyError" as const;
  /** The key that was asked for. */
  readonly key: string;
  /** The key of the task that depends on it, when there is one. */
  readonly dependent: string | undefined;
  constructor(key: string, dependent?: string) {
    super(dependent === undefined ? `Key ${key} is not in the graph` : `Task ${dependent} depends on ${key}, which is not in the graph`);
    this.key = key;
    this.dependent = dependent;
  }
}

/**
 * The graph has a cycle, so no order can run it.
 *
 * @example
 * ```ts
 * order(nodes); // throws CycleError, e.keys: ["a", "b", "a"]
 * ```
 */
export class CycleError extends ZaskError {
  override name = "CycleError" as const;
  /** Keys on the cycle, in order. */
  readonly keys: readonly string[];
  constructor(keys: readonly string[]) {
    super(`The graph has a cycle: ${keys.join(" -> ")}`);
    this.keys = keys;
  }
}

/**
 * A fused step refers to a block of a fused-away layer that is not one of its own steps
 * (a `perBlock` argument returning refs into a collection the layer also reads
 * blockwise); such layers must not be fused.
 *
 * @example
 * ```ts
 * (fusedNodes.get(key) as Fused).steps; // throws FusionError when a step reads a fused-away block
 * ```
 */
export class FusionError extends ZaskError {
  override name = "FusionError" as const;
  /** The fused node's key. */
  readonly key: string;
  /** The key it refers to. */
  readonly dependency: string;
  constructor(key: string, dependency: string) {
    super(`Fused task ${key} refers to ${dependency}, which was fused away into another task`);
    this.key = key;
    this.dependency = dependency;
  }
}
