import { Alias, Graph, MaterializedLayer, Task, blockKey, op, ref, tokenize, type GraphNode } from "@zask/graph";
import type { Array } from "./array.js";
import { isArray, makeArray } from "./array-factory.js";
import { astype } from "./elementwise.js";
import { resultType } from "./promote.js";
import { rechunkWith } from "./rechunk.js";

const reshapeBlockOp = op("@zask/array/ops", "reshapeBlock", { lane: "inline" });

/** Options of {@link concatenate} and {@link stack}. */
export interface JoinOptions {
  /** The axis to join along (negative counts from the end). @default 0 */
  axis?: number;
}

function checkArrays(arrays: readonly Array[], what: string): void {
  if (!globalThis.Array.isArray(arrays) || arrays.length === 0 || arrays.some((a) => !isArray(a))) {
    throw new TypeError(`Expected \`${what}\` to get a non-empty list of Arrays, got \`${String(arrays)}\``);
  }
}

/** The arrays in one dtype (numpy's promotion), strings only with strings. */
function sameDtype(arrays: readonly Array[]): Array[] {
  if (arrays.every((a) => a.dtype === arrays[0]!.dtype)) return [...arrays];
  if (arrays.some((a) => a.dtype === "string")) {
    throw new TypeError(`Expected arrays of one kind, got dtypes ${arrays.map((a) => a.dtype).join(", ")}`);
  }
  const dt = resultType(arrays.map((a) => a.dtype));
  return arrays.map((a) => (a.dtype === dt ? a : astype(a, dt)));
}

/**
 * Join arrays along an existing axis (numpy's `concatenate`). Other axes must have equal
 * lengths; they take the first array's chunks. Blocks are reused as they are (aliases).
 *
 * @example
 * ```ts
 * concatenate([a, b], { axis: 0 }).shape; // [a.shape[0] + b.shape[0], …]
 * ```
 */
export function concatenate(arrays: readonly Array[], options: JoinOptions = {}): Array {
  checkArrays(arrays, "concatenate");
  const nd = arrays[0]!.ndim;
  const axis0 = options.axis ?? 0;
  const axis = axis0 < 0 ? axis0 + nd : axis0;
  if (!Number.isInteger(axis) || axis < 0 || axis >= nd) throw new RangeError(`Expected \`axis\` in [${-nd}, ${nd}), got ${axis0}`);
  for (const a of arrays) {
    if (a.ndim !== nd || a.shape.some((n, k) => k !== axis && n !== arrays[0]!.shape[k])) {
      throw new RangeError(`Expected arrays of shape [${arrays[0]!.shape.map((n, k) => (k === axis ? "*" : n)).join(", ")}], got [${a.shape.join(", ")}]`);
    }
  }
  const first = arrays[0]!;
  const inputs = sameDtype(arrays).map((a) =>
    rechunkWith(
      a,
      a.chunks.map((c, k) => (k === axis ? c : first.chunks[k]!)),
    ),
  );
  const name = `concatenate-${tokenize(
    inputs.map((a) => a.name),
    axis,
  )}`;
  const chunks = first.chunks.map((c, k) => (k === axis ? inputs.flatMap((a) => a.chunks[axis]!) : c));
  const nodes: GraphNode[] = [];
  let offset = 0;
  for (const a of inputs) {
    for (const key of a.keys()) {
      const index = JSON.parse(key).slice(1) as number[];
      const out = index.map((b, k) => (k === axis ? b + offset : b));
      nodes.push(new Alias(blockKey(name, out), key));
    }
    offset += a.numBlocks[axis]!;
  }
  const graph = Graph.merge(...inputs.map((a) => a.graph)).withLayer(
    new MaterializedLayer(name, nodes),
    inputs.map((a) => a.name),
  );
  return makeArray(graph, name, chunks, inputs[0]!.dtype);
}

/**
 * Join arrays of one shape along a new axis (numpy's `stack`).
 *
 * @example
 * ```ts
 * stack([a, b], { axis: 1 }).shape; // [a.shape[0], 2, …]
 * ```
 */
export function stack(arrays: readonly Array[], options: JoinOptions = {}): Array {
  checkArrays(arrays, "stack");
  const nd = arrays[0]!.ndim;
  const axis0 = options.axis ?? 0;
  const axis = axis0 < 0 ? axis0 + nd + 1 : axis0;
  if (!Number.isInteger(axis) || axis < 0 || axis > nd) throw new RangeError(`Expected \`axis\` in [${-nd - 1}, ${nd}], got ${axis0}`);
  for (const a of arrays) {
    if (a.ndim !== nd || a.shape.some((n, k) => n !== arrays[0]!.shape[k])) {
      throw new RangeError(`Expected arrays of shape [${arrays[0]!.shape.join(", ")}], got [${a.shape.join(", ")}]`);
    }
  }
  const first = arrays[0]!;
  const inputs = sameDtype(arrays).map((a) => rechunkWith(a, first.chunks));
  const name = `stack-${tokenize(
    inputs.map((a) => a.name),
    axis,
  )}`;
  const chunks = [...first.chunks.slice(0, axis), inputs.map(() => 1), ...first.chunks.slice(axis)];
  const nodes: GraphNode[] = [];
  inputs.forEach((a, i) => {
    for (const key of a.keys()) {
      const index = JSON.parse(key).slice(1) as number[];
      const out = [...index.slice(0, axis), i, ...index.slice(axis)];
      const shape = out.map((b, k) => chunks[k]![b]!);
      nodes.push(new Task(blockKey(name, out), reshapeBlockOp, [ref(key), shape]));
    }
  });
  const graph = Graph.merge(...inputs.map((a) => a.graph)).withLayer(
    new MaterializedLayer(name, nodes),
    inputs.map((a) => a.name),
  );
  return makeArray(graph, name, chunks, inputs[0]!.dtype);
}
