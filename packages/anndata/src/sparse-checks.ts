// Structure checks of compressed sparse matrices read from untrusted stores: a bad indptr or
// index would otherwise put values in the wrong cells or drop them, and change every sum.

/**
 * What is wrong with `indptr` as the index of `major` rows (CSR) or columns (CSC) over `nnz`
 * stored values, or `undefined` when it is well formed: `major + 1` entries, starting at 0,
 * never decreasing, ending at `nnz`.
 */
export function indptrProblem(indptr: ArrayLike<number | bigint>, major: number, nnz: number): string | undefined {
  if (indptr.length !== major + 1) return `expected ${major + 1} values in indptr, got ${indptr.length}`;
  if (Number(indptr[0]) !== 0) return `expected indptr to start at 0, got ${String(indptr[0])}`;
  let prev = 0;
  for (let i = 1; i < indptr.length; i++) {
    const p = Number(indptr[i]);
    if (!(p >= prev)) return `expected indptr to be non-decreasing, got ${String(indptr[i])} after ${prev} at position ${i}`;
    prev = p;
  }
  if (prev !== nnz) return `expected indptr to end at the ${nnz} stored values, got ${prev}`;
  return undefined;
}

/** What is wrong with `indices` (stored positions along the minor axis of length `minor`), or `undefined`. */
export function indicesProblem(indices: ArrayLike<number | bigint>, minor: number, offset = 0): string | undefined {
  for (let p = 0; p < indices.length; p++) {
    const b = Number(indices[p]);
    if (!(b >= 0 && b < minor)) return `expected indices in [0, ${minor}), got ${String(indices[p])} at position ${offset + p}`;
  }
  return undefined;
}
