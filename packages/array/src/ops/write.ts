// Writing zarr v2 chunks: encode on a worker (cpu), write on the main thread (io).
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as fflate from "fflate";
import { encodeBloscLz4 } from "../codecs/blosc-encode.js";
import { encodeVlenUtf8 } from "../codecs/vlen-utf8.js";
import { allocate, type DataType, type NDArray, type TypedArray } from "../dtype.js";
import { cStrides, copyIndexed } from "./copy-indexed.js";
import { swapBytes } from "../byte-swap.js";

/** A zarr v2 compressor zask can write (numcodecs' JSON configuration). */
export type CompressorConfig =
  | { readonly id: "blosc"; readonly cname?: string; readonly clevel?: number; readonly shuffle?: number; readonly blocksize?: number }
  | { readonly id: "zlib"; readonly level?: number }
  | { readonly id: "gzip"; readonly level?: number };

/** Where `writeChunk` puts bytes: a local directory, or a zarrita store with `set`. */
export type ChunkSink =
  | { readonly kind: "file"; readonly root: string }
  | { readonly kind: "store"; readonly store: { set(key: string, value: Uint8Array): unknown } };

/**
 * cpu op: the bytes of one zarr chunk: the block padded to the full `chunkShape` with `fill`
 * (zarr stores edge chunks whole), in C order, little endian or, with `bigEndian`, big endian
 * (strings: vlen-utf8), then compressed.
 */
export async function encodeChunk(
  block: NDArray,
  chunkShape: readonly number[],
  fill: number | string | boolean | null,
  compressor: CompressorConfig | null,
  bigEndian = false,
): Promise<Uint8Array> {
  const dtype: DataType = block.dtype;
  let data = block.data;
  if (block.shape.some((n, k) => n !== chunkShape[k])) {
    const padded = allocate(
      dtype,
      chunkShape.reduce((a, b) => a * b, 1),
    );
    if (fill !== null && fill !== 0 && fill !== "") {
      const v = dtype === "int64" || dtype === "uint64" ? BigInt(fill as number) : dtype === "bool" ? (fill ? 1 : 0) : fill;
      (padded as unknown as { fill(v: unknown): void }).fill(v);
    }
    copyIndexed(data, cStrides(block.shape), [], padded, cStrides(chunkShape), [], block.shape);
    data = padded;
  }
  let bytes = globalThis.Array.isArray(data)
    ? encodeVlenUtf8(data as string[])
    : new Uint8Array((data as ArrayBufferView).buffer, (data as ArrayBufferView).byteOffset, (data as ArrayBufferView).byteLength);
  const width = globalThis.Array.isArray(data) ? 1 : (data as TypedArray).BYTES_PER_ELEMENT;
  // swapped in a copy: the block may be a view of a value other tasks still read
  if (bigEndian && width > 1) bytes = swapBytes(bytes.slice(), width);
  if (compressor === null) return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  switch (compressor.id) {
    case "zlib":
      return fflate.zlibSync(bytes, { level: (compressor.level ?? 1) as 1 });
    case "gzip":
      return fflate.gzipSync(bytes, { level: (compressor.level ?? 1) as 1 });
    case "blosc": {
      const shuffle = compressor.shuffle ?? 1;
      if ((compressor.cname ?? "lz4") === "lz4" && (shuffle === 0 || shuffle === 1)) {
        const chunk = encodeBloscLz4(bytes, { clevel: compressor.clevel ?? 5, shuffle, typesize: width, blocksize: compressor.blocksize ?? 0 });
        if (chunk !== null) return chunk;
      }
      const { default: Blosc } = await import("numcodecs/blosc");
      const codec = Blosc.fromConfig({
        id: "blosc",
        cname: compressor.cname ?? "lz4",
        clevel: compressor.clevel ?? 5,
        shuffle: compressor.shuffle ?? 1,
        blocksize: compressor.blocksize ?? 0,
      });
      bytes = await codec.encode(bytes);
      return bytes;
    }
  }
}

/** io op: store `bytes` under `key`; returns the number of bytes written. */
export async function writeChunk(ctx: { signal: AbortSignal }, bytes: Uint8Array, sink: ChunkSink, key: string): Promise<number> {
  if (sink.kind === "file") {
    const path = join(sink.root, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes, { signal: ctx.signal });
  } else {
    await sink.store.set(("/" + key) as string, bytes);
  }
  return bytes.byteLength;
}
