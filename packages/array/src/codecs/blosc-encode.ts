// Blosc 1.x encoding with LZ4 and byte shuffle (what anndata and numcodecs write by default),
// framed here and compressed by the WebAssembly kernels: numcodecs' encoder copies its input
// into its heap a byte at a time, slower than compressing it. Chunks follow
// c-blosc 1.21's rules (block size, split streams, raw streams and memcpyed chunks), so c-blosc,
// numcodecs and zask's decoder read them; the compressed bytes are not c-blosc's own.
import { wasmKernels } from "./blosc-kernels.js";

import { DONT_SPLIT, DOSHUFFLE, HEADER, MAX_SPLITS, MEMCPYED, MIN_BUFFERSIZE } from "./blosc-format.js";

const LZ4_FORMAT = 1;
const L1 = 32 * 1024;
/** The largest chunk blosc 1.x takes (its sizes are int32, the header included). */
const MAX_NBYTES = 2 ** 31 - 1 - HEADER;

/** What a chunk is encoded with (numcodecs' Blosc configuration, lz4 only). */
export interface BloscLz4Options {
  /** 0 stores the bytes as they are (a memcpyed chunk); 1 to 9. */
  readonly clevel: number;
  /** 0: none; 1: byte shuffle. */
  readonly shuffle: 0 | 1;
  /** Bytes per item (what shuffle and the split streams go by). */
  readonly typesize: number;
  /** Bytes per block; 0: c-blosc's choice for the level and item size. */
  readonly blocksize: number;
}

/** Whether c-blosc splits a block into one stream per byte of an item (lz4: small items, blocks of at least 128 of them). */
function splits(typesize: number, blocksize: number): boolean {
  return typesize <= MAX_SPLITS && Math.floor(blocksize / typesize) >= MIN_BUFFERSIZE;
}

/** c-blosc 1.21's block size (compute_blocksize) for an lz4 chunk of `nbytes`. */
function blocksizeOf(nbytes: number, typesize: number, clevel: number, forced: number): number {
  if (nbytes < typesize) return 1;
  let blocksize = nbytes;
  if (forced > 0) blocksize = Math.max(forced, MIN_BUFFERSIZE);
  else if (nbytes >= L1) {
    blocksize = L1 * [0.25, 0.5, 1, 2, 4, 4, 8, 8, 8, 8][clevel]!;
    if (clevel > 0 && splits(typesize, blocksize)) {
      // c-blosc enlarges the blocks of split streams: each stream is then a block's worth
      blocksize = Math.min(blocksize, 1 << 18) * typesize;
      blocksize = Math.min(Math.max(blocksize, 1 << 16), 1 << 20);
    }
  }
  blocksize = Math.min(blocksize, nbytes);
  return blocksize > typesize ? Math.floor(blocksize / typesize) * typesize : blocksize;
}

/** The 16-byte header of a chunk. */
function header(out: Uint8Array, flags: number, typesize: number, nbytes: number, blocksize: number, cbytes: number): void {
  const v = new DataView(out.buffer, out.byteOffset, HEADER);
  out[0] = 2;
  out[1] = 1;
  out[2] = flags;
  out[3] = typesize;
  v.setUint32(4, nbytes, true);
  v.setUint32(8, blocksize, true);
  v.setUint32(12, cbytes, true);
}

/** A memcpyed chunk: the header and the bytes as they are. */
function memcpyed(bytes: Uint8Array, flags: number, typesize: number, blocksize: number): Uint8Array {
  const out = new Uint8Array(HEADER + bytes.length);
  header(out, flags | MEMCPYED, typesize, bytes.length, blocksize, out.length);
  out.set(bytes, HEADER);
  return out;
}

/**
 * `bytes` as one blosc chunk compressed with lz4, or `null` where the WebAssembly kernels are
 * not available or the chunk is past blosc's size limit (encode it otherwise).
 *
 * @example
 * ```ts
 * const chunk = encodeBloscLz4(new Uint8Array(new Float32Array(1000).buffer), { clevel: 5, shuffle: 1, typesize: 4, blocksize: 0 });
 * ```
 */
export function encodeBloscLz4(bytes: Uint8Array, options: BloscLz4Options): Uint8Array | null {
  const k = wasmKernels();
  const nbytes = bytes.length;
  if (k === null || nbytes > MAX_NBYTES) return null;
  const clevel = Math.min(Math.max(Math.trunc(options.clevel), 0), 9);
  const typesize = options.typesize >= 1 && options.typesize <= 255 ? Math.trunc(options.typesize) : 1;
  const blocksize = blocksizeOf(nbytes, typesize, clevel, options.blocksize);
  // c-blosc flags a shuffle whatever the item size; one byte's is no change
  const shuffled = options.shuffle === 1 && typesize > 1;
  const split = splits(typesize, blocksize);
  const flags = (LZ4_FORMAT << 5) | (options.shuffle === 1 ? DOSHUFFLE : 0) | (split ? 0 : DONT_SPLIT);
  if (clevel === 0 || nbytes < MIN_BUFFERSIZE) return memcpyed(bytes, flags, typesize, blocksize);
  const nblocks = Math.ceil(nbytes / blocksize);
  const leftover = nbytes % blocksize;
  // past the memcpyed size the chunk would be larger than the bytes: stored as they are instead
  const maxbytes = HEADER + nbytes;
  let op = HEADER + 4 * nblocks;
  if (op > maxbytes) return memcpyed(bytes, flags, typesize, blocksize);
  const out = new Uint8Array(maxbytes);
  const view = new DataView(out.buffer);
  // one block at a time through the kernels' memory, so it holds three blocks whatever the chunk
  const { bytes: mem, at } = k.layout([blocksize, shuffled ? blocksize : 0, blocksize]);
  const [input, tmp, output] = at as [number, number, number];
  for (let b = 0; b < nblocks; b++) {
    const last = b === nblocks - 1 && leftover > 0;
    const bsize = last ? leftover : blocksize;
    mem.set(bytes.subarray(b * blocksize, b * blocksize + bsize), input);
    let src = input;
    if (shuffled) {
      const n = Math.floor(bsize / typesize);
      k.shuffle(input, tmp, n, n, typesize);
      // bytes past the last whole item stay as they are, after the planes
      mem.copyWithin(tmp + n * typesize, input + n * typesize, input + bsize);
      src = tmp;
    }
    view.setInt32(HEADER + 4 * b, op, true);
    const nsplits = split && !last ? typesize : 1;
    const neblock = Math.floor(bsize / nsplits);
    for (let s = 0; s < nsplits; s++) {
      if (op + 4 > maxbytes) return memcpyed(bytes, flags, typesize, blocksize);
      // a stream that does not shrink is stored as it is, its size then equal to its length
      const cap = Math.min(neblock - 1, maxbytes - op - 4);
      let csize = cap > 0 ? k.lz4Compress(src + s * neblock, neblock, output, cap) : 0;
      if (csize === 0) {
        if (op + 4 + neblock > maxbytes) return memcpyed(bytes, flags, typesize, blocksize);
        out.set(mem.subarray(src + s * neblock, src + (s + 1) * neblock), op + 4);
        csize = neblock;
      } else {
        out.set(mem.subarray(output, output + csize), op + 4);
      }
      view.setInt32(op, csize, true);
      op += 4 + csize;
    }
  }
  header(out, flags, typesize, nbytes, blocksize, op);
  return op === maxbytes ? out : out.slice(0, op);
}
