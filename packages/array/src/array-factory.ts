import type { Graph } from "@zask/graph";
import type { Array } from "./array.js";
import type { Chunks } from "./chunks.js";
import type { DataType } from "./dtype.js";

type ArrayClass = new (graph: Graph, name: string, chunks: Chunks, dtype: DataType) => Array;

let arrayClass: ArrayClass | undefined;

/**
 * Install the {@link Array} class (array.ts does, once, as it loads): the builders that its
 * methods call make arrays through {@link makeArray} and test for them with {@link isArray},
 * so they import `Array` as a type only and array.ts and its method modules do not import
 * each other at run time.
 */
export function installArrayClass(cls: ArrayClass): void {
  arrayClass = cls;
}

/** A new lazy {@link Array} whose top layer `name` of `graph` has blocks of `chunks`. */
export function makeArray(graph: Graph, name: string, chunks: Chunks, dtype: DataType): Array {
  if (arrayClass === undefined) throw new Error("@zask/array: the Array class is not loaded (import the package's index)");
  return new arrayClass(graph, name, chunks, dtype);
}

/** Whether `x` is a lazy {@link Array}. */
export function isArray(x: unknown): x is Array {
  return arrayClass !== undefined && x instanceof arrayClass;
}
