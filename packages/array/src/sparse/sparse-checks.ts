// Structure checks of compressed sparse matrices from untrusted stores or callers: a bad indptr
// or index would otherwise put values in the wrong cells or drop them, and change every sum.
import { SparseStructureError } from "../errors.js";
import type { SparseSource } from "./sparse-read.js";

/** A problem found in a compressed sparse matrix: what is wrong, and at which entry. */
export interface SparseProblem {
  /** Position of the offending entry (in `indptr` for its own problems). */
  readonly position: number;
  readonly detail: string;
}

/**
 * What is wrong with `indptr` as the index of `major` rows (CSR) or columns (CSC) over `nnz`
 * stored values, or `undefined` when it is well formed: `major + 1` integers, starting at 0,
 * never decreasing, ending at `nnz`.
 *
 * @example
 * ```ts
 * indptrProblem([0, 2, 1], 2, 1); // "expected indptr to be non-decreasing, got 1 after 2 at position 2"
 * ```
 */
export function indptrProblem(indptr: ArrayLike<number | bigint>, major: number, nnz: number): string | undefined {
  return indptrProblemAt(indptr, major, nnz)?.detail;
}

/** {@link indptrProblem} with the position of the offending entry. */
export function indptrProblemAt(indptr: ArrayLike<number | bigint>, major: number, nnz: number): SparseProblem | undefined {
  if (indptr.length !== major + 1) {
    // the first entry missing, or the first one too many
    return { position: Math.min(indptr.length, major + 1), detail: `expected ${major + 1} values in indptr, got ${indptr.length}` };
  }
  if (Number(indptr[0]) !== 0) return { position: 0, detail: `expected indptr to start at 0, got ${String(indptr[0])}` };
  let prev = 0;
  for (let i = 1; i < indptr.length; i++) {
    const p = Number(indptr[i]);
    if (!(p >= prev)) return { position: i, detail: `expected indptr to be non-decreasing, got ${String(indptr[i])} after ${prev} at position ${i}` };
    // a float indptr would cut values at fractional positions, silently truncated
    if (!Number.isInteger(p)) return { position: i, detail: `expected integers in indptr, got ${String(indptr[i])} at position ${i}` };
    prev = p;
  }
  if (prev !== nnz) return { position: major, detail: `expected indptr to end at the ${nnz} stored values, got ${prev}` };
  return undefined;
}

/**
 * What is wrong with `indices` (stored positions along the minor axis of length `minor`), or
 * `undefined`.
 *
 * @example
 * ```ts
 * indicesProblem([0, 5], 5); // "expected indices in [0, 5), got 5 at position 1"
 * ```
 */
export function indicesProblem(indices: ArrayLike<number | bigint>, minor: number, offset = 0): string | undefined {
  for (let p = 0; p < indices.length; p++) {
    const b = Number(indices[p]);
    if (!(b >= 0 && b < minor)) return `expected indices in [0, ${minor}), got ${String(indices[p])} at position ${offset + p}`;
  }
  return undefined;
}

/**
 * Throws a {@link SparseStructureError} when `source` cannot be a compressed sparse matrix: its
 * shape, 1-D `data` and `indices` of one length, and the whole `indptr` (in memory, so it is
 * checked whole and every block then trusts its slice). Stored indices are checked where a
 * block reads them.
 */
export function checkSparseSource(source: SparseSource): void {
  const fail = (position: number, detail: string): never => {
    throw new SparseStructureError(source.path, source.url, position, detail);
  };
  const [rows, cols] = source.shape;
  if (source.shape.length !== 2 || !Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows < 0 || cols < 0) {
    fail(0, `expected a shape of two non-negative integers, got [${source.shape.join(", ")}]`);
  }
  const { data, indices } = source;
  if (!/int/.test(indices.dtype)) fail(0, `expected integer indices, got ${indices.dtype}`);
  if (data.shape.length !== 1 || indices.shape.length !== 1 || data.shape[0] !== indices.shape[0]) {
    fail(0, `expected 1-d data and indices of equal length, got shapes [${data.shape.join(", ")}] and [${indices.shape.join(", ")}]`);
  }
  const problem = indptrProblemAt(source.indptr as ArrayLike<number | bigint>, source.format === "csr" ? rows : cols, data.shape[0]!);
  if (problem !== undefined) fail(problem.position, `${problem.detail} (shape [${rows}, ${cols}])`);
}
