// Wraps zarrita's decompressors so that a chunk decompressing to the wrong number of bytes is
// an error: zarrita views the bytes as values without comparing their length to the chunk's.
import { registerErrorClass } from "@zask/scheduler/error-transfer";
import { exactDecodedBytes, type CodecChunkMeta } from "./decoded-size.js";

interface Codec {
  kind?: string;
  decode(bytes: Uint8Array): Promise<Uint8Array> | Uint8Array;
  encode(data: Uint8Array): Promise<Uint8Array> | Uint8Array;
}
interface CodecClass {
  fromConfig(config: unknown, meta?: CodecChunkMeta): Codec;
}
type Loader = () => CodecClass | Promise<CodecClass>;

/** A decompressor's output that is not the chunk's size. */
export class DecompressedSizeError extends RangeError {
  override name = "DecompressedSizeError";
}

// it reaches the caller as the cause of a ChunkDecodeError thrown on a worker
registerErrorClass("DecompressedSizeError", DecompressedSizeError);

/**
 * The codec class `load` gives, wrapped: each bytes-to-bytes codec it makes checks that
 * `decode` returns exactly the chunk's bytes (shape × item size) when the values have a fixed
 * size and no checksum codec sits inside (then its output carries 4 more bytes).
 *
 * @example
 * ```ts
 * registry.set("numcodecs.zlib", checkedSize("numcodecs.zlib", registry.get("numcodecs.zlib")!));
 * ```
 */
export function checkedSize(name: string, load: Loader): Loader {
  return async () => {
    const Inner = await load();
    return {
      fromConfig(config: unknown, meta?: CodecChunkMeta): Codec {
        const codec = Inner.fromConfig(config, meta);
        if (codec.kind !== undefined && codec.kind !== "bytes_to_bytes") return codec;
        const hasChecksum = meta?.codecs?.some((c) => c.name === "crc32c") ?? false;
        const exact = hasChecksum ? undefined : exactDecodedBytes(meta);
        if (exact === undefined) return codec;
        return {
          kind: "bytes_to_bytes",
          encode: (data) => codec.encode(data),
          async decode(bytes) {
            const out = await codec.decode(bytes);
            if (out.byteLength !== exact) throw new DecompressedSizeError(`${name} decompressed ${out.byteLength} bytes, expected the chunk's ${exact}`);
            return out;
          },
        };
      },
    };
  };
}
