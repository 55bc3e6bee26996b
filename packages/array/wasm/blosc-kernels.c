// The hot loops of blosc, for WebAssembly with SIMD: LZ4 block decompression and byte
// unshuffle, LZ4 block compression and byte shuffle; and the scans over a sparse chunk pair
// where the decode left it: the pick of its selected stored values (src/ops/sparse-pick.ts)
// and the sums, counts, moments and extremes of a reduction (src/ops/sparse-reduce-pair.ts). The chunk layout,
// splits and every bounds check of the format stay in TypeScript (src/codecs/blosc-decode.ts,
// blosc-encode.ts); these kernels work on regions of their own linear memory that the caller
// has sized, and never read or write outside the ranges they are given.
//
// Build: packages/array/wasm/build.sh (clang --target=wasm32 -msimd128), which regenerates
// src/codecs/blosc-kernels-wasm.ts. Written by hand because no maintained package offers
// these kernels without copying through a foreign heap (numcodecs' embind copies input
// byte by byte; see src/codecs/blosc-decode.ts).
#include <stdint.h>
#include <wasm_simd128.h>

typedef uint8_t u8;
typedef uint32_t u32;

static u32 fault_at;

/** Offset (in the source region) where the last failing lz4_decode stopped. */
__attribute__((export_name("fault_offset"))) u32 fault_offset(void) { return fault_at; }

static inline void copy16(u8 *d, const u8 *s) { wasm_v128_store(d, wasm_v128_load(s)); }

/** Add LZ4's extra length bytes (255, 255, …, last) at *ip to *n; 0, or -1 past `end`. */
static inline int extra_length(const u8 *src, u32 *ip, u32 end, u32 *n) {
  u32 b;
  do {
    if (*ip >= end) { fault_at = *ip; return -1; }
    b = src[(*ip)++];
    *n += b;
  } while (b == 255);
  return 0;
}

/**
 * Decompress the LZ4 block src[start, end) into dst[dstart, dend). `slack` bytes past `end` may
 * be read and past `dend` may be written (scratch room the caller reserved), which lets short
 * copies move 16 bytes at once. Returns the end of the output, or -1 with fault_at set.
 */
__attribute__((export_name("lz4_decode")))
int32_t lz4_decode(const u8 *src, u32 start, u32 end, u8 *dst, u32 dstart, u32 dend) {
  u32 ip = start, op = dstart;
  for (;;) {
    // the last sequence holds literals only: a block that ends after a match is malformed, and
    // `end - ip` below must not wrap
    if (ip >= end) { fault_at = ip; return -1; }
    u32 token = src[ip++];
    u32 lit = token >> 4;
    u32 ml = token & 15;
    u32 off;
    // Most sequences of numeric planes are short: both lengths in the token, far from both
    // ends. Their literal and a match from 16 or more bytes back then take fixed-size copies
    // with one bounds test for the whole sequence.
    if (lit < 15 && ml < 15 && end - ip >= 32 && dend - op >= 48) {
      copy16(dst + op, src + ip);
      ip += lit;
      op += lit;
      off = src[ip] | ((u32)src[ip + 1] << 8);
      ip += 2;
      if (off >= 16 && off <= op - dstart) {
        u8 *d = dst + op;
        copy16(d, d - off);
        copy16(d + 16, d - off + 16);
        op += ml + 4;
        continue;
      }
      if (off == 0 || off > op - dstart) { fault_at = ip - 2; return -1; }
      goto match;
    }
    if (lit == 15 && extra_length(src, &ip, end, &lit) < 0) return -1;
    if (lit > end - ip || lit > dend - op) { fault_at = ip; return -1; }
    if (lit <= 16) {
      copy16(dst + op, src + ip);  // within the slack
    } else {
      __builtin_memcpy(dst + op, src + ip, lit);
    }
    ip += lit;
    op += lit;
    if (ip >= end) return (int32_t)op;
    if (end - ip < 2) { fault_at = ip; return -1; }
    off = src[ip] | ((u32)src[ip + 1] << 8);
    if (off == 0 || off > op - dstart) { fault_at = ip; return -1; }
    ip += 2;
  match:
    if (ml == 15 && extra_length(src, &ip, end, &ml) < 0) return -1;
    ml += 4;
    if (ml > dend - op) { fault_at = ip; return -1; }
    u8 *d = dst + op;
    const u8 *r = d - off;
    op += ml;
    if (off >= 16) {
      // non-overlapping 16-byte steps; the last one may run into the slack
      for (u32 k = 0; k < ml; k += 16) copy16(d + k, r + k);
    } else if (off == 1 || off == 2 || off == 4 || off == 8) {
      // a pattern that 16 bytes repeat whole (off = 1: the zero planes of small integers;
      // 2 to 8: the low planes of sorted indices): 16-byte stores of it
      v128_t b = off == 1 ? wasm_v128_load8_splat(r)
               : off == 2 ? wasm_v128_load16_splat(r)
               : off == 4 ? wasm_v128_load32_splat(r)
                          : wasm_v128_load64_splat(r);
      for (u32 k = 0; k < ml; k += 16) wasm_v128_store(d + k, b);
    } else {
      // overlapping: the pattern repeats every `off` bytes. Its first 16 bytes in order (into
      // the slack when the match is shorter), then 16-byte copies `step` bytes apart, `step`
      // a multiple of `off` of at most 16, so each copy reads the 16 bytes the last one wrote
      for (u32 k = 0; k < 16; k++) d[k] = r[k];
      u32 step = 16 - 16 % off;
      for (u32 k = step; k < ml; k += step) copy16(d + k, d + k - step);
    }
  }
}

/**
 * Byte unshuffle of n elements of `typesize` bytes: plane j (byte j of every element) starts at
 * src + j * stride; element i goes to dst + i * typesize. Typesize 4 and 8 use SIMD shuffles.
 */
__attribute__((export_name("unshuffle")))
void unshuffle(const u8 *src, u32 stride, u8 *dst, u32 n, u32 typesize) {
  u32 i = 0;
  if (typesize == 4) {
    const u8 *p0 = src, *p1 = src + stride, *p2 = src + 2 * stride, *p3 = src + 3 * stride;
    for (; i + 16 <= n; i += 16) {
      v128_t a0 = wasm_v128_load(p0 + i), a1 = wasm_v128_load(p1 + i);
      v128_t a2 = wasm_v128_load(p2 + i), a3 = wasm_v128_load(p3 + i);
      v128_t t0 = wasm_i8x16_shuffle(a0, a1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      v128_t t1 = wasm_i8x16_shuffle(a0, a1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      v128_t t2 = wasm_i8x16_shuffle(a2, a3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      v128_t t3 = wasm_i8x16_shuffle(a2, a3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      u8 *o = dst + 4 * i;
      wasm_v128_store(o, wasm_i16x8_shuffle(t0, t2, 0, 8, 1, 9, 2, 10, 3, 11));
      wasm_v128_store(o + 16, wasm_i16x8_shuffle(t0, t2, 4, 12, 5, 13, 6, 14, 7, 15));
      wasm_v128_store(o + 32, wasm_i16x8_shuffle(t1, t3, 0, 8, 1, 9, 2, 10, 3, 11));
      wasm_v128_store(o + 48, wasm_i16x8_shuffle(t1, t3, 4, 12, 5, 13, 6, 14, 7, 15));
    }
  } else if (typesize == 8) {
    const u8 *p[8];
    for (u32 j = 0; j < 8; j++) p[j] = src + j * stride;
    for (; i + 16 <= n; i += 16) {
      v128_t a[8];
      for (u32 j = 0; j < 8; j++) a[j] = wasm_v128_load(p[j] + i);
      // bytes of planes (0,1), (2,3), (4,5), (6,7) pairwise, then 16-bit pairs, then 32-bit
      v128_t b[8], c[8];
      for (u32 j = 0; j < 4; j++) {
        b[2 * j] = wasm_i8x16_shuffle(a[2 * j], a[2 * j + 1], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        b[2 * j + 1] = wasm_i8x16_shuffle(a[2 * j], a[2 * j + 1], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      }
      for (u32 h = 0; h < 2; h++) {
        for (u32 j = 0; j < 2; j++) {
          v128_t x = b[4 * h + j], y = b[4 * h + 2 + j];
          c[4 * h + 2 * j] = wasm_i16x8_shuffle(x, y, 0, 8, 1, 9, 2, 10, 3, 11);
          c[4 * h + 2 * j + 1] = wasm_i16x8_shuffle(x, y, 4, 12, 5, 13, 6, 14, 7, 15);
        }
      }
      u8 *o = dst + 8 * i;
      for (u32 k = 0; k < 4; k++) {
        v128_t x = c[k], y = c[4 + k];
        wasm_v128_store(o + 32 * k, wasm_i32x4_shuffle(x, y, 0, 4, 1, 5));
        wasm_v128_store(o + 32 * k + 16, wasm_i32x4_shuffle(x, y, 2, 6, 3, 7));
      }
    }
  }
  for (; i < n; i++) {
    for (u32 j = 0; j < typesize; j++) dst[i * typesize + j] = src[j * stride + i];
  }
}

/** The table scan of pick_i32 over ix[k0, n), continuing from q selected. */
static int32_t pick_table(const int32_t *ix, u32 k0, u32 n, const int32_t *table, u32 minor, int32_t *pos, int32_t *tgt, u32 q) {
  for (u32 k = k0; k < n; k++) {
    u32 j = (u32)ix[k];
    if (j >= minor) return -1 - (int32_t)k;
    int32_t t = table[j];
    pos[q] = (int32_t)k;
    tgt[q] = t;
    q += t >= 0;
  }
  return (int32_t)q;
}

/**
 * One pass over the int32 indices ix[0, n) of a decoded sparse chunk: each whose entry in
 * `table` (one per minor position, -1 where unselected) is selected gets its position k written
 * to pos[q] and the entry to tgt[q]. pos and tgt have room for n + 1 entries (the write is
 * unconditional, the count is not). Returns q, or -1 - k for the first index outside [0, minor).
 * With `nfew` (1 to 4) selected minor positions c0..c3, four indices at a time are compared
 * with them and the bound, and only a group that matches goes through the table; with more,
 * four table entries are looked up at a time and a group with none selected is skipped.
 */
__attribute__((export_name("pick_i32")))
int32_t pick_i32(const int32_t *ix, u32 n, const int32_t *table, u32 minor, int32_t *pos, int32_t *tgt, u32 nfew, int32_t c0, int32_t c1,
                 int32_t c2, int32_t c3) {
  u32 q = 0, k = 0;
  if (nfew >= 1 && nfew <= 4) {
    const v128_t bound = wasm_i32x4_splat((int32_t)minor);
    const v128_t s0 = wasm_i32x4_splat(c0), s1 = wasm_i32x4_splat(nfew > 1 ? c1 : c0);
    const v128_t s2 = wasm_i32x4_splat(nfew > 2 ? c2 : c0), s3 = wasm_i32x4_splat(nfew > 3 ? c3 : c0);
    for (; k + 4 <= n; k += 4) {
      v128_t v = wasm_v128_load(ix + k);
      v128_t hit = wasm_v128_or(wasm_u32x4_ge(v, bound), wasm_v128_or(wasm_v128_or(wasm_i32x4_eq(v, s0), wasm_i32x4_eq(v, s1)),
                                                                   wasm_v128_or(wasm_i32x4_eq(v, s2), wasm_i32x4_eq(v, s3))));
      if (!wasm_v128_any_true(hit)) continue;
      int32_t r = pick_table(ix, k, k + 4, table, minor, pos, tgt, q);
      if (r < 0) return r;
      q = (u32)r;
    }
  } else {
    // more columns: four table entries at a time, and a group none of which is selected (most
    // of them, for a selection of a few percent of the columns) stores nothing
    const v128_t bound = wasm_i32x4_splat((int32_t)minor);
    for (; k + 4 <= n; k += 4) {
      if (wasm_v128_any_true(wasm_u32x4_ge(wasm_v128_load(ix + k), bound))) return pick_table(ix, k, n, table, minor, pos, tgt, q);
      int32_t t0 = table[ix[k]], t1 = table[ix[k + 1]], t2 = table[ix[k + 2]], t3 = table[ix[k + 3]];
      if ((t0 & t1 & t2 & t3) < 0) continue;
      pos[q] = (int32_t)k;
      tgt[q] = t0;
      q += t0 >= 0;
      pos[q] = (int32_t)k + 1;
      tgt[q] = t1;
      q += t1 >= 0;
      pos[q] = (int32_t)k + 2;
      tgt[q] = t2;
      q += t2 >= 0;
      pos[q] = (int32_t)k + 3;
      tgt[q] = t3;
      q += t3 >= 0;
    }
  }
  return pick_table(ix, k, n, table, minor, pos, tgt, q);
}

// The reduction kernels read the stored values of a decoded chunk pair in ranges: `ranges`
// holds `nranges` pairs [start, end) of positions from the chunks' starts (one range for a
// whole matrix; one per selected line otherwise, in any order, repeats counted again). Each
// value goes to a slot: its int32 index with `by_index`, else slot 0. One loop per value type,
// so the type is decided once per chunk rather than per value. Each returns 0, or -1 - k for
// the first position k whose index is outside [0, minor) (the outputs are then partial).
#define FOR_RANGES(...)                                                     \
  for (u32 r = 0; r < nranges; r++) {                                       \
    u32 end = (u32)ranges[2 * r + 1];                                       \
    for (u32 k = (u32)ranges[2 * r]; k < end; k++) {                        \
      __VA_ARGS__                                                           \
    }                                                                       \
  }

#define SLOT_OR_FAIL                                                        \
  u32 j = (u32)ix[k];                                                       \
  if (j >= minor) return -1 - (int32_t)k;                                   \
  u32 s = by_index ? j : 0;

#define DISPATCH(LOOPS)                                                     \
  switch (dtype) {                                                          \
  case 0: LOOPS(float)                                                      \
  case 1: LOOPS(double)                                                     \
  case 2: LOOPS(int32_t)                                                    \
  case 3: LOOPS(uint32_t)                                                   \
  case 4: LOOPS(int16_t)                                                    \
  case 5: LOOPS(uint16_t)                                                   \
  case 6: LOOPS(int8_t)                                                     \
  default: LOOPS(uint8_t)                                                   \
  }

#define REDUCE_LOOPS(T)                                                     \
  {                                                                         \
    const T *x = (const T *)v;                                              \
    if (count) {                                                            \
      FOR_RANGES(SLOT_OR_FAIL out[s] += x[k] != 0;)                         \
    } else {                                                                \
      FOR_RANGES(SLOT_OR_FAIL out[s] += (double)x[k];)                      \
    }                                                                       \
    return 0;                                                               \
  }

/**
 * Whether the indices of every line strictly increase, so that no line stores an index twice:
 * the ranges (int32 [start, end) pairs of positions from `ix`) cut into lines where `starts`
 * (positions, in the order the ranges are read, one at each range's start) say a line begins.
 * 1 if they do, else 0.
 */
__attribute__((export_name("lines_increase_i32")))
u32 lines_increase_i32(const int32_t *ix, const int32_t *ranges, u32 nranges, const int32_t *starts, u32 nstarts) {
  u32 p = 0;
  for (u32 r = 0; r < nranges; r++) {
    int32_t from = ranges[2 * r], end = ranges[2 * r + 1];
    p++;
    while (from < end) {
      int32_t to = end;
      if (p < nstarts && starts[p] > from && starts[p] < end) to = starts[p++];
      int32_t k = from;
      for (; k + 4 < to; k += 4) {
        v128_t a = wasm_v128_load(ix + k), b = wasm_v128_load(ix + k + 1);
        if (!wasm_i32x4_all_true(wasm_i32x4_gt(b, a))) return 0;
      }
      for (; k + 1 < to; k++)
        if (ix[k + 1] <= ix[k]) return 0;
      from = to;
    }
  }
  return 1;
}

/**
 * The per-chunk step of a sparse sum, mean or nonzero count: each stored value in the ranges
 * is added (with `count`, counted when nonzero) into out[slot], in float64 and in stored order.
 * The values' type is `dtype`: 0 float32, 1 float64, 2 int32, 3 uint32, 4 int16, 5 uint16,
 * 6 int8, 7 uint8.
 */
__attribute__((export_name("reduce_i32")))
int32_t reduce_i32(const int32_t *ix, const void *v, const int32_t *ranges, u32 nranges, u32 minor, double *out, u32 dtype, u32 by_index, u32 count) {
  DISPATCH(REDUCE_LOOPS)
}

#define MOMENTS_LOOPS(T)                                                    \
  {                                                                         \
    const T *x = (const T *)v;                                              \
    FOR_RANGES(SLOT_OR_FAIL mean[s] += (double)x[k]; cnt[s] += 1;)          \
    for (u32 s = 0; s < slots; s++)                                         \
      if (cnt[s] > 0) mean[s] /= cnt[s];                                    \
    FOR_RANGES(u32 s = by_index ? (u32)ix[k] : 0; double d = (double)x[k] - mean[s]; m2[s] += d * d;) \
    return 0;                                                               \
  }

/**
 * The per-chunk step of a sparse var or std: per slot, the count of its stored values into cnt,
 * their mean into mean and the sum of their squared deviations from it into m2 (two passes,
 * float64; all three zeroed by the caller). Types as for reduce_i32.
 */
__attribute__((export_name("moments_i32")))
int32_t moments_i32(const int32_t *ix, const void *v, const int32_t *ranges, u32 nranges, u32 minor, double *mean, double *cnt, double *m2, u32 dtype, u32 by_index) {
  u32 slots = by_index ? minor : 1;
  DISPATCH(MOMENTS_LOOPS)
}

// A NaN stays (b == b fails) and a NaN value wins; integers have none, and the test folds away.
#define EXTREME_LOOPS(T)                                                    \
  {                                                                         \
    const T *x = (const T *)v;                                              \
    T *o = (T *)out;                                                        \
    FOR_RANGES(SLOT_OR_FAIL cnt[s] += 1; T b = o[s], y = x[k];              \
               if (b == b && (y != y || (max ? y > b : y < b))) o[s] = y;)  \
    return 0;                                                               \
  }

/**
 * The per-chunk step of a sparse min or max: per slot, the count of its stored values into cnt
 * and their extreme into out, in their own type (out starts at the caller's sentinel, cnt at
 * zero). Types as for reduce_i32.
 */
__attribute__((export_name("extreme_i32")))
int32_t extreme_i32(const int32_t *ix, const void *v, const int32_t *ranges, u32 nranges, u32 minor, void *out, double *cnt, u32 dtype, u32 by_index, u32 max) {
  DISPATCH(EXTREME_LOOPS)
}

// ---- encoding: LZ4 block compression and byte shuffle (the blosc framing is in
// src/codecs/blosc-encode.ts)

#define MINMATCH 4
#define LASTLITERALS 5
#define MFLIMIT 12
#define HASH_LOG 12
#define MAX_DISTANCE 65535

/** Positions (from the block's start) of the last 4-byte sequences seen, by hash. */
static u32 hash_table[1 << HASH_LOG];

static inline u32 read32(const u8 *p) {
  u32 v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

static inline uint64_t read64(const u8 *p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

static inline u32 hash4(u32 v) { return (v * 2654435761u) >> (32 - HASH_LOG); }

/** Write LZ4's extra length bytes for `n` (the part of a length past 15) at op. */
static inline u8 *put_length(u8 *op, u32 n) {
  for (; n >= 255; n -= 255) *op++ = 255;
  *op++ = (u8)n;
  return op;
}

/**
 * Compress src[0, n) as one LZ4 block (greedy, one hash probe per position, skipping faster
 * through data that does not match, as LZ4's fast mode does) into dst, writing at most `cap`
 * bytes. Returns the compressed size, or 0 when it would not fit in `cap` (the caller then
 * stores the bytes as they are). The block ends with at least LASTLITERALS literals and no
 * match starts within MFLIMIT of the end, as the format requires.
 */
__attribute__((export_name("lz4_compress")))
u32 lz4_compress(const u8 *src, u32 n, u8 *dst, u32 cap) {
  const u8 *ip = src, *anchor = src;
  const u8 *const iend = src + n;
  u8 *op = dst;
  u8 *const oend = dst + cap;
  if (n >= MFLIMIT + 1) {
    const u8 *const mflimit = iend - MFLIMIT;
    const u8 *const matchlimit = iend - LASTLITERALS;
    __builtin_memset(hash_table, 0, sizeof hash_table);
    ip++;
    for (;;) {
      const u8 *match;
      const u8 *forward = ip;
      u32 step = 1, attempts = 1 << 6;
      // the next position whose 4 bytes were seen within the window
      do {
        u32 h = hash4(read32(forward));
        ip = forward;
        forward += step;
        step = attempts++ >> 6;
        if (forward > mflimit) goto last_literals;
        match = src + hash_table[h];
        hash_table[h] = (u32)(ip - src);
      } while (match + MAX_DISTANCE < ip || match >= ip || read32(match) != read32(ip));
      // extend backwards over literals that match too
      while (ip > anchor && match > src && ip[-1] == match[-1]) {
        ip--;
        match--;
      }
      u32 lit = (u32)(ip - anchor);
      u8 *token = op++;
      if (op + lit + lit / 255 + 2 + 1 + LASTLITERALS > oend) return 0;
      if (lit >= 15) {
        *token = 15 << 4;
        op = put_length(op, lit - 15);
      } else {
        *token = (u8)(lit << 4);
      }
      __builtin_memcpy(op, anchor, lit);
      op += lit;
      for (;;) {
        if (op + 2 > oend) return 0;
        u32 off = (u32)(ip - match);
        *op++ = (u8)off;
        *op++ = (u8)(off >> 8);
        ip += MINMATCH;
        match += MINMATCH;
        const u8 *start = ip;
        while (ip + 8 <= matchlimit) {
          uint64_t diff = read64(ip) ^ read64(match);
          if (diff != 0) {
            ip += __builtin_ctzll(diff) >> 3;
            goto counted;
          }
          ip += 8;
          match += 8;
        }
        while (ip < matchlimit && *ip == *match) {
          ip++;
          match++;
        }
      counted:;
        u32 ml = (u32)(ip - start);
        if (op + 1 + ml / 255 + LASTLITERALS > oend) return 0;
        if (ml >= 15) {
          *token += 15;
          op = put_length(op, ml - 15);
        } else {
          *token += (u8)ml;
        }
        anchor = ip;
        if (ip > mflimit) goto last_literals;
        hash_table[hash4(read32(ip - 2))] = (u32)(ip - 2 - src);
        // a match right here continues without literals
        u32 h = hash4(read32(ip));
        match = src + hash_table[h];
        hash_table[h] = (u32)(ip - src);
        if (match + MAX_DISTANCE >= ip && match < ip && read32(match) == read32(ip)) {
          token = op++;
          if (op > oend) return 0;
          *token = 0;
          continue;
        }
        break;
      }
      ip++;
    }
  }
last_literals:;
  u32 last = (u32)(iend - anchor);
  if (op + 1 + last + (last >= 15 ? (last - 15) / 255 + 1 : 0) > oend) return 0;
  if (last >= 15) {
    *op++ = 15 << 4;
    op = put_length(op, last - 15);
  } else {
    *op++ = (u8)(last << 4);
  }
  __builtin_memcpy(op, anchor, last);
  op += last;
  return (u32)(op - dst);
}

/**
 * Byte shuffle of n elements of `typesize` bytes: byte j of element i goes to plane j, at
 * dst + j * stride + i (the inverse of unshuffle). Typesize 4 uses SIMD shuffles.
 */
__attribute__((export_name("shuffle")))
void shuffle(const u8 *src, u8 *dst, u32 stride, u32 n, u32 typesize) {
  u32 i = 0;
  if (typesize == 4) {
    u8 *p0 = dst, *p1 = dst + stride, *p2 = dst + 2 * stride, *p3 = dst + 3 * stride;
    for (; i + 16 <= n; i += 16) {
      const u8 *s = src + 4 * i;
      v128_t a0 = wasm_v128_load(s), a1 = wasm_v128_load(s + 16), a2 = wasm_v128_load(s + 32), a3 = wasm_v128_load(s + 48);
      // bytes 0 and 1 of elements 0-7, then bytes 2 and 3 of them; the same for elements 8-15
      v128_t t0 = wasm_i8x16_shuffle(a0, a1, 0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
      v128_t t1 = wasm_i8x16_shuffle(a0, a1, 2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
      v128_t t2 = wasm_i8x16_shuffle(a2, a3, 0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
      v128_t t3 = wasm_i8x16_shuffle(a2, a3, 2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
      wasm_v128_store(p0 + i, wasm_i64x2_shuffle(t0, t2, 0, 2));
      wasm_v128_store(p1 + i, wasm_i64x2_shuffle(t0, t2, 1, 3));
      wasm_v128_store(p2 + i, wasm_i64x2_shuffle(t1, t3, 0, 2));
      wasm_v128_store(p3 + i, wasm_i64x2_shuffle(t1, t3, 1, 3));
    }
  }
  for (; i < n; i++) {
    for (u32 j = 0; j < typesize; j++) dst[j * stride + i] = src[i * typesize + j];
  }
}
