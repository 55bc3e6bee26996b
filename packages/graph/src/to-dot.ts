import { Graph } from "./graph.js";
import type { Key } from "./key.js";
import { Alias, DataNode, Fused, Task, opName, type GraphNode } from "./spec.js";

/**
 * Options of {@link toDot}.
 *
 * @example
 * ```ts
 * toDot(graph, { maxNodes: 50_000, clusters: false });
 * ```
 */
export interface ToDotOptions {
  /** Refuse graphs with more nodes than this (Graphviz will not lay them out usefully). @default 10000 */
  readonly maxNodes?: number;
  /** Group each layer's nodes in a labeled cluster. @default true */
  readonly clusters?: boolean;
}

/**
 * The graph in Graphviz DOT (what dask's visualize draws): tasks as ellipses labeled by op,
 * fused tasks as double octagons listing their steps' ops, data as boxes, aliases dashed;
 * edges run from a dependency to its reader. Layers become clusters.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * writeFileSync("graph.dot", toDot(x.graph)); // then: dot -Tsvg graph.dot > graph.svg
 * ```
 */
export function toDot(graph: Graph | ReadonlyMap<Key, GraphNode>, options: ToDotOptions = {}): string {
  const maxNodes = options.maxNodes ?? 10_000;
  const groups: [string | undefined, ReadonlyMap<Key, GraphNode>][] =
    graph instanceof Graph ? [...graph.layers].map(([name, layer]) => [name, layer.materialize()]) : [[undefined, graph]];
  let total = 0;
  for (const [, m] of groups) total += m.size;
  if (total > maxNodes) throw new RangeError(`Expected at most ${maxNodes} nodes (\`maxNodes\`), got ${total}`);

  const ids = new Map<Key, string>();
  const id = (k: Key): string => {
    let v = ids.get(k);
    if (v === undefined) ids.set(k, (v = "n" + ids.size));
    return v;
  };
  const lines = ["digraph zask {", "  rankdir=BT;", '  node [fontname="Helvetica", fontsize=10];'];
  const clusters = options.clusters ?? true;
  groups.forEach(([name, m], g) => {
    const indent = clusters && name !== undefined ? "    " : "  ";
    if (clusters && name !== undefined) lines.push(`  subgraph cluster_${g} {`, `    label=${quote(name)};`, "    style=rounded; color=gray;");
    for (const node of m.values()) lines.push(indent + id(node.key) + " [" + attributes(node) + "];");
    if (clusters && name !== undefined) lines.push("  }");
  });
  for (const [, m] of groups) {
    for (const node of m.values()) for (const d of node.dependencies) lines.push(`  ${id(d)} -> ${id(node.key)};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

function attributes(node: GraphNode): string {
  const key = node.key;
  if (node instanceof Task) return `label=${quote(opName(node.op) + "\n" + key)}, shape=ellipse`;
  if (node instanceof Fused) return `label=${quote(node.ops.map(opName).join(" → ") + "\n" + key)}, shape=doubleoctagon`;
  if (node instanceof Alias) return `label=${quote(key + " = " + node.target)}, shape=box, style=dashed`;
  if (node instanceof DataNode) return `label=${quote(key)}, shape=box`;
  return `label=${quote(key)}`;
}

function quote(s: string): string {
  return '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") + '"';
}
