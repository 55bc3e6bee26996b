// The two hot loops of blosc decoding behind one interface, in two builds: plain JS
// (lz4-block.ts, unshuffle.ts) and WebAssembly with SIMD (../../wasm/blosc-kernels.c, embedded
// by blosc-kernels-wasm.ts). The wasm kernels only read and write their own linear memory, so a
// block is copied in, decoded there and copied out: two memcpys, against lz4 and unshuffle
// loops 2-4x faster than the JS ones (benchmarks/blosc.bench.ts). A caller that consumes the
// decoded bytes with a kernel too (the sparse pick) decodes whole chunks into regions of the
// memory and skips the copy out (`regions`, `pickI32`).
import type { DataType } from "../dtype.js";
import { BLOSC_KERNELS_WASM } from "./blosc-kernels-wasm.js";
import { decodeLz4Block, Lz4Fault } from "./lz4-block.js";
import { unshuffleBlock } from "./unshuffle.js";

/** Where a block's bytes are decoded: its split planes (`tmp`) and its output. */
export interface BloscKernels {
  /** A scratch region of at least `size` bytes (the same one until the next call). */
  scratch(size: number): { bytes: Uint8Array; at: number };
  /** LZ4-decompress `src[start, end)` into `dst[dStart, dEnd)`; returns the output's end. Throws Lz4Fault. */
  lz4(src: Uint8Array, start: number, end: number, dst: Uint8Array, dStart: number, dEnd: number): number;
  /** Byte-unshuffle `size` bytes (planes `stride` apart from `sOff`) into `dst` at `dOff`. */
  unshuffle(src: Uint8Array, sOff: number, stride: number, dst: Uint8Array, dOff: number, size: number, typesize: number): void;
}

let jsScratch = new Uint8Array(0);

/** The JS kernels, working on any arrays. */
export const jsKernels: BloscKernels = {
  scratch(size) {
    // one per thread, reused: allocating it per chunk costs a zero-fill of the whole chunk
    if (jsScratch.length < size) jsScratch = new Uint8Array(size);
    return { bytes: jsScratch, at: 0 };
  },
  lz4: decodeLz4Block,
  unshuffle: unshuffleBlock,
};

/** Bytes the wasm kernels may read past a source's end or write past an output's end. */
const SLACK = 64;
/** Below this address the module keeps its stack (64 KiB by wasm-ld's default) and data. */
const BASE = 128 * 1024;

// The few WebAssembly JS API types used here (this project's TypeScript libs have no DOM).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

interface WasmExports {
  lz4_decode(src: number, start: number, end: number, dst: number, dStart: number, dEnd: number): number;
  unshuffle(src: number, stride: number, dst: number, n: number, typesize: number): void;
  fault_offset(): number;
  pick_i32(ix: number, n: number, table: number, minor: number, pos: number, tgt: number, nfew: number, c0: number, c1: number, c2: number, c3: number): number;
  lz4_compress(src: number, n: number, dst: number, cap: number): number;
  reduce_i32(ix: number, v: number, ranges: number, nranges: number, minor: number, out: number, dtype: number, byIndex: number, count: number): number;
  lines_increase_i32(ix: number, ranges: number, nranges: number, starts: number, nstarts: number): number;
  moments_i32(
    ix: number,
    v: number,
    ranges: number,
    nranges: number,
    minor: number,
    mean: number,
    cnt: number,
    m2: number,
    dtype: number,
    byIndex: number,
  ): number;
  extreme_i32(
    ix: number,
    v: number,
    ranges: number,
    nranges: number,
    minor: number,
    out: number,
    cnt: number,
    dtype: number,
    byIndex: number,
    max: number,
  ): number;
  shuffle(src: number, dst: number, stride: number, n: number, typesize: number): void;
}

/**
 * The wasm kernels and their memory: regions for one block's compressed bytes (`input`), its
 * split planes (`scratch`) and its decoded bytes (`output`), laid out from {@link BASE} and
 * grown on demand. Their `lz4` and `unshuffle` take arrays that are this memory.
 */
export class WasmKernels implements BloscKernels {
  readonly #exports: WasmExports;
  readonly #memory: WasmMemory;
  #bytes: Uint8Array;
  #input = BASE;
  #scratch = BASE;
  #output = BASE;

  constructor(exports: WasmExports, memory: WasmMemory) {
    this.#exports = exports;
    this.#memory = memory;
    this.#bytes = new Uint8Array(memory.buffer);
  }

  /**
   * Lay the regions out for a block of `inputSize` compressed and `blockSize` decoded bytes;
   * returns the memory's bytes and where to copy the input and find the output.
   */
  prepare(inputSize: number, blockSize: number, typesize: number): { bytes: Uint8Array; input: number; output: number } {
    const align = (n: number): number => (n + 15) & ~15;
    this.#input = BASE;
    this.#scratch = align(this.#input + inputSize + SLACK);
    this.#output = align(this.#scratch + blockSize + 4 * typesize + SLACK);
    const end = this.#output + blockSize + SLACK;
    if (end > this.#memory.buffer.byteLength) {
      this.#memory.grow(Math.ceil((end - this.#memory.buffer.byteLength) / 65536));
      this.#bytes = new Uint8Array(this.#memory.buffer);
    }
    return { bytes: this.#bytes, input: this.#input, output: this.#output };
  }

  /**
   * Lay the block regions out for blocks of up to `inputSize` compressed and `blockSize`
   * decoded bytes, then `sizes` regions after them (16-byte aligned, each with slack for the
   * kernels' over-writes) that whole chunks decode into; returns the memory's bytes and the
   * regions' offsets. What earlier layouts held is overwritten.
   */
  regions(inputSize: number, blockSize: number, typesize: number, sizes: readonly number[]): { bytes: Uint8Array; at: number[] } {
    const align = (n: number): number => (n + 15) & ~15;
    this.#input = BASE;
    this.#scratch = align(this.#input + inputSize + SLACK);
    // no block output region: blocks decode straight into their chunk's region
    this.#output = align(this.#scratch + blockSize + 4 * typesize + SLACK);
    const at: number[] = [];
    let end = this.#output;
    for (const size of sizes) {
      at.push(end);
      end = align(end + size + SLACK);
    }
    if (end > this.#memory.buffer.byteLength) {
      this.#memory.grow(Math.ceil((end - this.#memory.buffer.byteLength) / 65536));
      this.#bytes = new Uint8Array(this.#memory.buffer);
    }
    return { bytes: this.#bytes, at };
  }

  /**
   * Lay out `sizes` regions from {@link BASE} (16-byte aligned, each with slack for the
   * kernels' over-reads), for encoding; returns the memory's bytes and the regions' offsets.
   * What earlier layouts held is overwritten.
   */
  layout(sizes: readonly number[]): { bytes: Uint8Array; at: number[] } {
    const at: number[] = [];
    let end = BASE;
    for (const size of sizes) {
      at.push(end);
      end = (end + size + SLACK + 15) & ~15;
    }
    if (end > this.#memory.buffer.byteLength) {
      this.#memory.grow(Math.ceil((end - this.#memory.buffer.byteLength) / 65536));
      this.#bytes = new Uint8Array(this.#memory.buffer);
    }
    return { bytes: this.#bytes, at };
  }

  /** LZ4-compress `n` bytes at `src` into at most `cap` bytes at `dst` (this memory's offsets); the size, or 0 when it does not fit. */
  lz4Compress(src: number, n: number, dst: number, cap: number): number {
    return this.#exports.lz4_compress(src, n, dst, cap);
  }

  /** Byte-shuffle `n` elements of `typesize` bytes at `src` into planes `stride` apart at `dst` (this memory's offsets). */
  shuffle(src: number, dst: number, stride: number, n: number, typesize: number): void {
    this.#exports.shuffle(src, dst, stride, n, typesize);
  }

  /** Where the block area's compressed input goes (after {@link regions} or {@link prepare}). */
  get input(): number {
    return this.#input;
  }

  /**
   * The selected entries of `n` int32 indices at byte offset `ix` of this memory, by `table`
   * (`minor` int32 entries at `table`, -1 where unselected): their positions and table entries
   * go to `pos` and `tgt` (room for n + 1 each). Returns how many, or -1 - k for the first
   * index k outside [0, minor). `few`: the selected minor positions when there are at most
   * four (the kernel then compares four indices at a time with them instead of looking each up).
   */
  pickI32(ix: number, n: number, table: number, minor: number, pos: number, tgt: number, few: readonly number[] = []): number {
    const k = few.length >= 1 && few.length <= 4 ? few.length : 0;
    return this.#exports.pick_i32(ix, n, table, minor, pos, tgt, k, few[0] ?? 0, few[1] ?? 0, few[2] ?? 0, few[3] ?? 0);
  }

  /**
   * Add the stored values of a decoded chunk pair (`dtype` at byte offset `v` of this memory,
   * their int32 indices at `ix`) in `nranges` ranges (int32 [start, end) pairs at `ranges`,
   * positions from `ix` and `v`) into the float64 sums at `out`: each into the slot its index
   * names (`byIndex`, `minor` slots), else all into the first; with `count`, add 1 per nonzero
   * value instead. Returns 0, or -1 - k for the first position k whose index is outside
   * [0, minor). `null` for a dtype the kernel does not take.
   */
  reduceI32(
    ix: number,
    v: number,
    ranges: number,
    nranges: number,
    minor: number,
    out: number,
    dtype: DataType,
    byIndex: boolean,
    count: boolean,
  ): number | null {
    const code = REDUCE_DTYPES.indexOf(dtype);
    if (code < 0) return null;
    return this.#exports.reduce_i32(ix, v, ranges, nranges, minor, out, code, byIndex ? 1 : 0, count ? 1 : 0);
  }

  /**
   * Whether the int32 indices at `ix` strictly increase in every line of the `nranges` ranges
   * at `ranges` (as {@link reduceI32}'s), cut into lines where the `nstarts` int32 positions at
   * `starts` say one begins (in the order the ranges are read, one at each range's start).
   */
  linesIncreaseI32(ix: number, ranges: number, nranges: number, starts: number, nstarts: number): boolean {
    return this.#exports.lines_increase_i32(ix, ranges, nranges, starts, nstarts) === 1;
  }

  /**
   * Per slot (as {@link reduceI32}), the count, mean and M2 of the stored values in the ranges
   * into the float64 regions `cnt`, `mean` and `m2` (zeroed by the caller). Returns as
   * {@link reduceI32}.
   */
  momentsI32(
    ix: number,
    v: number,
    ranges: number,
    nranges: number,
    minor: number,
    mean: number,
    cnt: number,
    m2: number,
    dtype: DataType,
    byIndex: boolean,
  ): number | null {
    const code = REDUCE_DTYPES.indexOf(dtype);
    if (code < 0) return null;
    return this.#exports.moments_i32(ix, v, ranges, nranges, minor, mean, cnt, m2, code, byIndex ? 1 : 0);
  }

  /**
   * Per slot (as {@link reduceI32}), the count of the stored values in the ranges into the
   * float64 region `cnt` (zeroed) and their extreme into `out` (in `dtype`, starting at the
   * caller's sentinel). Returns as {@link reduceI32}.
   */
  extremeI32(
    ix: number,
    v: number,
    ranges: number,
    nranges: number,
    minor: number,
    out: number,
    cnt: number,
    dtype: DataType,
    byIndex: boolean,
    max: boolean,
  ): number | null {
    const code = REDUCE_DTYPES.indexOf(dtype);
    if (code < 0) return null;
    return this.#exports.extreme_i32(ix, v, ranges, nranges, minor, out, cnt, code, byIndex ? 1 : 0, max ? 1 : 0);
  }

  scratch(size: number): { bytes: Uint8Array; at: number } {
    if (this.#scratch + size + SLACK > this.#output)
      throw new RangeError(`Expected a scratch region of at most ${this.#output - this.#scratch - SLACK} bytes, got ${size}`);
    return { bytes: this.#bytes, at: this.#scratch };
  }

  lz4(src: Uint8Array, start: number, end: number, dst: Uint8Array, dStart: number, dEnd: number): number {
    if (src !== this.#bytes || dst !== this.#bytes) return decodeLz4Block(src, start, end, dst, dStart, dEnd);
    const stop = this.#exports.lz4_decode(0, start, end, 0, dStart, dEnd);
    if (stop < 0) {
      // the JS decoder walks the same bytes again to say what was wrong, and where
      decodeLz4Block(src, start, end, dst, dStart, dEnd);
      throw new Lz4Fault(this.#exports.fault_offset(), "malformed lz4 block");
    }
    return stop;
  }

  unshuffle(src: Uint8Array, sOff: number, stride: number, dst: Uint8Array, dOff: number, size: number, typesize: number): void {
    if (src !== this.#bytes || dst !== this.#bytes) return unshuffleBlock(src, sOff, stride, dst, dOff, size, typesize);
    const n = Math.floor(size / typesize);
    const body = n * typesize;
    if (body < size) dst.copyWithin(dOff + body, sOff + body, sOff + size);
    if (n > 0) this.#exports.unshuffle(sOff, stride, dOff, n, typesize);
  }
}

/** The value types of `reduce_i32`, by its code (bool is stored as uint8). */
const REDUCE_DTYPES: readonly DataType[] = ["float32", "float64", "int32", "uint32", "int16", "uint16", "int8", "uint8", "bool"];

/** Whether {@link WasmKernels.reduceI32}, `momentsI32` and `extremeI32` take values of `dtype`. */
export function reducesInWasm(dtype: DataType): boolean {
  return REDUCE_DTYPES.includes(dtype);
}

let wasm: WasmKernels | null | undefined;

/**
 * This thread's wasm kernels, instantiated on first use (synchronously: the module is 3 KB), or
 * `null` where WebAssembly SIMD is not available (then the JS kernels do the work).
 *
 * @example
 * ```ts
 * const kernels = wasmKernels() ?? jsKernels;
 * ```
 */
export function wasmKernels(): WasmKernels | null {
  if (wasm !== undefined) return wasm;
  try {
    const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const memory = new api.Memory({ initial: 8 });
    const module = new api.Module(Buffer.from(BLOSC_KERNELS_WASM, "base64"));
    const instance = new api.Instance(module, { env: { memory } });
    wasm = new WasmKernels(instance.exports as unknown as WasmExports, memory);
  } catch {
    wasm = null;
  }
  return wasm;
}
