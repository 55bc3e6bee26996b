// Chunk loading: fetch raw bytes on the main thread (io lane), decode on a worker (cpu lane).
// Our own blosc decoder (codecs/), registered in this thread's zarrita before any open: numcodecs' wasm
// blosc copies its input byte by byte through embind (see codecs/blosc-decode.ts).
import "../codecs/register.js";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import * as zarr from "zarrita";
import type { ArrayData, DataType, NDArray } from "../dtype.js";
import type { ChunkFile, ChunkIoContext, ZarrStore } from "../zarr-store.js";
import { ChunkDecodeError, ChunkFetchError } from "../errors.js";
import { cStrides, copyIndexed } from "./copy-indexed.js";
import { allocate, typedArrayConstructor } from "../dtype.js";
import { decodeBloscFile } from "../codecs/blosc-decode.js";
import { PackedStrings } from "../packed-strings.js";
import { forgetBody, recycleBody } from "@zask/scheduler/body-pool";

/** What a worker needs to decode chunks of one zarr array: plain JSON, so it clones to workers. */
export interface ZarrChunkMeta {
  readonly zarrFormat: 2 | 3;
  /** The array's metadata document as stored (`.zarray` or `zarr.json`). */
  readonly document: string;
  readonly dtype: DataType;
  /** Blocks are whole shards (`sharding_indexed`): decode reads the inner chunks from the shard's bytes. */
  readonly sharded?: boolean;
  /** The array's path inside its store, for errors. */
  readonly path?: string;
}

/** Which chunk a block is, for errors: its key relative to the array and its URL or file path. */
export interface ChunkRef {
  /** The chunk's key relative to the array (`0.3`, `c/0/3`). */
  readonly key: string;
  /** The chunk's URL, file path or store location. */
  readonly url: string;
}

/**
 * io op: the raw bytes of one chunk, or `null` when the store has no such chunk (fill value);
 * for a local file store without a cache, a {@link ChunkFile} that `decodeChunk` reads itself.
 * Runs on the main thread so that HTTP goes through the scheduler's I/O lane.
 */
export function fetchChunk(ctx: ChunkIoContext, store: ZarrStore, key: string, chunkBytes: number): Promise<Uint8Array | ChunkFile | null> {
  return store.fetchChunk(ctx, key, chunkBytes);
}

interface Opened {
  array: zarr.Array<zarr.DataType, zarr.Readable>;
  slot: { bytes: Uint8Array | undefined };
}

// One zarrita Array (hence one codec pipeline) per metadata document and string mode, per thread.
const opened = new Map<string, Promise<Opened>>();

/** The codec that reads vlen-utf8 chunks into {@link PackedStrings} (registered with zarrita by useFastVlenUtf8). */
const PACKED_VLEN = "zask.packed-vlen-utf8";

/** `document` with its vlen-utf8 codec swapped for the one that packs the strings. */
function packedDocument(meta: ZarrChunkMeta): string {
  const d = JSON.parse(meta.document) as { filters?: { id?: string }[] | null; codecs?: { name?: string }[] };
  const swapped = (name: string | undefined): boolean => name === "vlen-utf8" || name === "numcodecs.vlen-utf8";
  if (meta.zarrFormat === 2) d.filters = d.filters?.map((f) => (swapped(f.id) ? { ...f, id: PACKED_VLEN } : f)) ?? d.filters;
  else d.codecs = d.codecs?.map((c) => (swapped(c.name) ? { ...c, name: PACKED_VLEN } : c));
  return JSON.stringify(d);
}

function open(meta: ZarrChunkMeta, packed = false): Promise<Opened> {
  const key = packed ? `packed\n${meta.document}` : meta.document;
  let p = opened.get(key);
  if (p === undefined) {
    const doc = new TextEncoder().encode(packed ? packedDocument(meta) : meta.document);
    const docKey = meta.zarrFormat === 2 ? "/.zarray" : "/zarr.json";
    const slot: Opened["slot"] = { bytes: undefined };
    // A store that holds just the metadata and the chunk being decoded: zarrita reads the
    // chunk key synchronously inside getChunk, so the slot is read before it changes.
    const store = {
      get(key: string): Promise<Uint8Array | undefined> {
        return Promise.resolve(key === docKey ? doc : slot.bytes);
      },
    };
    p = (meta.zarrFormat === 2 ? zarr.open.v2(store, { kind: "array", attrs: false }) : zarr.open.v3(store, { kind: "array" })).then((array) => ({
      array,
      slot,
    }));
    opened.set(key, p);
  }
  return p;
}

// A local chunk's compressed bytes are read into this thread's read buffer, reused from chunk
// to chunk: they never outlive the decode (a result that still views them is copied out), so
// a 16 MiB chunk costs no 16 MiB allocation for its input. Taken while in use, since two
// decodes may interleave at their awaits on the main thread (the second reads into its own).
const MAX_READ_BUFFER = 64 * 2 ** 20;
let readBuffer: Uint8Array | undefined = new Uint8Array(0);

function readChunkFile(ref: ChunkFile, into: Uint8Array | undefined): Uint8Array | null {
  let fd: number;
  try {
    fd = openSync(ref.file, "r");
  } catch (cause) {
    if ((cause as { code?: string }).code === "ENOENT") return null;
    throw new ChunkFetchError(ref.file, undefined, { cause });
  }
  try {
    // the size the io op saw, grown if the file grew since (read to the end either way)
    let buf = into !== undefined && into.length >= ref.size + 1 ? into : new Uint8Array(Math.max(ref.size + 1, 4096));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n);
  } catch (cause) {
    throw new ChunkFetchError(ref.file, undefined, { cause });
  } finally {
    closeSync(fd);
  }
}

export interface BloscOnly {
  readonly chunkShape: readonly number[];
  readonly itemsize: number;
}

// Per metadata document: whether its chunks are plain blosc (v2: no filters, C order; v3: the
// codecs `bytes` then `blosc`, which a sharded array's inner chunks may be too; a little-endian
// or single-byte dtype), so that decodeBloscFile can decode them from the file and the partial
// and in-place decoders can read their blosc blocks.
const bloscOnly = new Map<string, BloscOnly | null>();

export function bloscOnlyOf(meta: ZarrChunkMeta): BloscOnly | null {
  let b = bloscOnly.get(meta.document);
  if (b === undefined) {
    b = null;
    if (meta.zarrFormat === 3 && meta.dtype !== "string" && meta.sharded !== true) b = bloscOnlyV3(meta);
    else if (meta.zarrFormat === 2 && meta.dtype !== "string") {
      const d = JSON.parse(meta.document) as {
        chunks?: number[];
        compressor?: { id?: string } | null;
        filters?: unknown[] | null;
        order?: string;
        dtype?: unknown;
      };
      const itemsize = typedArrayConstructor(meta.dtype).BYTES_PER_ELEMENT;
      const dt = typeof d.dtype === "string" ? d.dtype : "";
      const endianOk = dt.startsWith("<") || (dt.startsWith("|") && itemsize === 1);
      if (
        d.compressor?.id === "blosc" &&
        (d.filters == null || d.filters.length === 0) &&
        d.order === "C" &&
        endianOk &&
        dt.slice(2) === String(itemsize) &&
        Array.isArray(d.chunks)
      ) {
        b = { chunkShape: d.chunks, itemsize };
      }
    }
    bloscOnly.set(meta.document, b);
  }
  return b;
}

/** {@link bloscOnlyOf} of a zarr v3 document: a regular grid and exactly the codecs `bytes` (little-endian) and `blosc`. */
function bloscOnlyV3(meta: ZarrChunkMeta): BloscOnly | null {
  type Codec = { name?: unknown; configuration?: Record<string, unknown> };
  const d = JSON.parse(meta.document) as { chunk_grid?: { name?: unknown; configuration?: { chunk_shape?: unknown } }; codecs?: Codec[] };
  const itemsize = typedArrayConstructor(meta.dtype as Exclude<DataType, "string">).BYTES_PER_ELEMENT;
  const codecs = Array.isArray(d.codecs) ? d.codecs : [];
  const shape = d.chunk_grid?.configuration?.chunk_shape;
  const endian = codecs[0]?.configuration?.["endian"];
  if (
    codecs.length === 2 &&
    codecs[0]?.name === "bytes" &&
    (endian === "little" || itemsize === 1) &&
    codecs[1]?.name === "blosc" &&
    d.chunk_grid?.name === "regular" &&
    Array.isArray(shape) &&
    shape.every((c) => Number.isSafeInteger(c) && c > 0)
  ) {
    return { chunkShape: shape as number[], itemsize };
  }
  return null;
}

/**
 * A plain-blosc chunk decoded straight from its file a blosc block at a time (no buffer of the
 * compressed chunk); `undefined` when this path does not apply (then the file is read whole).
 */
function decodeBloscChunkFile(ref: ChunkFile, meta: ZarrChunkMeta, blockShape: readonly number[]): NDArray | undefined {
  const plan = bloscOnlyOf(meta);
  if (plan === null) return undefined;
  let fd: number;
  try {
    fd = openSync(ref.file, "r");
  } catch (cause) {
    if ((cause as { code?: string }).code === "ENOENT") return undefined; // the fill value, below
    throw new ChunkFetchError(ref.file, undefined, { cause });
  }
  let out: Uint8Array | null;
  try {
    out = decodeBloscFile(fd, fstatSync(fd).size, undefined, { maxBytes: plan.chunkShape.reduce((a, c) => a * c, 1) * plan.itemsize });
  } catch (cause) {
    if ((cause as { name?: string }).name === "BloscError") throw cause;
    throw new ChunkFetchError(ref.file, undefined, { cause });
  } finally {
    closeSync(fd);
  }
  const n = plan.chunkShape.reduce((a, c) => a * c, 1);
  if (out === null || out.byteLength !== n * plan.itemsize) return undefined; // numcodecs' codecs, or zarrita's error
  const Ctor = typedArrayConstructor(meta.dtype as Exclude<DataType, "string">);
  const data = new Ctor(out.buffer as ArrayBuffer, out.byteOffset, n);
  const chunk = { data, shape: [...plan.chunkShape], stride: cStrides(plan.chunkShape) };
  return toBlock(chunk as unknown as zarr.Chunk<zarr.DataType>, meta.dtype, blockShape);
}

function isChunkFile(x: Uint8Array | ChunkFile | null): x is ChunkFile {
  return x !== null && !ArrayBuffer.isView(x);
}

/** A decode op's arguments: the chunk's bytes, its array's metadata, its coordinates, its block's shape, and where it is. */
export type DecodeArgs = [
  bytes: Uint8Array | ChunkFile | null,
  meta: ZarrChunkMeta,
  coords: readonly number[],
  blockShape: readonly number[],
  chunk?: ChunkRef,
];

/**
 * cpu op: decode chunk `coords` from `bytes` (`null`: the fill value; a {@link ChunkFile}: read
 * it here) with zarrita's codec pipeline, and return the block (the chunk cut to the array's
 * bounds, `blockShape`) in C order, whatever the array's order. Bytes that a codec refuses, or
 * that decode to more or fewer values than the chunk holds, are a {@link ChunkDecodeError}
 * naming `chunk` (its URL or path): this is the one place every store kind and every codec
 * chain decodes, on the worker pool or inline.
 */
export function decodeChunk(...args: DecodeArgs): Promise<NDArray> {
  return decodeChunkAs(false, ...args);
}

/**
 * inline op: {@link decodeChunk} of a string array whose block keeps its strings as
 * {@link PackedStrings} in `data` (vlen-utf8 chunks are checked, no string made), for
 * `readPackedStrings`, whose graph alone carries such blocks.
 */
export function decodeStringsPacked(...args: DecodeArgs): Promise<NDArray> {
  return decodeChunkAs(true, ...args);
}

async function decodeChunkAs(packed: boolean, ...[bytes, meta, coords, blockShape, chunk]: DecodeArgs): Promise<NDArray> {
  try {
    let block = await decodeAny(bytes, meta, coords, blockShape, packed);
    if (packed && !(block.data instanceof PackedStrings)) {
      // a shard, or strings stored another way than vlen-utf8: decoded as strings, then packed
      block = { ...block, data: PackedStrings.of(block.data as string[]) as unknown as ArrayData };
    }
    // a part of a shared body (a merged ranged read) is reused by later reads once the compute
    // is over: a block never views one, whatever its codecs
    if (bytes !== null && !isChunkFile(bytes) && bytes.buffer instanceof SharedArrayBuffer && viewsBuffer(block, bytes.buffer)) {
      block = { ...block, data: ownCopy(block.data) };
    }
    // the chunk's bytes die here: a pooled body goes back for the next response, unless the
    // block still views it (uncompressed bytes viewed as values) or zarrita kept views of a shard
    if (bytes !== null && !isChunkFile(bytes)) {
      if (meta.sharded === true || viewsBuffer(block, bytes.buffer)) forgetBody(bytes);
      else recycleBody(bytes);
    }
    return block;
  } catch (cause) {
    if (cause instanceof ChunkFetchError || cause instanceof ChunkDecodeError) throw cause;
    const key = chunk?.key ?? coords.join(".");
    const url = isChunkFile(bytes) ? bytes.file : (chunk?.url ?? key);
    const reason = cause instanceof DecodedSizeError ? cause.message : `the codecs refused its bytes (${describeCause(cause)})`;
    throw new ChunkDecodeError(url, meta.path ?? "/", key, reason, { cause });
  }
}

// What the codec itself said: zarrita's pipeline error names only the codec that failed.
function describeCause(e: unknown): string {
  let c = e;
  while (c instanceof Error && c.name === "CodecPipelineError" && c.cause instanceof Error) c = c.cause;
  return c instanceof Error ? `${c.name}: ${c.message}` : String(c);
}

/** A chunk that decoded to a number of values other than its shape's. */
class DecodedSizeError extends RangeError {}

async function decodeAny(
  bytes: Uint8Array | ChunkFile | null,
  meta: ZarrChunkMeta,
  coords: readonly number[],
  blockShape: readonly number[],
  packed: boolean,
): Promise<NDArray> {
  if (isChunkFile(bytes)) {
    // shards are read whole into their own buffer: zarrita keeps views of shard bytes
    if (meta.sharded) return decodeShard(readChunkFile(bytes, undefined), meta, coords, blockShape);
    const streamed = decodeBloscChunkFile(bytes, meta, blockShape);
    if (streamed !== undefined) return streamed;
    const own = readBuffer;
    readBuffer = undefined;
    const read = readChunkFile(bytes, own);
    try {
      const block = await decodeBytes(read, meta, coords, blockShape, packed);
      const data = block.data;
      // no bytes-to-bytes codec: the block may still view the read buffer
      if (read !== null && viewsBuffer(block, read.buffer)) {
        return { ...block, data: ownCopy(data) };
      }
      return block;
    } finally {
      // keep the bigger buffer (it may have grown) for the next chunk, unless it is huge
      let keep = read !== null && read.buffer.byteLength <= MAX_READ_BUFFER ? new Uint8Array(read.buffer) : own;
      const other = readBuffer as Uint8Array | undefined; // returned by a decode that interleaved
      if (other !== undefined && (keep === undefined || other.length > keep.length)) keep = other;
      readBuffer = keep;
    }
  }
  if (meta.sharded) return decodeShard(bytes, meta, coords, blockShape);
  return decodeBytes(bytes, meta, coords, blockShape, packed);
}

// Per metadata document: the byte length of a stored chunk when the chunk is stored
// uncompressed (no bytes-to-bytes codec) as fixed-size values, else null.
const rawBytes = new Map<string, number | null>();

function rawBytesOf(meta: ZarrChunkMeta): number | null {
  let n = rawBytes.get(meta.document);
  if (n === undefined) {
    n = null;
    const d = JSON.parse(meta.document) as Record<string, unknown>;
    if (meta.zarrFormat === 2) {
      const m = typeof d["dtype"] === "string" ? /^[<>|=]?(?:b1|[iuf]([1248])|([US])(\d+))$/.exec(d["dtype"]) : null;
      const filters = d["filters"] as unknown[] | null | undefined;
      const item = m === null ? undefined : m[0]!.endsWith("b1") ? 1 : m[1] !== undefined ? Number(m[1]) : (m[2] === "U" ? 4 : 1) * Number(m[3]);
      if (item !== undefined && d["compressor"] == null && (filters == null || filters.length === 0) && Array.isArray(d["chunks"])) {
        n = (d["chunks"] as number[]).reduce((a, c) => a * c, 1) * item;
      }
    } else if (meta.dtype !== "string" && !meta.sharded) {
      const codecs = (d["codecs"] ?? []) as { name?: string }[];
      const grid = (d["chunk_grid"] as { configuration?: { chunk_shape?: number[] } } | undefined)?.configuration?.chunk_shape;
      if (codecs.every((c) => c.name === "bytes" || c.name === "transpose") && Array.isArray(grid)) {
        n = grid.reduce((a, c) => a * c, 1) * typedArrayConstructor(meta.dtype).BYTES_PER_ELEMENT;
      }
    }
    rawBytes.set(meta.document, n);
  }
  return n;
}

async function decodeBytes(
  bytes: Uint8Array | null,
  meta: ZarrChunkMeta,
  coords: readonly number[],
  blockShape: readonly number[],
  packed: boolean,
): Promise<NDArray> {
  // zarrita views uncompressed bytes as values, a partial value at the end dropped
  const raw = bytes === null ? null : rawBytesOf(meta);
  if (raw !== null && bytes !== null && bytes.byteLength !== raw)
    throw new DecodedSizeError(`an uncompressed chunk of ${bytes.byteLength} bytes, expected ${raw}`);
  const { array, slot } = await open(meta, packed);
  slot.bytes = bytes ?? undefined;
  const pending = array.getChunk(coords as number[]);
  slot.bytes = undefined;
  const chunk = await pending;
  // zarrita sizes nothing from the chunk shape: bytes of another chunk's size decode "fine"
  const n = chunk.shape.reduce((a, b) => a * b, 1);
  const got = (chunk.data as { length: number }).length;
  if (got !== n) throw new DecodedSizeError(`decoded ${got} values, expected ${n} (chunk shape [${chunk.shape.join(", ")}])`);
  return toBlock(chunk, meta.dtype, blockShape);
}

/**
 * A whole shard: zarrita reads its index and inner chunks with ranged reads, served here from
 * the shard's bytes. A fresh zarrita Array per shard, because zarrita caches shard indexes
 * per array for good.
 */
async function decodeShard(bytes: Uint8Array | null, meta: ZarrChunkMeta, coords: readonly number[], blockShape: readonly number[]): Promise<NDArray> {
  const doc = new TextEncoder().encode(meta.document);
  const store = {
    get(key: string): Promise<Uint8Array | undefined> {
      return Promise.resolve(key === "/zarr.json" ? doc : (bytes ?? undefined));
    },
    getRange(_key: string, range: { offset: number; length: number } | { suffixLength: number }): Promise<Uint8Array | undefined> {
      if (bytes === null) return Promise.resolve(undefined);
      const out = "suffixLength" in range ? bytes.subarray(bytes.length - range.suffixLength) : bytes.subarray(range.offset, range.offset + range.length);
      return Promise.resolve(out);
    },
  };
  const array = await zarr.open.v3(store, { kind: "array" });
  const shardShape = (JSON.parse(meta.document) as { chunk_grid: { configuration: { chunk_shape: number[] } } }).chunk_grid.configuration.chunk_shape;
  const region = coords.map((c, k) => zarr.slice(c * shardShape[k]!, c * shardShape[k]! + blockShape[k]!));
  const chunk = await zarr.get(array, region);
  return toBlock(chunk as zarr.Chunk<zarr.DataType>, meta.dtype, blockShape);
}

function toBlock(chunk: zarr.Chunk<zarr.DataType>, dtype: DataType, blockShape: readonly number[]): NDArray {
  let data = plain(chunk.data, dtype);
  const shape = chunk.shape;
  const stride = chunk.stride;
  const c = cStrides(shape);
  const cOrder = stride.every((s, k) => s === c[k]);
  const same = shape.length === blockShape.length && shape.every((n, k) => n === blockShape[k]);
  if (cOrder && !same && leadingCut(shape, blockShape)) {
    // an edge chunk cut along its first axis only: the block is the start of its values, so a
    // view of them, not a copy into fresh memory
    const n = blockShape.reduce((a, b) => a * b, 1);
    if (globalThis.Array.isArray(data) || (data as unknown) instanceof PackedStrings) data = (data as string[]).slice(0, n);
    else data = (data as Exclude<ArrayData, string[]>).subarray(0, n) as ArrayData;
  } else if (!same || !cOrder) {
    const n = blockShape.reduce((a, b) => a * b, 1);
    const out = allocate(dtype, n);
    copyIndexed(data, stride, [], out, cStrides(blockShape), [], blockShape);
    data = out;
  }
  return { data, shape: [...blockShape], dtype };
}

/** Whether `block` is `shape` with only its first axis shortened. */
function leadingCut(shape: readonly number[], block: readonly number[]): boolean {
  if (shape.length !== block.length || shape.length === 0 || block[0]! > shape[0]!) return false;
  for (let k = 1; k < shape.length; k++) if (block[k] !== shape[k]) return false;
  return true;
}

function plain(data: unknown, dtype: DataType): ArrayData {
  // only decodeStringsPacked's blocks hold these; they travel as the block's data
  if (data instanceof PackedStrings) return data as unknown as ArrayData;
  if (dtype === "string") {
    // vlen-utf8 chunks decode to strings already (decodeVlenUtf8): no copy of thousands of them
    if (globalThis.Array.isArray(data) && data.every((v) => typeof v === "string")) return data as string[];
    return globalThis.Array.from(data as Iterable<unknown>, (v) => (v == null ? "" : String(v)));
  }
  if (data instanceof zarr.BoolArray) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  return data as ArrayData;
}

/** Whether `block`'s values are a view of `buffer`. */
function viewsBuffer(block: NDArray, buffer: ArrayBufferLike): boolean {
  const data: unknown = block.data;
  if (data instanceof PackedStrings) return data.views(buffer);
  return ArrayBuffer.isView(data) && data.buffer === buffer;
}

/** A block's values over memory of their own. */
function ownCopy(data: ArrayData): ArrayData {
  const d: unknown = data;
  if (d instanceof PackedStrings) return d.copy() as unknown as ArrayData;
  return (data as Uint8Array).slice() as unknown as ArrayData;
}
