// How a sparse read cuts its major positions into blocks: by stored values, and at the chunks
// of `data` and `indices`. Two walks give the same cuts: one position at a time for a
// selection, and by binary search over `indptr` for all positions in order, so a read of every
// row of a large matrix (a column selection) costs O(blocks × log rows) to plan, not O(rows).

/**
 * Cut `major` (source positions, in output order) into blocks of about `target` stored values
 * each (at least one position per block), from `indptr`. With `chunkLens` (of `data` and of
 * `indices`), a block also ends where the stored values leave the chunks it started in, and a
 * position whose values straddle two chunks is a block of its own: every other block then
 * lies inside one chunk of each array and is gathered as views of them, without a copy.
 */
export function blockSizesByNnz(indptr: ArrayLike<number | bigint>, major: ArrayLike<number>, target: number, chunkLens?: readonly [number, number]): number[] {
  const sizes: number[] = [];
  let size = 0;
  let nnz = 0;
  let chunk = -1;
  for (let i = 0; i < major.length; i++) {
    const a = major[i]!;
    const s = Number(indptr[a]);
    const n = Number(indptr[a + 1]) - s;
    let straddles = false;
    let here = chunk;
    if (chunkLens !== undefined && n > 0) {
      const [d, x] = chunkLens;
      straddles = Math.floor(s / d) !== Math.floor((s + n - 1) / d) || Math.floor(s / x) !== Math.floor((s + n - 1) / x);
      here = Math.floor(s / d) * 2 ** 26 + Math.floor(s / x);
    }
    if (size > 0 && (nnz + n > target || straddles || (chunk >= 0 && n > 0 && here !== chunk))) {
      sizes.push(size);
      size = 0;
      nnz = 0;
      chunk = -1;
    }
    size++;
    nnz += n;
    if (n > 0) chunk = here;
    if (straddles) {
      sizes.push(size);
      size = 0;
      nnz = 0;
      chunk = -1;
    }
  }
  if (size > 0 || sizes.length === 0) sizes.push(size);
  return sizes;
}

/**
 * {@link blockSizesByNnz} of every position `0 … indptr.length - 2` in order, the same cuts
 * found by binary search: a block that starts at position b, whose first stored value is at s,
 * runs on while `indptr` stays within both `s + target` and the end of the chunks holding s.
 */
export function blockSizesOfAll(indptr: ArrayLike<number | bigint>, target: number, chunkLens?: readonly [number, number]): number[] {
  const count = Math.max(indptr.length - 1, 0);
  const at = (i: number): number => Number(indptr[i]);
  // the first position p in [from, count) whose end indptr[p + 1] exceeds `limit`, else count
  const firstEndAbove = (from: number, limit: number): number => {
    let lo = from;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (at(mid + 1) > limit) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const sizes: number[] = [];
  let b = 0;
  while (b < count) {
    const base = at(b);
    // positions before the first that holds a value are empty: they join the block
    const f = firstEndAbove(b, base);
    if (f === count) {
      sizes.push(count - b);
      b = count;
      break;
    }
    const n = at(f + 1) - base;
    let end = Infinity;
    let straddles = false;
    if (chunkLens !== undefined) {
      const [d, x] = chunkLens;
      end = Math.min((Math.floor(base / d) + 1) * d, (Math.floor(base / x) + 1) * x);
      straddles = base + n > end;
    }
    if (straddles || n > target) {
      // a position alone: its values straddle two chunks, or outnumber a block's
      if (f > b) sizes.push(f - b);
      sizes.push(1);
      b = f + 1;
      continue;
    }
    const g = firstEndAbove(f + 1, Math.min(end, base + target));
    sizes.push(g - b);
    b = g;
  }
  if (sizes.length === 0) sizes.push(0);
  return sizes;
}
