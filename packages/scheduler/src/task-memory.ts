import { Alias, DataNode, Fused, Task, opName, type GraphNode, type Key } from "@zask/graph";
import { TaskMemoryError } from "./errors.js";
import { sizeOf } from "./size-of.js";

/** One task's projected peak memory (see {@link projectTaskMemory}). */
export interface TaskMemory {
  /** The task's key (for a fused task, the fused node's key). */
  readonly key: Key;
  /** The printable name of the op whose step makes the task's largest value. */
  readonly op: string;
  /** Projected peak bytes. */
  readonly bytes: number;
}

/** What {@link projectTaskMemory} finds for a whole graph. */
export interface MemoryPlan {
  /** Projected peak bytes of every task that runs an op, by key. */
  readonly tasks: ReadonlyMap<Key, number>;
  /** The task with the largest projection (the first of equals in graph order); `undefined` for a graph of data only. */
  readonly largest: TaskMemory | undefined;
  /** Values whose size no layer states (string arrays, layers made outside the array builders): counted as 0 bytes. */
  readonly unsized: number;
}

/** The bytes of the value a (step) key produces, or `undefined` when not known before it runs. */
export type OutputBytes = (key: Key) => number | undefined;

/**
 * Project each task's peak memory before anything runs (cubed's `projected_mem`): the values of
 * its dependencies (held for the whole run) plus the value of every step of a fused task, as if
 * all of a fused chain's intermediates were alive at once (fetched bytes, decoded block,
 * selection); a data node is its value's size and an alias adds nothing. Op scratch space
 * beyond the values the steps return (a reduction's float64 copy of a float32 block) is not
 * counted; sizes come from `outputBytes`, which the array builders derive from chunk shapes and
 * dtypes.
 *
 * @example
 * ```ts
 * const m = projectTaskMemory(fuse(cull(graph, keys), keys).materialize(), (k) => 8 * blockLength(k));
 * m.largest; // { key: '["sum-chunk-…",0]', op: "@zask/array/ops#reduceChunk", bytes: 4096 }
 * ```
 */
export function projectTaskMemory(nodes: ReadonlyMap<Key, GraphNode>, outputBytes: OutputBytes): MemoryPlan {
  const memo = new Map<Key, number>();
  let unsized = 0;
  const sized = (k: Key): number => {
    const b = outputBytes(k);
    if (b === undefined || !Number.isFinite(b)) {
      unsized++;
      return 0;
    }
    return b;
  };
  // the value a node of the graph leaves for its dependents
  const valueOf = (k: Key): number => {
    let b = memo.get(k);
    if (b !== undefined) return b;
    let node = nodes.get(k);
    // an alias's value is its target's (a chain of aliases is followed, a cycle is not)
    for (let hops = 0; node instanceof Alias && hops < 64; hops++) node = nodes.get(node.target);
    if (node instanceof DataNode) b = sizeOf(node.value);
    else if (node === undefined || node instanceof Alias) b = sized(k);
    else b = sized(node.key);
    memo.set(k, b);
    return b;
  };
  const tasks = new Map<Key, number>();
  let largest: TaskMemory | undefined;
  for (const node of nodes.values()) {
    if (!(node instanceof Task) && !(node instanceof Fused)) continue;
    let bytes = 0;
    for (const d of node.dependencies) bytes += valueOf(d);
    let op: string;
    if (node instanceof Task) {
      bytes += valueOf(node.key);
      op = opName(node.op);
    } else {
      let most = -1;
      op = "";
      for (const step of node.stepsOnce()) {
        const b = step.key === node.key ? valueOf(step.key) : sized(step.key);
        bytes += b;
        if (b > most) {
          most = b;
          op = opName(step.op);
        }
      }
    }
    tasks.set(node.key, bytes);
    if (largest === undefined || bytes > largest.bytes) largest = { key: node.key, op, bytes };
  }
  return { tasks, largest, unsized };
}

/**
 * Throw a {@link TaskMemoryError} when the largest task of `memory` needs more than `limit`
 * bytes (cubed's `allowed_mem`). Throws RangeError when `limit` is not a positive number.
 *
 * @example
 * ```ts
 * checkTaskMemory(projectTaskMemory(nodes, bytesOf), 256 * 2 ** 20);
 * ```
 */
export function checkTaskMemory(memory: MemoryPlan, limit: number): void {
  if (typeof limit !== "number" || !(limit > 0)) {
    throw new RangeError(`Expected \`maxTaskMemory\` to be a positive number of bytes, got \`${String(limit)}\` (${typeof limit})`);
  }
  const top = memory.largest;
  if (top !== undefined && top.bytes > limit) throw new TaskMemoryError(top.key, top.op, top.bytes, limit);
}
