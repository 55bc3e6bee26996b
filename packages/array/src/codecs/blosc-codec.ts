// zarrita bytes-to-bytes codec for blosc: decodes natively (decodeBloscSync), falls back to
// numcodecs' wasm Blosc for bitshuffle/snappy/zstd chunks and for encoding.
import { decodeBloscSync } from "./blosc-decode.js";
import { maxDecodedBytes, type CodecChunkMeta } from "./decoded-size.js";

/** numcodecs' Blosc configuration (zarr v2), or zarr v3's blosc configuration. */
export interface BloscConfig {
  readonly cname?: string;
  readonly clevel?: number;
  readonly shuffle?: number | "noshuffle" | "shuffle" | "bitshuffle";
  readonly blocksize?: number;
  readonly typesize?: number;
}

interface NumcodecsBlosc {
  encode(data: Uint8Array): Promise<Uint8Array>;
  decode(data: Uint8Array, out?: Uint8Array): Promise<Uint8Array>;
}

const SHUFFLES = { noshuffle: 0, shuffle: 1, bitshuffle: 2 } as const;

let numcodecs: Promise<{ fromConfig(c: object): NumcodecsBlosc }> | undefined;
function loadNumcodecs(): Promise<{ fromConfig(c: object): NumcodecsBlosc }> {
  numcodecs ??= import("numcodecs/blosc").then((m) => m.default as unknown as { fromConfig(c: object): NumcodecsBlosc });
  return numcodecs;
}

/**
 * The blosc codec as zarrita loads it (`registry.set("numcodecs.blosc", () => BloscCodec)`):
 * `decode` runs in JS for blosclz/lz4/lz4hc/zlib with byte or no shuffle, byte-identical to
 * numcodecs, without copying the input into a wasm heap.
 *
 * @example
 * ```ts
 * const codec = BloscCodec.fromConfig({ cname: "lz4", clevel: 5, shuffle: 1 });
 * const bytes = await codec.decode(chunk);
 * ```
 */
export class BloscCodec {
  readonly kind = "bytes_to_bytes" as const;
  readonly #config: BloscConfig;
  readonly #maxBytes: number | undefined;
  #fallback: Promise<NumcodecsBlosc> | undefined;

  /** `maxBytes`: the most bytes a chunk may decode to (a header claiming more is refused). */
  constructor(config: BloscConfig = {}, maxBytes?: number) {
    this.#config = config;
    this.#maxBytes = maxBytes;
  }

  /** zarrita's constructor hook: `meta` (the chunk's shape and data type) bounds the decoded size. */
  static fromConfig(config: BloscConfig, meta?: CodecChunkMeta): BloscCodec {
    return new BloscCodec(config ?? {}, meta === undefined ? undefined : maxDecodedBytes(meta));
  }

  #numcodecs(): Promise<NumcodecsBlosc> {
    this.#fallback ??= loadNumcodecs().then((Blosc) => {
      const { cname = "lz4", clevel = 5, shuffle = 1, blocksize = 0 } = this.#config;
      return Blosc.fromConfig({ cname, clevel, shuffle: typeof shuffle === "string" ? SHUFFLES[shuffle] : shuffle, blocksize });
    });
    return this.#fallback;
  }

  /** Compress with numcodecs' blosc (the write path is not hot). */
  async encode(data: Uint8Array): Promise<Uint8Array> {
    return (await this.#numcodecs()).encode(data);
  }

  /** Decompress one chunk; into `out` (exactly the chunk's size) when given. */
  async decode(data: Uint8Array, out?: Uint8Array): Promise<Uint8Array> {
    const bytes = decodeBloscSync(data, out, { maxBytes: this.#maxBytes });
    if (bytes !== null) return bytes;
    return (await this.#numcodecs()).decode(data, out);
  }
}
