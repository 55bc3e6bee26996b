// zarrita bytes-to-bytes codec for numcodecs' LZMA (`{"id": "lzma"}`, the .xz container): decode
// only, with xz-decompress (xz-embedded compiled to WebAssembly, no native code).
import xz from "xz-decompress";
import { maxDecodedBytes, type CodecChunkMeta } from "./decoded-size.js";

/** numcodecs' LZMA configuration; `format` 1 is `lzma.FORMAT_XZ`, numcodecs' default. */
export interface LzmaConfig {
  readonly format?: number;
  readonly check?: number;
  readonly preset?: number | null;
  readonly filters?: unknown;
}

/**
 * numcodecs' LZMA compressor as zarrita loads it (`registry.set("numcodecs.lzma", () => LzmaCodec)`):
 * decodes the .xz format (numcodecs' default, integrity checks verified), never to more bytes
 * than the chunk holds. The raw and legacy `.lzma` formats (`format` 3 and 2) are refused.
 *
 * @example
 * ```ts
 * const bytes = await LzmaCodec.fromConfig({ format: 1 }, { shape: [4, 5], dataType: "float32" }).decode(chunk);
 * ```
 */
export class LzmaCodec {
  readonly kind = "bytes_to_bytes" as const;
  readonly #max: number;
  readonly #format: number;

  constructor(format: number, max: number) {
    this.#format = format;
    this.#max = max;
  }

  /** zarrita's constructor hook: `meta` bounds the decoded size. */
  static fromConfig(config: LzmaConfig | undefined, meta?: CodecChunkMeta): LzmaCodec {
    return new LzmaCodec(config?.format ?? 1, maxDecodedBytes(meta));
  }

  /** zask reads lzma stores; it writes with the codecs numcodecs' wasm offers. */
  encode(_data: Uint8Array): Promise<Uint8Array> {
    return Promise.reject(new TypeError("Expected a compressor zask can write (blosc, zlib, gzip, zstd, lz4), got lzma"));
  }

  /** Decompress one chunk. */
  async decode(data: Uint8Array): Promise<Uint8Array> {
    if (this.#format !== 1) throw new TypeError(`Expected the lzma codec's xz format (1), got format ${this.#format}`);
    const input = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(data);
        controller.close();
      },
    });
    const reader = new xz.XzReadableStream(input).getReader();
    const parts: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > this.#max) throw new RangeError(`lzma data decodes to more than ${this.#max} bytes, the chunk's size`);
        parts.push(value);
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}
