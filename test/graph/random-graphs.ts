/**
 * Shared by the graph tests: a tiny reference evaluator and fast-check generators of random
 * task graphs (materialized DAGs, and chains of Blockwise layers mixed with reductions).
 */
import fc from "fast-check";
import {
  Alias,
  Blockwise,
  DataNode,
  Fused,
  Graph,
  MaterializedLayer,
  Task,
  blockIndex,
  blockKey,
  blockwiseInput,
  ref,
  substitute,
  type GraphNode,
  type Key,
  type Op,
} from "@zask/graph";

/** A deterministic mix of numbers (nested arrays flattened): distinct inputs give distinct-ish outputs. */
export function mix(seed: number, ...xs: unknown[]): number {
  let h = seed;
  for (const x of (xs as unknown[]).flat(Infinity)) h = (h * 31 + Number(x)) % 1_000_003;
  return h;
}

/** Named so that ops print nicely; each a plain function, as a test of ops the evaluator calls. */
export function makeOp(seed: number): (...xs: unknown[]) => number {
  return Object.defineProperty((...xs: unknown[]) => mix(seed, ...xs), "name", { value: `mix${seed}` });
}

/** Values of `keys`, computed straight from the nodes by recursion (no scheduler). */
export function evaluate(nodes: ReadonlyMap<Key, GraphNode>, keys: readonly Key[]): unknown[] {
  const cache = new Map<Key, unknown>();
  const get = (k: Key): unknown => {
    if (cache.has(k)) return cache.get(k);
    const node = nodes.get(k);
    if (node === undefined) throw new Error(`evaluate: no node ${k}`);
    const v = run(node, get);
    cache.set(k, v);
    return v;
  };
  return keys.map(get);
}

function run(node: GraphNode, get: (k: Key) => unknown): unknown {
  if (node instanceof DataNode) return node.value;
  if (node instanceof Alias) return get(node.target);
  if (node instanceof Task) return call(node, get);
  if (node instanceof Fused) {
    const local = new Map<Key, unknown>();
    const lookup = (k: Key): unknown => (local.has(k) ? local.get(k) : get(k));
    for (const step of node.steps) local.set(step.key, call(step, lookup));
    return local.get(node.steps[node.steps.length - 1]!.key);
  }
  throw new Error("evaluate: unknown node");
}

function call(t: Task, get: (k: Key) => unknown): unknown {
  if (typeof t.op !== "function") throw new Error("evaluate: only plain-function ops");
  return t.op(...substitute(t.args, get));
}

/** A random DAG: node i reads some of nodes 0..i-1. */
export interface DagSpec {
  readonly deps: readonly (readonly number[])[];
  readonly kinds: readonly ("task" | "data" | "alias")[];
}

export const dagSpec: fc.Arbitrary<DagSpec> = fc.integer({ min: 1, max: 30 }).chain((n) =>
  fc.record({
    deps: fc.tuple(
      ...Array.from({ length: n }, (_, i) =>
        i === 0 ? fc.constant([] as number[]) : fc.uniqueArray(fc.integer({ min: 0, max: i - 1 }), { maxLength: Math.min(i, 4) }),
      ),
    ),
    kinds: fc.tuple(...Array.from({ length: n }, () => fc.constantFrom<"task" | "data" | "alias">("task", "task", "task", "task", "data", "alias"))),
  }),
);

export const dagKey = (i: number): Key => `n${i}`;

/** The DAG's nodes (a node without deps that is not a task is data; an alias reads its first dep). */
export function dagNodes(spec: DagSpec): Map<Key, GraphNode> {
  const nodes = new Map<Key, GraphNode>();
  spec.deps.forEach((deps, i) => {
    const k = dagKey(i);
    const kind = spec.kinds[i]!;
    if (deps.length === 0 && kind !== "task") nodes.set(k, new DataNode(k, i));
    else if (kind === "alias" && deps.length > 0) nodes.set(k, new Alias(k, dagKey(deps[0]!)));
    else nodes.set(k, new Task(k, makeOp(i), [i, deps.map((d) => ref(dagKey(d)))]));
  });
  return nodes;
}

/** The DAG split into a few materialized layers by position, with declared layer dependencies. */
export function dagGraph(spec: DagSpec, layers = 3): Graph {
  const nodes = dagNodes(spec);
  const layerOf = (i: number): string => `L${Math.floor((i * layers) / spec.deps.length)}`;
  const groups = new Map<string, GraphNode[]>();
  const deps = new Map<string, Set<string>>();
  spec.deps.forEach((ds, i) => {
    const l = layerOf(i);
    if (!groups.has(l)) groups.set(l, []), deps.set(l, new Set());
    groups.get(l)!.push(nodes.get(dagKey(i))!);
    for (const d of ds) if (layerOf(d) !== l) deps.get(l)!.add(layerOf(d));
  });
  const ls = new Map([...groups].map(([name, ns]) => [name, new MaterializedLayer(name, ns)]));
  return new Graph(ls, deps);
}

/** Keys reachable backwards from `keys` (themselves included). */
export function ancestors(nodes: ReadonlyMap<Key, GraphNode>, keys: Iterable<Key>): Set<Key> {
  const seen = new Set<Key>();
  const stack = [...keys];
  while (stack.length > 0) {
    const k = stack.pop()!;
    if (seen.has(k)) continue;
    seen.add(k);
    stack.push(...nodes.get(k)!.dependencies);
  }
  return seen;
}

/**
 * A random chain of Blockwise layers over one 1-d or 2-d block grid: each layer reads one or
 * two earlier layers (same symbols, transposed when square, or broadcast from a one-block
 * layer), sometimes with a contraction into a smaller layer, plus a materialized reduction.
 */
export interface BlockwiseSpec {
  readonly grid: readonly number[];
  readonly layers: readonly { readonly reads: readonly number[]; readonly transpose: boolean }[];
  readonly reduceFrom: number;
}

export const blockwiseSpec: fc.Arbitrary<BlockwiseSpec> = fc
  .record({
    grid: fc.oneof(fc.tuple(fc.integer({ min: 1, max: 6 })), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))),
    n: fc.integer({ min: 1, max: 6 }),
  })
  .chain(({ grid, n }) =>
    fc.record({
      grid: fc.constant(grid as number[]),
      layers: fc.tuple(
        ...Array.from({ length: n }, (_, i) =>
          fc.record({
            reads: i === 0 ? fc.constant([] as number[]) : fc.uniqueArray(fc.integer({ min: 0, max: i - 1 }), { minLength: 1, maxLength: Math.min(i, 2) }),
            transpose: fc.boolean(),
          }),
        ),
      ),
      reduceFrom: fc.integer({ min: 0, max: n - 1 }),
    }),
  );

export const layerName = (i: number): string => `b${i}-x`;

/**
 * How {@link blockwiseGraph} calls the op of seed `seed`: an op and the arguments that go before
 * the template's (an op reference that a worker imports takes its seed as an argument).
 */
export type OpFor = (seed: number) => readonly [op: Op, lead: readonly unknown[]];

const plainOps: OpFor = (seed) => [makeOp(seed), []];

/** The graph of a {@link BlockwiseSpec}: Blockwise layers `b0-x`…, a contraction `sum-x`, a materialized `total`. */
export function blockwiseGraph(spec: BlockwiseSpec, opFor: OpFor = plainOps): { graph: Graph; outputs: Key[] } {
  const { grid } = spec;
  const sym = grid.length === 1 ? "i" : "ij";
  const square = grid.length === 2 && grid[0] === grid[1];
  let g = Graph.empty();
  spec.layers.forEach((l, i) => {
    const [op, lead] = opFor(100 + i);
    const args: unknown[] = [...lead, blockIndex(), i];
    for (const r of l.reads) args.push(blockwiseInput(layerName(r), l.transpose && square ? "ji" : sym, grid));
    g = g.withLayer(new Blockwise({ name: layerName(i), outIndex: sym, numBlocks: grid, op, args }), l.reads.map(layerName));
  });
  // a reduction over the first axis (contraction), then a materialized total over its blocks
  const from = layerName(spec.reduceFrom);
  const outSym = grid.length === 1 ? "" : "j";
  const sumBlocks = grid.length === 1 ? [] : [grid[1]!];
  const [sumOp, sumLead] = opFor(7);
  g = g.withLayer(new Blockwise({ name: "sum-x", outIndex: outSym, numBlocks: sumBlocks, op: sumOp, args: [...sumLead, blockwiseInput(from, sym, grid)] }), [
    from,
  ]);
  const sumKeys = grid.length === 1 ? [blockKey("sum-x", [])] : Array.from({ length: grid[1]! }, (_, j) => blockKey("sum-x", [j]));
  const [totalOp, totalLead] = opFor(8);
  g = g.withLayer(new MaterializedLayer("total", [new Task("total", totalOp, [...totalLead, sumKeys.map(ref)])]), ["sum-x"]);
  const last = layerName(spec.layers.length - 1);
  const outputs = [
    "total",
    blockKey(
      last,
      grid.map(() => 0),
    ),
  ];
  return { graph: g, outputs };
}
