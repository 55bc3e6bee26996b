import type { Plan } from "./plan.js";

/**
 * The tasks with nothing to wait for, in order of priority, when the priorities are ranks (each
 * of 0..n-1 once): bucketed by rank, no sort. Undefined when they are not ranks.
 */
export function readyByRank(plan: Plan, waiting: Int32Array): Int32Array | undefined {
  const { size: n, priority } = plan;
  const at = new Int32Array(n).fill(-1);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (waiting[i] !== 0) continue;
    const p = priority[i]!;
    if (!Number.isInteger(p) || p < 0 || p >= n || at[p] !== -1) return undefined;
    at[p] = i;
    count++;
  }
  const sorted = new Int32Array(count);
  let k = 0;
  for (let p = 0; p < n && k < count; p++) if (at[p]! >= 0) sorted[k++] = at[p]!;
  return sorted;
}

/**
 * The tasks by priority when the priorities number the tasks 0..n-1 in a topological order (as
 * the graph's `order` does), else undefined. Then the lowest unfinished rank is always ready, so
 * running by rank is exactly what popping the ready queue one task at a time would do.
 */
export function runsByRank(plan: Plan): Int32Array | undefined {
  const { size: n, priority, depStart, depList } = plan;
  const byRank = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const p = priority[i]!;
    if (!Number.isInteger(p) || p < 0 || p >= n || byRank[p] !== -1) return undefined;
    byRank[p] = i;
    for (let e = depStart[i]!; e < depStart[i + 1]!; e++) if (priority[depList[e]!]! >= p) return undefined;
  }
  return byRank;
}
