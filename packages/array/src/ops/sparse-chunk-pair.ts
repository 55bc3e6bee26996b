// A chunk pair of a sparse matrix: `data` chunk c and `indices` chunk c (chunked alike), read
// in one task that scans the stored values it needs and drops both chunks. What the tasks over
// chunk pairs share (sparse-pick.ts, sparse-reduce-pair.ts): where the pair's values lie, its
// checks, and its decode into this thread's WebAssembly memory.
import { recycleBody } from "@zask/scheduler/body-pool";
import { recycleBuffer } from "@zask/scheduler/buffers";
import { decodeBloscInWasm, type WasmDecoded } from "../codecs/blosc-decode.js";
import { wasmKernels } from "../codecs/blosc-kernels.js";
import type { DataType, TypedArray } from "../dtype.js";
import { ChunkDecodeError, SparseStructureError } from "../errors.js";
import { bloscOnlyOf, decodeChunk, type DecodeArgs } from "./zarr.js";

/** Which stored values of one chunk pair a task reads. */
export interface ChunkPair {
  /** The chunk's index in both `data` and `indices` (chunked alike). */
  readonly chunk: number;
  /** Chunk length of `data` and `indices`. */
  readonly chunkLen: number;
  /** Global stored positions [p0, p1) inside the chunk that the task reads. */
  readonly p0: number;
  readonly p1: number;
  /** Minor length of the matrix; indices outside [0, minor) are refused. */
  readonly minor: number;
  readonly dtype: DataType;
  /** The matrix, for errors. */
  readonly path: string;
  readonly url: string | undefined;
}

/** The decode op's arguments after the chunk's bytes: its array's metadata, coordinates, block shape and where it is. */
export type DecodeTail = DecodeArgs extends [unknown, ...infer Rest] ? Rest : never;

/** The error of an index outside [0, minor) at global stored position `at`. */
export function badIndex(pair: ChunkPair, at: number, j: number | bigint): SparseStructureError {
  return new SparseStructureError(pair.path, pair.url, at, `expected indices in [0, ${pair.minor}), got ${j} at position ${at}`);
}

/** A {@link SparseStructureError} when the chunk, cut to its array's bounds (`length`), ends before `p1`. */
export function checkHolds(pair: ChunkPair, length: number, what: string): void {
  const { chunk, chunkLen, p1, path, url } = pair;
  const base = chunk * chunkLen;
  if (length < p1 - base) {
    throw new SparseStructureError(
      path,
      url,
      p1 - 1,
      `expected ${what} to hold position ${p1 - 1}, as indptr says, but its chunk ${chunk} ends at ${base + length}`,
    );
  }
}

/** The decoded size a blosc chunk's header states (its bytes 4-7). */
function readDecodedSize(chunk: Uint8Array): number {
  return (chunk[4]! | (chunk[5]! << 8) | (chunk[6]! << 16) | (chunk[7]! << 24)) >>> 0;
}

/**
 * Decode a chunk pair whose chunks are plain blosc (see bloscOnlyOf) with int32 indices into
 * this thread's WebAssembly memory: `at[0]` is where the indices begin, `at[1]` the values,
 * and `extra` regions (their sizes in bytes) follow for the caller's kernel. Both bodies go
 * back to the body pool. `undefined`, having decoded nothing, when this path does not apply
 * (other codecs or dtypes, a missing chunk, no WebAssembly SIMD). A chunk shorter than its
 * array's chunk, or than `p1` needs, is refused as decodeChunk and the gathers refuse it.
 */
export function decodePairInWasm(
  pair: ChunkPair,
  dataBytes: DecodeArgs[0],
  indicesBytes: DecodeArgs[0],
  dataDecode: DecodeTail,
  indicesDecode: DecodeTail,
  extra: readonly number[],
): WasmDecoded | undefined {
  if (!(dataBytes instanceof Uint8Array && indicesBytes instanceof Uint8Array)) return undefined;
  const [dMeta, dCoords, dShape, dRef] = dataDecode;
  const [xMeta, xCoords, xShape, xRef] = indicesDecode;
  const dPlan = bloscOnlyOf(dMeta);
  const xPlan = bloscOnlyOf(xMeta);
  const { chunkLen, dtype } = pair;
  if (dPlan === null || xPlan === null || xMeta.dtype !== "int32" || dMeta.dtype !== dtype || dtype === "string") return undefined;
  if (dPlan.chunkShape[0] !== chunkLen || xPlan.chunkShape[0] !== chunkLen) return undefined;
  checkHolds(pair, xShape[0]!, "indices");
  checkHolds(pair, dShape[0]!, "data");
  const refs = [xRef, dRef] as const;
  const metas = [xMeta, dMeta] as const;
  const coords = [xCoords, dCoords] as const;
  const keyOf = (i: number): string => refs[i]?.key ?? coords[i]!.join(".");
  const decoded = decodeBloscInWasm([indicesBytes, dataBytes], [4 * chunkLen, dPlan.itemsize * chunkLen], extra, (i, cause) => {
    const what = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    return new ChunkDecodeError(refs[i]?.url ?? keyOf(i), metas[i]!.path ?? "/", keyOf(i), `the codecs refused its bytes (${what})`, { cause });
  });
  if (decoded === null) return undefined;
  for (const [i, b] of [indicesBytes, dataBytes].entries()) {
    // a chunk that decodes to fewer values than the array's chunk holds is refused as decodeChunk does
    const want = (i === 0 ? 4 : dPlan.itemsize) * chunkLen;
    const got = readDecodedSize(b);
    if (got !== want) throw new ChunkDecodeError(refs[i]?.url ?? keyOf(i), metas[i]!.path ?? "/", keyOf(i), `decoded to ${got} bytes, expected ${want}`);
  }
  // both bodies are decoded: they go back for the next responses
  recycleBody(indicesBytes);
  recycleBody(dataBytes);
  return decoded;
}

/** A chunk pair decoded by its own codecs, ready to be laid out in WebAssembly memory. */
export interface DecodedForWasm {
  /**
   * Copies both chunks into this thread's WebAssembly memory, laid out as decodePairInWasm lays
   * them out, with `extra` regions after them, and gives the decoded buffers back. Call it right
   * before the kernel that reads them: the memory is this thread's, and the next decode reuses it.
   */
  place(extra: readonly number[]): WasmDecoded;
}

/**
 * The chunk pair of a task that decodePairInWasm does not take (zstd, zlib, gzip, no
 * compressor, blosc with filters) decoded by its codecs, so the same WebAssembly kernels then
 * scan it after one copy each. `undefined`, having decoded nothing, when they cannot: no
 * WebAssembly SIMD, indices not stored as int32, values of another dtype than the pair's,
 * strings. Refuses a chunk that ends before `p1`, as the other decodes do.
 */
export async function decodePairForWasm(
  pair: ChunkPair,
  dataBytes: DecodeArgs[0],
  indicesBytes: DecodeArgs[0],
  dataDecode: DecodeTail,
  indicesDecode: DecodeTail,
): Promise<DecodedForWasm | undefined> {
  const kernels = wasmKernels();
  const { dtype } = pair;
  if (kernels === null || dtype === "string" || indicesDecode[0].dtype !== "int32" || dataDecode[0].dtype !== dtype) return undefined;
  const ixBlock = await decodeChunk(indicesBytes, ...indicesDecode);
  checkHolds(pair, ixBlock.data.length, "indices");
  const dBlock = await decodeChunk(dataBytes, ...dataDecode);
  checkHolds(pair, dBlock.data.length, "data");
  // int32 metadata decodes to an Int32Array; the bytes are consumed, so no way back from here
  const ix = ixBlock.data instanceof Int32Array ? ixBlock.data : Int32Array.from(ixBlock.data as ArrayLike<number>);
  const values = dBlock.data as TypedArray;
  return {
    place(extra) {
      // regions of the array's whole chunk, as the blosc decode lays them out (an edge chunk is shorter)
      const len = pair.chunkLen;
      const { bytes, at } = kernels.regions(0, 0, 4, [4 * Math.max(len, ix.length), values.BYTES_PER_ELEMENT * Math.max(len, values.length), ...extra]);
      bytes.set(new Uint8Array(ix.buffer, ix.byteOffset, ix.byteLength), at[0]!);
      bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at[1]!);
      recycleBuffer(ix.buffer as ArrayBuffer);
      recycleBuffer(values.buffer as ArrayBuffer);
      return { kernels, bytes, at: at.slice(0, 2), extraAt: at.slice(2) };
    },
  };
}
