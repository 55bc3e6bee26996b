import { ZarrArrayError } from "./errors.js";

/**
 * How a sharded zarr v3 array (`sharding_indexed`) lays out its shards: the shard and inner
 * chunk shapes, where the index is and how it is encoded, and the metadata document of an
 * unsharded array with the inner chunks as its chunks (whose codec pipeline decodes one
 * inner chunk).
 */
export interface ShardingLayout {
  /** The shard shape (the array's `chunk_grid`). */
  readonly shardShape: readonly number[];
  /** The inner chunk shape (the codec's `chunk_shape`). */
  readonly innerShape: readonly number[];
  /** Inner chunks per shard along each axis (the index's shape without its last axis of 2). */
  readonly chunksPerShard: readonly number[];
  /** Inner chunks per shard. */
  readonly entries: number;
  readonly indexLocation: "start" | "end";
  /** Bytes of the encoded index: 16 per inner chunk, plus 4 with crc32c. */
  readonly indexSize: number;
  readonly indexCrc32c: boolean;
  readonly indexLittleEndian: boolean;
  /** A zarr.json of the same array unsharded, chunked by the inner chunks. */
  readonly innerDocument: string;
}

type Codec = { name?: unknown; configuration?: Record<string, unknown> };

/**
 * The sharding layout of a v3 array's metadata, checked: `sharding_indexed` must be the only
 * codec, its inner chunk shape must divide the shard shape, its index codecs must be `bytes`
 * optionally followed by `crc32c`, and the inner codecs may not shard again. Throws
 * {@link ZarrArrayError} naming `where` otherwise.
 */
export function shardingLayout(metadata: Record<string, unknown>, where: string): ShardingLayout {
  const codecs = (Array.isArray(metadata["codecs"]) ? metadata["codecs"] : []) as Codec[];
  if (codecs.length !== 1 || codecs[0]!.name !== "sharding_indexed") throw new ZarrArrayError(where, "sharding must be the only codec");
  const config = codecs[0]!.configuration ?? {};
  const shape = metadata["shape"] as number[];
  const grid = metadata["chunk_grid"] as { name?: string; configuration?: { chunk_shape?: unknown } } | undefined;
  const shardShape = grid?.configuration?.chunk_shape;
  if (grid?.name !== "regular" || !isShape(shardShape, shape.length)) throw new ZarrArrayError(where, "a sharded array needs a regular chunk grid");
  const innerShape = config["chunk_shape"];
  if (!isShape(innerShape, shape.length)) {
    throw new ZarrArrayError(where, `Expected the sharding chunk_shape to be ${shape.length} positive integers, got ${JSON.stringify(innerShape)}`);
  }
  if (innerShape.some((c, k) => shardShape[k]! % c !== 0)) {
    throw new ZarrArrayError(where, `the inner chunk shape [${innerShape.join(", ")}] does not divide the shard shape [${shardShape.join(", ")}]`);
  }
  const inner = (Array.isArray(config["codecs"]) ? config["codecs"] : []) as Codec[];
  if (inner.some((c) => c.name === "sharding_indexed")) throw new ZarrArrayError(where, "nested sharding is not supported");
  const indexCodecs = (
    Array.isArray(config["index_codecs"]) ? config["index_codecs"] : [{ name: "bytes", configuration: { endian: "little" } }, { name: "crc32c" }]
  ) as Codec[];
  const bytesCodec = indexCodecs[0];
  const rest = indexCodecs.slice(1);
  if (bytesCodec?.name !== "bytes" || rest.length > 1 || (rest.length === 1 && rest[0]!.name !== "crc32c")) {
    throw new ZarrArrayError(
      where,
      `unsupported shard index codecs ${JSON.stringify(indexCodecs.map((c) => c.name))} (expected bytes, optionally then crc32c)`,
    );
  }
  const endian = bytesCodec.configuration?.["endian"] ?? "little";
  const location = config["index_location"] ?? "end";
  if (location !== "start" && location !== "end") throw new ZarrArrayError(where, `Expected index_location "start" or "end", got ${JSON.stringify(location)}`);
  const chunksPerShard = shardShape.map((s, k) => s / innerShape[k]!);
  const entries = chunksPerShard.reduce((a, b) => a * b, 1);
  const indexCrc32c = rest.length === 1;
  const innerDoc = { ...metadata, chunk_grid: { name: "regular", configuration: { chunk_shape: innerShape } }, codecs: inner };
  return {
    shardShape,
    innerShape,
    chunksPerShard,
    entries,
    indexLocation: location,
    indexSize: 16 * entries + (indexCrc32c ? 4 : 0),
    indexCrc32c,
    indexLittleEndian: endian !== "big",
    innerDocument: JSON.stringify(innerDoc),
  };
}

function isShape(x: unknown, ndim: number): x is number[] {
  return Array.isArray(x) && x.length === ndim && x.every((c) => Number.isSafeInteger(c) && c > 0);
}

/** Which shard holds inner chunk `coords`, and the inner chunk's row-major position in that shard's index. */
export function locateInner(layout: ShardingLayout, coords: readonly number[]): { shard: number[]; entry: number } {
  const shard: number[] = [];
  let entry = 0;
  for (let k = 0; k < coords.length; k++) {
    const per = layout.chunksPerShard[k]!;
    shard.push(Math.floor(coords[k]! / per));
    entry = entry * per + (coords[k]! % per);
  }
  return { shard, entry };
}
