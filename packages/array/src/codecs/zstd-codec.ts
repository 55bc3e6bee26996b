// zarrita bytes-to-bytes codec for zstd (zarr v3 `zstd`, the default of zarr-python 3 and so of
// anndata's v3 stores; v2 `numcodecs.zstd`). Decodes with upstream zstd built for WebAssembly:
// the binary that @foxglove/wasm-zstd ships, driven by glue of our own, since that package's
// wrapper uses a failed allocation's null pointer as a buffer. The output is bounded by the
// chunk's size from its metadata, never by what the frame header claims; a chunk of values
// without a fixed size (strings) by the sizes its frames declare, checked before anything is
// allocated. Encoding stays with zarrita's codec (numcodecs' build).
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { ZaskError } from "@zask/graph";
import { registerErrorClass } from "@zask/scheduler/error-transfer";
import { MAX_CHUNK_BYTES } from "../zarr-metadata.js";
import { exactDecodedBytes, maxDecodedBytes, type CodecChunkMeta } from "./decoded-size.js";

/**
 * A zstd chunk that cannot be decoded: corrupt, truncated, or holding more bytes than the
 * chunk's size.
 *
 * @example
 * ```ts
 * try { await codec.decode(bytes); } catch (e) { if (e instanceof ZstdError) console.error(e.message); }
 * ```
 */
export class ZstdError extends ZaskError {
  override name = "ZstdError" as const;
}

// Rebuilt with its class when thrown on a worker thread or another process.
registerErrorClass("ZstdError", ZstdError);

/** The most one decode may hold in the module's memory (input and output): larger chunks take numcodecs. */
const MAX_WASM_BYTES = 2 ** 30;
const PAGE = 65536;

/**
 * The most a chunk of strings whose frames do not declare their size may decode to: it is
 * decoded into room doubled from a guess up to this. Python's numcodecs declares the size.
 */
export const MAX_UNDECLARED_BYTES = 2 ** 28;

// The few WebAssembly JS API types used here (this project's TypeScript libs have no DOM).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
}

/** The decoder's exports, by the names the build gives them (checked when it loads). */
interface ZstdModule {
  readonly memory: WasmMemory;
  malloc(bytes: number): number;
  free(pointer: number): void;
  /** `ZSTD_decompress` into dst[0, capacity): the bytes written, or -1 on any error. */
  decompress(dst: number, capacity: number, src: number, srcBytes: number): number;
}

let loading: Promise<ZstdModule | null> | undefined;

/** This thread's decoder, or `null` where the binary is missing or not the build we know. */
function zstdModule(): Promise<ZstdModule | null> {
  loading ??= instantiate().catch(() => null);
  return loading;
}

async function instantiate(): Promise<ZstdModule | null> {
  const path = createRequire(import.meta.url).resolve("@foxglove/wasm-zstd/dist/wasm-zstd.wasm");
  const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  let memory: WasmMemory | undefined;
  const imports = {
    a: {
      // emscripten_resize_heap: grow to at least `requested` bytes, or say no
      a: (requested: number): boolean => {
        const need = Math.ceil(((requested >>> 0) - memory!.buffer.byteLength) / PAGE);
        if (need <= 0) return true;
        if (requested >>> 0 > MAX_WASM_BYTES * 2) return false;
        try {
          memory!.grow(need);
          return true;
        } catch {
          return false;
        }
      },
      // emscripten_memcpy_big
      b: (dst: number, src: number, n: number): void => {
        new Uint8Array(memory!.buffer).copyWithin(dst, src, src + n);
      },
    },
  };
  const { instance } = await api.instantiate(await readFile(path), imports);
  const e = instance.exports;
  if (!(e.c instanceof api.Memory) || ![e.d, e.f, e.g, e.j].every((f) => typeof f === "function")) return null;
  memory = e.c;
  (e.d as () => void)();
  return {
    memory,
    malloc: e.f as ZstdModule["malloc"],
    free: e.g as ZstdModule["free"],
    decompress: e.j as ZstdModule["decompress"],
  };
}

/**
 * Decompress the zstd frames of `data` into a new buffer of at most `capacity` bytes: `null`
 * when this thread has no decoder or cannot make room for them (the caller decodes another
 * way); a {@link ZstdError} when the frames are bad or hold more than `capacity` bytes.
 *
 * @example
 * ```ts
 * const bytes = await decodeZstd(chunk, 4 * 1000); // a chunk of 1000 float32
 * ```
 */
export async function decodeZstd(data: Uint8Array, capacity: number): Promise<Uint8Array | null> {
  if (data.byteLength + capacity > MAX_WASM_BYTES) return null;
  const z = await zstdModule();
  if (z === null) return null;
  const src = z.malloc(Math.max(1, data.byteLength));
  if (src === 0) return null;
  const dst = z.malloc(Math.max(1, capacity));
  if (dst === 0) {
    z.free(src);
    return null;
  }
  try {
    new Uint8Array(z.memory.buffer, src, data.byteLength).set(data);
    const n = z.decompress(dst, capacity, src, data.byteLength);
    if (n < 0 || n > capacity) throw new ZstdError(`Corrupt zstd data (${data.byteLength} bytes), or it decodes to more than the chunk's ${capacity} bytes`);
    return new Uint8Array(z.memory.buffer, dst, n).slice();
  } finally {
    z.free(src);
    z.free(dst);
  }
}

/** Bytes of a frame header's Dictionary_ID field, by its flag. */
const DICT_ID_BYTES = [0, 1, 2, 4];
/** Bytes of a frame header's Frame_Content_Size field, by its flag (flag 0: 1 with a single segment, else 0). */
const CONTENT_SIZE_BYTES = [0, 2, 4, 8];

/**
 * The bytes the zstd frames of `data` declare they decode to, summed over the frames (skippable
 * frames hold none): `undefined` when a frame does not declare its size. Walks the frame and
 * block headers only, so a claim is known before anything is allocated for it. A
 * {@link ZstdError} when the frames are cut short or not zstd, or declare more than the
 * largest chunk (`MAX_CHUNK_BYTES`).
 *
 * @example
 * ```ts
 * const n = zstdDeclaredSize(chunk); // e.g. 81234, or undefined for a streamed frame
 * ```
 */
export function zstdDeclaredSize(data: Uint8Array): number | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const cut = (at: number, what: string): ZstdError => new ZstdError(`Zstd data of ${data.byteLength} bytes ends inside ${what} at byte ${at}`);
  let total = 0;
  let declared = true;
  let at = 0;
  if (data.byteLength === 0) throw new ZstdError("Empty zstd data");
  while (at < data.byteLength) {
    if (at + 4 > data.byteLength) throw cut(at, "a frame's magic number");
    const magic = view.getUint32(at, true);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // a skippable frame: its size, then that many bytes of no content
      if (at + 8 > data.byteLength) throw cut(at, "a skippable frame's header");
      at += 8 + view.getUint32(at + 4, true);
      if (at > data.byteLength) throw cut(data.byteLength, "a skippable frame");
      continue;
    }
    if (magic !== 0xfd2fb528) throw new ZstdError(`Expected a zstd frame at byte ${at}, got magic number 0x${magic.toString(16)}`);
    if (at + 5 > data.byteLength) throw cut(at, "a frame header");
    const descriptor = data[at + 4]!;
    if (descriptor & 0x08) throw new ZstdError(`A zstd frame header at byte ${at} sets its reserved bit`);
    const single = (descriptor >> 5) & 1;
    const sizeFlag = descriptor >> 6;
    const sizeBytes = sizeFlag === 0 ? single : CONTENT_SIZE_BYTES[sizeFlag]!;
    const sizeAt = at + 5 + (single ? 0 : 1) + DICT_ID_BYTES[descriptor & 3]!;
    at = sizeAt + sizeBytes;
    if (at > data.byteLength) throw cut(data.byteLength, "a frame header");
    if (sizeBytes === 0) declared = false;
    else if (sizeBytes === 1) total += data[sizeAt]!;
    else if (sizeBytes === 2) total += view.getUint16(sizeAt, true) + 256;
    else if (sizeBytes === 4) total += view.getUint32(sizeAt, true);
    else total += Number(view.getBigUint64(sizeAt, true));
    if (total > MAX_CHUNK_BYTES)
      throw new ZstdError(`Zstd frames declare ${total} bytes or more, past the largest chunk zask reads (${MAX_CHUNK_BYTES} bytes)`);
    // the blocks: a 3-byte header each (last flag, type, size), raw and compressed ones followed by their size
    for (let last = 0; last === 0; ) {
      if (at + 3 > data.byteLength) throw cut(at, "a block header");
      const header = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16);
      last = header & 1;
      const type = (header >> 1) & 3;
      if (type === 3) throw new ZstdError(`A zstd block at byte ${at} has the reserved type`);
      at += 3 + (type === 1 ? 1 : header >>> 3);
      if (at > data.byteLength) throw cut(data.byteLength, "a block");
    }
    if (descriptor & 0x04) at += 4;
    if (at > data.byteLength) throw cut(data.byteLength, "a frame's checksum");
  }
  return declared ? total : undefined;
}

/**
 * {@link decodeZstd} for frames that do not declare their size: into room doubled from a
 * guess until they fit, up to `limit` bytes (then a {@link ZstdError}); `null` as decodeZstd.
 *
 * @example
 * ```ts
 * const bytes = await decodeZstdGrowing(streamedChunk, MAX_UNDECLARED_BYTES);
 * ```
 */
export async function decodeZstdGrowing(data: Uint8Array, limit: number): Promise<Uint8Array | null> {
  for (let room = Math.min(limit, Math.max(PAGE, 4 * data.byteLength)); ; room = Math.min(limit, 2 * room)) {
    try {
      return await decodeZstd(data, room);
    } catch (e) {
      // the decoder says only that the frames failed: too little room, or corrupt data
      if (!(e instanceof ZstdError) || room >= limit) {
        if (e instanceof ZstdError)
          throw new ZstdError(`Corrupt zstd data (${data.byteLength} bytes), or it decodes to more than ${limit} bytes without declaring its size`);
        throw e;
      }
    }
  }
}

interface InnerCodec {
  readonly kind?: string;
  encode(data: Uint8Array): Promise<Uint8Array> | Uint8Array;
  decode(data: Uint8Array): Promise<Uint8Array> | Uint8Array;
}
type InnerClass = { fromConfig(config: unknown, meta?: CodecChunkMeta): InnerCodec };

/**
 * The zstd codec class to register in place of zarrita's `inner` (`registry.get("zstd")`): it
 * decodes with {@link decodeZstd}, into the chunk's size for fixed-size values and into what
 * the frames declare ({@link zstdDeclaredSize}) for strings, and hands `inner` only what does
 * not fit this thread's module (and all encoding).
 *
 * @example
 * ```ts
 * registry.set("zstd", zstdCodec(registry.get("zstd")!));
 * ```
 */
export function zstdCodec(inner: () => InnerClass | Promise<InnerClass>): () => Promise<InnerClass> {
  return async () => {
    const Inner = await inner();
    return {
      fromConfig(config: unknown, meta?: CodecChunkMeta): InnerCodec {
        const codec = Inner.fromConfig(config, meta);
        // values without a fixed size (strings) are bounded by the size their frames declare,
        // checked against the largest chunk before numcodecs' build (which allocates what a
        // frame declares) may see them
        const fixed = exactDecodedBytes(meta) !== undefined;
        const capacity = maxDecodedBytes(meta);
        return {
          kind: "bytes_to_bytes",
          encode: (data) => codec.encode(data),
          async decode(data) {
            const room = fixed ? capacity : zstdDeclaredSize(data);
            const out = room === undefined ? await decodeZstdGrowing(data, MAX_UNDECLARED_BYTES) : await decodeZstd(data, room);
            return out ?? codec.decode(data);
          },
        };
      },
    };
  };
}
