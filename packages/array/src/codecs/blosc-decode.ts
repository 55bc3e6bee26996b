// Blosc 1.x chunk decoding (the format zarr-python 2 / numcodecs writes), in plain JS so that
// the input is never copied into a wasm heap. blosclz, lz4/lz4hc and zlib are decoded here;
// bitshuffle, snappy and zstd chunks report `null` from `decodeBloscSync` so the caller can fall
// back to numcodecs' wasm build.
import { readSync } from "node:fs";
import { unzlibSync } from "fflate";
import { takeBuffer } from "@zask/scheduler/buffers";
import { BloscError } from "./errors.js";
import { Lz4Fault } from "./lz4-block.js";
import { decodeBloscLz } from "./blosclz.js";
import { jsKernels, wasmKernels, type BloscKernels, type WasmKernels } from "./blosc-kernels.js";

import { DOBITSHUFFLE, DONT_SPLIT, DOSHUFFLE, HEADER, MAX_SPLITS, MEMCPYED, MIN_BUFFERSIZE } from "./blosc-format.js";

const COMPRESSORS = ["blosclz", "lz4", "snappy", "zlib", "zstd"] as const;

/** The 16-byte blosc 1.x header. */
export interface BloscHeader {
  readonly version: number;
  readonly versionlz: number;
  readonly flags: number;
  readonly typesize: number;
  /** Uncompressed size. */
  readonly nbytes: number;
  readonly blocksize: number;
  /** Compressed size, header included. */
  readonly cbytes: number;
  /** `blosclz`, `lz4` (lz4hc too), `snappy`, `zlib` or `zstd` (or `unknown-N`). */
  readonly compressor: string;
}

function u32(src: Uint8Array, at: number): number {
  return (src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16) | (src[at + 3]! << 24)) >>> 0;
}

function i32(src: Uint8Array, at: number): number {
  return src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16) | (src[at + 3]! << 24);
}

/**
 * Read and check the header of a blosc chunk: throws BloscError when it is shorter than 16
 * bytes, of an unknown format version, or claims more bytes than it has (`length`: the whole
 * chunk's, when `src` holds only its start).
 *
 * @example
 * ```ts
 * const { nbytes, typesize, compressor } = readBloscHeader(chunk);
 * ```
 */
export function readBloscHeader(src: Uint8Array, length: number = src.length): BloscHeader {
  if (src.length < HEADER) throw new BloscError(src.length, `chunk has ${src.length} bytes, shorter than the 16-byte header`);
  const version = src[0]!;
  if (version < 1 || version > 2) throw new BloscError(0, `unknown blosc format version ${version} (blosc 1.x writes 1 or 2)`);
  const flags = src[2]!;
  const typesize = src[3]!;
  const nbytes = u32(src, 4);
  const blocksize = u32(src, 8);
  const cbytes = u32(src, 12);
  if (cbytes > length) throw new BloscError(length, `chunk is truncated: header says ${cbytes} bytes, got ${length}`);
  if (cbytes < HEADER) throw new BloscError(12, `compressed size ${cbytes} is smaller than the header`);
  if (typesize === 0) throw new BloscError(3, "typesize is 0");
  if (nbytes > 0 && blocksize === 0) throw new BloscError(8, "blocksize is 0");
  // blosc never makes a block larger than the chunk (compute_blocksize cuts it to nbytes)
  if (nbytes > 0 && blocksize > nbytes) throw new BloscError(8, `blocksize ${blocksize} exceeds the chunk's ${nbytes} bytes`);
  if (nbytes > 0x7fffffff) throw new BloscError(4, `uncompressed size ${nbytes} exceeds blosc's 2 GiB limit`);
  const code = flags >>> 5;
  return { version, versionlz: src[1]!, flags, typesize, nbytes, blocksize, cbytes, compressor: COMPRESSORS[code] ?? `unknown-${code}` };
}

/**
 * Whether `decodeBloscSync` decodes this chunk itself (byte shuffle or none, with blosclz, lz4,
 * lz4hc or zlib, or a memcpyed chunk); bitshuffle, snappy and zstd need numcodecs.
 *
 * @example
 * ```ts
 * if (!isNativeBlosc(readBloscHeader(chunk))) await fallback.decode(chunk);
 * ```
 */
export function isNativeBlosc(h: BloscHeader): boolean {
  if (h.flags & MEMCPYED) return true;
  if (h.flags & DOBITSHUFFLE) return false;
  return h.compressor === "blosclz" || h.compressor === "lz4" || h.compressor === "zlib";
}

/** Options of the blosc decoders. */
export interface BloscDecodeOptions {
  /**
   * Which build of the lz4 and unshuffle loops decodes lz4 chunks: `"auto"` the WebAssembly
   * SIMD one where the runtime has it, `"js"` the plain JS one (same bytes, same errors).
   * @default "auto"
   */
  readonly kernels?: "auto" | "js";
  /**
   * The most bytes the chunk may decode to (its shape × item size): a header that claims more
   * is a BloscError before anything is allocated.
   * @default 2 GiB, blosc's own limit
   */
  readonly maxBytes?: number;
}

/** Refuse a header whose uncompressed size is more than the chunk can hold. */
export function checkBloscSize(h: BloscHeader, maxBytes: number | undefined): void {
  if (maxBytes !== undefined && h.nbytes > maxBytes) throw new BloscError(4, `uncompressed size ${h.nbytes} exceeds the chunk's ${maxBytes} bytes`);
}

/**
 * Decode a blosc 1.x chunk synchronously into `out` (exactly `nbytes` long) or a new array.
 * Returns `null` when the chunk needs a codec this decoder leaves to numcodecs (see
 * `isNativeBlosc`). Truncated or corrupt chunks throw BloscError; nothing is read out of bounds.
 * lz4 blocks are decoded by the WebAssembly SIMD kernels (blosc-kernels.ts) unless
 * `options.kernels` is `"js"`.
 *
 * @example
 * ```ts
 * const bytes = decodeBloscSync(chunk) ?? (await numcodecsBlosc.decode(chunk));
 * ```
 */
export function decodeBloscSync(src: Uint8Array, out?: Uint8Array, options: BloscDecodeOptions = {}): Uint8Array | null {
  const h = readBloscHeader(src);
  checkBloscSize(h, options.maxBytes);
  if (!isNativeBlosc(h)) return null;
  const { flags, nbytes, blocksize, cbytes } = h;
  out = outputFor(h, out);
  if (nbytes === 0) return out;

  if (flags & MEMCPYED) {
    checkMemcpyed(h);
    out.set(src.subarray(HEADER, HEADER + nbytes));
    return out;
  }

  const nblocks = Math.ceil(nbytes / blocksize);
  const starts = blockStarts(src, HEADER, nblocks, cbytes);
  const ends = blockEnds(starts, cbytes);
  const wasm = options.kernels === "js" ? null : undefined;
  for (let b = 0; b < nblocks; b++) decodeBlockInto(h, b, src, starts[b]!, ends[b]!, 0, out, wasm);
  return out;
}

/**
 * The `nblocks` block starts of a chunk of `cbytes`, read from `table` at `at` (where the
 * chunk's offset 16 is), each checked to lie in the chunk's data after the table.
 */
function blockStarts(table: Uint8Array, at: number, nblocks: number, cbytes: number): Int32Array {
  const dataStart = HEADER + 4 * nblocks;
  if (dataStart > cbytes) throw new BloscError(HEADER, `${nblocks} block starts do not fit in ${cbytes} bytes`);
  const starts = new Int32Array(nblocks);
  for (let b = 0; b < nblocks; b++) {
    const ip = i32(table, at + 4 * b);
    if (ip < dataStart || ip >= cbytes) throw new BloscError(HEADER + 4 * b, `block ${b} starts at ${ip}, outside [${dataStart}, ${cbytes})`);
    starts[b] = ip;
  }
  return starts;
}

/**
 * Where each block's bytes end: at the next block's start (blosc writes them in order), else
 * at the end of the chunk. Found by sorting, so blocks stored out of order still work.
 */
function blockEnds(starts: Int32Array, cbytes: number): Int32Array {
  const sorted = Int32Array.from(starts).sort();
  const ends = new Int32Array(starts.length);
  for (let b = 0; b < starts.length; b++) {
    const ip = starts[b]!;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! <= ip) lo = mid + 1;
      else hi = mid;
    }
    ends[b] = lo < sorted.length ? sorted[lo]! : cbytes;
  }
  return ends;
}

/**
 * Decode block `b` (its compressed bytes are `src[ip, end)`, at `base + ip` in the chunk) into
 * `out`: with the wasm kernels when this thread has them (the block's bytes are copied into
 * their memory and the decoded block copied out), else with the JS ones in place.
 */
function decodeBlockInto(h: BloscHeader, b: number, src: Uint8Array, ip: number, end: number, base: number, out: Uint8Array, only?: null, shift = 0): void {
  const wasm = only !== null && h.flags >>> 5 === 1 ? wasmKernels() : null;
  if (wasm === null) {
    // 0 - shift, not -shift: a -0 would make the block's output offsets doubles
    decodeBlock(h, b, src, ip, end, base, out, 0 - shift, jsKernels);
    return;
  }
  const bsize = Math.min(h.blocksize, h.nbytes - b * h.blocksize);
  const mem = wasm.prepare(end - ip, h.blocksize, h.typesize);
  mem.bytes.set(src.subarray(ip, end), mem.input);
  decodeBlock(h, b, mem.bytes, mem.input, mem.input + (end - ip), base + ip - mem.input, mem.bytes, mem.output - b * h.blocksize, wasm);
  out.set(mem.bytes.subarray(mem.output, mem.output + bsize), b * h.blocksize - shift);
}

/**
 * Decode only the blocks of the blosc chunk `src` that hold its decoded bytes [from, to): a
 * selection of a few rows of a big chunk decodes a block or two, not the chunk (zarr-python's
 * `partial_decompress`). Returns those blocks' bytes (in a buffer from the thread's pool, see
 * {@link takeBuffer}) and where byte `from` lies in them, or `null` when the chunk needs
 * numcodecs. The header and every block start are checked as a whole decode checks them; a
 * range past the chunk's end is a {@link BloscError}.
 *
 * @example
 * ```ts
 * const part = decodeBloscRange(chunk, 400 * 100, 400 * 200); // rows 100:200 of 400-byte rows
 * ```
 */
export function decodeBloscRange(src: Uint8Array, from: number, to: number, options: BloscDecodeOptions = {}): { bytes: Uint8Array; offset: number } | null {
  const h = readBloscHeader(src);
  checkBloscSize(h, options.maxBytes);
  if (!isNativeBlosc(h)) return null;
  const { flags, nbytes, blocksize, cbytes } = h;
  if (!(from >= 0 && from <= to && to <= nbytes)) throw new BloscError(4, `decoded bytes [${from}, ${to}) asked of a chunk of ${nbytes}`);
  if (flags & MEMCPYED) {
    checkMemcpyed(h);
    const bytes = new Uint8Array(takeBuffer(to - from), 0, to - from);
    bytes.set(src.subarray(HEADER + from, HEADER + to));
    return { bytes, offset: 0 };
  }
  const nblocks = Math.ceil(nbytes / blocksize);
  const starts = blockStarts(src, HEADER, nblocks, cbytes);
  const ends = blockEnds(starts, cbytes);
  const b0 = Math.floor(from / blocksize);
  const b1 = to > from ? Math.floor((to - 1) / blocksize) : b0 - 1;
  const shift = b0 * blocksize;
  const length = Math.max(0, Math.min(nbytes, (b1 + 1) * blocksize) - shift);
  const bytes = new Uint8Array(takeBuffer(length), 0, length);
  const wasm = options.kernels === "js" ? null : undefined;
  for (let b = b0; b <= b1; b++) decodeBlockInto(h, b, src, starts[b]!, ends[b]!, 0, bytes, wasm, shift);
  return { bytes, offset: from - shift };
}

/**
 * The most bytes {@link decodeBloscInWasm} lays out in a thread's WebAssembly memory, which
 * never shrinks: larger chunks decode into buffers of their own.
 */
export const MAX_WASM_DECODE_BYTES = 64 * 2 ** 20;

/** Chunks decoded into this thread's WebAssembly memory by {@link decodeBloscInWasm}. */
export interface WasmDecoded {
  readonly kernels: WasmKernels;
  /** The memory's bytes: valid until the next decode on this thread. */
  readonly bytes: Uint8Array;
  /** Where each chunk's decoded bytes begin (16-byte aligned). */
  readonly at: readonly number[];
  /** Where each extra region begins (16-byte aligned). */
  readonly extraAt: readonly number[];
}

/**
 * Decode whole blosc chunks into this thread's WebAssembly memory, a region each, and reserve
 * `extra` more regions (their sizes in bytes) after them, so that a kernel consumes the
 * decoded values where they lie: nothing is allocated, and nothing copied out. `maxBytes[i]`
 * is the most chunk i may decode to. Returns `null`, having decoded nothing, where the wasm
 * kernels are missing, a chunk needs numcodecs, or the regions would pass
 * {@link MAX_WASM_DECODE_BYTES}. A bad chunk throws what `onError(i, cause)` makes of the
 * BloscError or Lz4Fault its decode threw.
 *
 * @example
 * ```ts
 * const d = decodeBloscInWasm([indicesChunk], [4 * n], [4 * n], (i, e) => e as Error);
 * if (d !== null) new Int32Array(d.bytes.buffer, d.at[0], n); // the decoded indices
 * ```
 */
export function decodeBloscInWasm(
  srcs: readonly Uint8Array[],
  maxBytes: readonly number[],
  extra: readonly number[],
  onError: (chunk: number, cause: unknown) => Error,
): WasmDecoded | null {
  const wasm = wasmKernels();
  if (wasm === null) return null;
  const hs: BloscHeader[] = [];
  const tables: ({ starts: Int32Array; ends: Int32Array } | null)[] = [];
  let input = 0;
  let block = 0;
  let typesize = 1;
  let total = 0;
  for (let i = 0; i < srcs.length; i++) {
    try {
      const h = readBloscHeader(srcs[i]!);
      checkBloscSize(h, maxBytes[i]);
      if (!isNativeBlosc(h)) return null;
      hs.push(h);
      total += h.nbytes;
      if (h.nbytes === 0 || h.flags & MEMCPYED) {
        if (h.flags & MEMCPYED) checkMemcpyed(h);
        tables.push(null);
        continue;
      }
      const nblocks = Math.ceil(h.nbytes / h.blocksize);
      const starts = blockStarts(srcs[i]!, HEADER, nblocks, h.cbytes);
      const ends = blockEnds(starts, h.cbytes);
      for (let b = 0; b < nblocks; b++) input = Math.max(input, ends[b]! - starts[b]!);
      block = Math.max(block, h.blocksize);
      typesize = Math.max(typesize, h.typesize);
      tables.push({ starts, ends });
    } catch (cause) {
      throw onError(i, cause);
    }
  }
  for (const size of extra) total += size;
  if (total + input + block > MAX_WASM_DECODE_BYTES) return null;
  const { bytes, at } = wasm.regions(input, block, typesize, [...hs.map((h) => h.nbytes), ...extra]);
  for (let i = 0; i < srcs.length; i++) {
    const h = hs[i]!;
    const src = srcs[i]!;
    const out = at[i]!;
    try {
      if (h.flags & MEMCPYED) bytes.set(src.subarray(HEADER, HEADER + h.nbytes), out);
      const table = tables[i];
      if (table === null || table === undefined) continue;
      const lz4 = h.flags >>> 5 === 1;
      for (let b = 0; b < table.starts.length; b++) {
        const ip = table.starts[b]!;
        const end = table.ends[b]!;
        if (!lz4) {
          decodeBlock(h, b, src, ip, end, 0, bytes, out, jsKernels);
          continue;
        }
        // the wasm kernels read only their memory: the block's bytes are copied in
        bytes.set(src.subarray(ip, end), wasm.input);
        decodeBlock(h, b, bytes, wasm.input, wasm.input + (end - ip), ip - wasm.input, bytes, out, wasm);
      }
    } catch (cause) {
      throw onError(i, cause);
    }
  }
  return { kernels: wasm, bytes, at: at.slice(0, srcs.length), extraAt: at.slice(srcs.length) };
}

/** The caller's output checked against the chunk's size, or a new one. */
function outputFor(h: BloscHeader, out: Uint8Array | undefined): Uint8Array {
  // Every output byte is written by the decoders (or they throw), so skip the zero-fill.
  if (out === undefined) return new Uint8Array(takeBuffer(h.nbytes), 0, h.nbytes);
  if (out.length !== h.nbytes) throw new RangeError(`Expected \`out\` to have ${h.nbytes} bytes, got ${out.length}`);
  return out;
}

/** A memcpyed chunk is the header and the raw bytes, nothing else. */
function checkMemcpyed(h: BloscHeader): void {
  if (h.cbytes !== h.nbytes + HEADER)
    throw new BloscError(12, `memcpyed chunk of ${h.nbytes} bytes has compressed size ${h.cbytes}, expected ${h.nbytes + HEADER}`);
}

/**
 * Decode a blosc chunk from an open file, a block at a time: only the header, the block starts
 * and one block's compressed bytes (a few hundred KiB) are read into memory at once, into a
 * buffer reused across calls, instead of the whole compressed chunk. `size` is the file's size.
 * Returns `null`, having written nothing, when the chunk needs numcodecs (see `isNativeBlosc`).
 *
 * @example
 * ```ts
 * const fd = openSync(path, "r");
 * const bytes = decodeBloscFile(fd, fstatSync(fd).size) ?? (await numcodecsBlosc.decode(readFileSync(path)));
 * ```
 */
export function decodeBloscFile(fd: number, size: number, out?: Uint8Array, options: Pick<BloscDecodeOptions, "maxBytes"> = {}): Uint8Array | null {
  const head = readAt(fd, 0, Math.min(size, HEADER), 0);
  const h = readBloscHeader(head, size);
  checkBloscSize(h, options.maxBytes);
  if (!isNativeBlosc(h)) return null;
  const { flags, nbytes, blocksize, cbytes } = h;
  out = outputFor(h, out);
  if (nbytes === 0) return out;
  if (flags & MEMCPYED) {
    checkMemcpyed(h);
    readInto(fd, out, 0, nbytes, HEADER);
    return out;
  }
  const nblocks = Math.ceil(nbytes / blocksize);
  if (HEADER + 4 * nblocks > cbytes) throw new BloscError(HEADER, `${nblocks} block starts do not fit in ${cbytes} bytes`);
  const starts = blockStarts(readAt(fd, HEADER, 4 * nblocks, 0), 0, nblocks, cbytes);
  const ends = blockEnds(starts, cbytes);
  for (let b = 0; b < nblocks; b++) {
    const ip = starts[b]!;
    const end = ends[b]!;
    decodeBlockInto(h, b, readAt(fd, ip, end - ip, 1), 0, end - ip, ip, out);
  }
  return out;
}

// The file reader's buffers (slot 0: header and block starts, slot 1: one block), per thread.
const fileBuffers = [new Uint8Array(0), new Uint8Array(0)];

function readAt(fd: number, position: number, length: number, slot: number): Uint8Array {
  if (fileBuffers[slot]!.length < length) fileBuffers[slot] = new Uint8Array(Math.max(length, 2 * fileBuffers[slot]!.length));
  const buf = fileBuffers[slot]!;
  readInto(fd, buf, 0, length, position);
  return buf.subarray(0, length);
}

function readInto(fd: number, buf: Uint8Array, offset: number, length: number, position: number): void {
  let n = 0;
  while (n < length) {
    const got = readSync(fd, buf, offset + n, length - n, position + n);
    if (got === 0) throw new BloscError(position + n, `chunk file ends at ${position + n}, expected ${position + length} bytes`);
    n += got;
  }
}

/**
 * Decode block `b` of chunk `h` into `out` at `outAt + b * blocksize` with kernels `k`: its
 * compressed bytes are `src[ip, end)`, which sit at `base + ip` in the chunk (for error offsets).
 */
function decodeBlock(h: BloscHeader, b: number, src: Uint8Array, ip: number, end: number, base: number, out: Uint8Array, outAt: number, k: BloscKernels): void {
  const { flags, typesize, nbytes, blocksize } = h;
  const nblocks = Math.ceil(nbytes / blocksize);
  const leftover = nbytes % blocksize;
  const shuffled = (flags & DOSHUFFLE) !== 0 && typesize > 1;
  // Shuffled blocks decompress into `tmp`, split j (= byte plane j) at j * stride with the
  // stride rounded up to 4 so that unshuffle can read the planes as 32-bit words.
  const tmp = shuffled ? k.scratch(blocksize + 4 * typesize) : undefined;
  const canSplit = (flags & DONT_SPLIT) === 0 && typesize <= MAX_SPLITS && Math.floor(blocksize / typesize) >= MIN_BUFFERSIZE;
  const code = flags >>> 5;
  const last = b === nblocks - 1 && leftover > 0;
  const bsize = last ? leftover : blocksize;
  const nsplits = canSplit && !last ? typesize : 1;
  const neblock = Math.floor(bsize / nsplits);
  const stride = tmp && nsplits > 1 ? (neblock + 3) & ~3 : neblock;
  // Without shuffle, decompress straight into the output.
  const dst = tmp ? tmp.bytes : out;
  let op = tmp ? tmp.at : outAt + b * blocksize;
  for (let s = 0; s < nsplits; s++) {
    if (ip + 4 > end) throw new BloscError(base + ip, `block ${b} split ${s} size runs past the end`);
    const csize = i32(src, ip);
    ip += 4;
    if (csize <= 0 || ip + csize > end) throw new BloscError(base + ip - 4, `block ${b} split ${s} claims ${csize} compressed bytes, ${end - ip} left`);
    if (csize === neblock) {
      dst.set(src.subarray(ip, ip + neblock), op);
    } else {
      let stop: number;
      try {
        stop = decompressSplit(code, src, ip, ip + csize, dst, op, op + neblock, k);
      } catch (e) {
        if (e instanceof Lz4Fault) throw new BloscError(base + e.offset, `block ${b} split ${s}: ${e.message}`, { cause: e });
        if (e instanceof BloscError) throw base === 0 ? e : new BloscError(base + e.offset, e.reason, { cause: e });
        throw new BloscError(base + ip, `block ${b} split ${s}: ${(e as Error).message}`, { cause: e });
      }
      if (stop - op !== neblock) throw new BloscError(base + ip, `block ${b} split ${s} decompressed to ${stop - op} bytes, expected ${neblock}`);
    }
    ip += csize;
    op += stride;
  }
  if (nsplits * neblock !== bsize) throw new BloscError(HEADER + 4 * b, `block ${b} of ${bsize} bytes does not split into ${nsplits}`);
  if (tmp) k.unshuffle(tmp.bytes, tmp.at, nsplits > 1 ? stride : Math.floor(bsize / typesize), out, outAt + b * blocksize, bsize, typesize);
}

function decompressSplit(code: number, src: Uint8Array, start: number, end: number, dst: Uint8Array, dStart: number, dEnd: number, k: BloscKernels): number {
  switch (code) {
    case 0:
      return decodeBloscLz(src, start, end, dst, dStart, dEnd);
    case 1:
      return k.lz4(src, start, end, dst, dStart, dEnd);
    case 3: {
      const target = dst.subarray(dStart, dEnd);
      const got = unzlibSync(src.subarray(start, end), { out: target });
      if (got.buffer !== target.buffer || got.byteOffset !== target.byteOffset) {
        // fflate returned a fresh buffer (output did not fit): that is a size mismatch.
        if (got.length > target.length) throw new BloscError(start, `zlib stream inflates past ${target.length} bytes`);
        target.set(got);
      }
      return dStart + got.length;
    }
    default:
      throw new BloscError(start, `compressor code ${code} is not decoded natively`);
  }
}
