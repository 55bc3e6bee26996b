// zarrita bytes-to-bytes codec for zstd (zarr v3 `zstd`, the default of zarr-python 3 and so of
// anndata's v3 stores; v2 `numcodecs.zstd`). Decodes with upstream zstd built for WebAssembly:
// the binary that @foxglove/wasm-zstd ships, driven by glue of our own, since that package's
// wrapper uses a failed allocation's null pointer as a buffer. The output is bounded by the
// chunk's size from its metadata, never by what the frame header claims. Encoding, and chunks
// of values without a fixed size, stay with zarrita's codec (numcodecs' build).
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { ZaskError } from "@zask/graph";
import { registerErrorClass } from "@zask/scheduler/error-transfer";
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

interface InnerCodec {
  readonly kind?: string;
  encode(data: Uint8Array): Promise<Uint8Array> | Uint8Array;
  decode(data: Uint8Array): Promise<Uint8Array> | Uint8Array;
}
type InnerClass = { fromConfig(config: unknown, meta?: CodecChunkMeta): InnerCodec };

/**
 * The zstd codec class to register in place of zarrita's `inner` (`registry.get("zstd")`): it
 * decodes chunks of fixed-size values with {@link decodeZstd} and hands the rest to `inner`.
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
        // values without a fixed size have no bound but the largest chunk: numcodecs' build
        // sizes those by the frame's header
        if (exactDecodedBytes(meta) === undefined) return codec;
        const capacity = maxDecodedBytes(meta);
        return {
          kind: "bytes_to_bytes",
          encode: (data) => codec.encode(data),
          async decode(data) {
            return (await decodeZstd(data, capacity)) ?? codec.decode(data);
          },
        };
      },
    };
  };
}
