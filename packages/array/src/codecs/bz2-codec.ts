// zarrita bytes-to-bytes codec for numcodecs' BZ2 (`{"id": "bz2"}`): decode only, with seek-bzip.
import Bunzip from "seek-bzip";
import { maxDecodedBytes, type CodecChunkMeta } from "./decoded-size.js";

/** A growable byte sink that refuses to grow past `max`. */
class BoundedSink {
  buffer: Uint8Array;
  pos = 0;
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
    this.buffer = new Uint8Array(Math.min(max, 1 << 16));
  }
  writeByte(byte: number): void {
    if (this.pos === this.buffer.length) {
      if (this.pos >= this.#max) throw new RangeError(`bz2 data decodes to more than ${this.#max} bytes, the chunk's size`);
      const bigger = new Uint8Array(Math.min(this.#max, this.buffer.length * 2));
      bigger.set(this.buffer);
      this.buffer = bigger;
    }
    this.buffer[this.pos++] = byte;
  }
}

/**
 * numcodecs' BZ2 compressor as zarrita loads it (`registry.set("numcodecs.bz2", () => Bz2Codec)`):
 * decodes one bzip2 stream (CRCs checked), never to more bytes than the chunk holds.
 *
 * @example
 * ```ts
 * const bytes = await Bz2Codec.fromConfig({ level: 1 }, { shape: [4, 5], dataType: "float32" }).decode(chunk);
 * ```
 */
export class Bz2Codec {
  readonly kind = "bytes_to_bytes" as const;
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** zarrita's constructor hook: `meta` bounds the decoded size. */
  static fromConfig(_config: unknown, meta?: CodecChunkMeta): Bz2Codec {
    return new Bz2Codec(maxDecodedBytes(meta));
  }

  /** zask reads bz2 stores; it writes with the codecs numcodecs' wasm offers. */
  encode(_data: Uint8Array): Promise<Uint8Array> {
    return Promise.reject(new TypeError("Expected a compressor zask can write (blosc, zlib, gzip, zstd, lz4), got bz2"));
  }

  /** Decompress one chunk (async so that a corrupt stream rejects rather than throws). */
  async decode(data: Uint8Array): Promise<Uint8Array> {
    const sink = new BoundedSink(this.#max);
    Bunzip.decode(data, sink, false);
    return sink.buffer.subarray(0, sink.pos);
  }
}
