/**
 * Block sizes along an axis of length `n` from `n - 1` cut flags (a cut after element i ends
 * a block): how the property tests draw random chunkings.
 */
export function sizesFromCuts(n: number, cuts: readonly boolean[]): number[] {
  const out: number[] = [];
  let run = 1;
  for (let i = 0; i < n - 1; i++) {
    if (cuts[i]) {
      out.push(run);
      run = 1;
    } else run++;
  }
  out.push(run);
  return out;
}
