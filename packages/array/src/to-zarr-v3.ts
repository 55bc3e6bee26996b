import { op, tokenize } from "@zask/graph";
import type { Array } from "./array.js";
import { AUTO_SHARD_BYTES, autoShards } from "./auto-shards.js";
import { normalizeChunks } from "./chunks.js";
import { itemsize } from "./dtype.js";
import type { CompressorConfig } from "./ops/write.js";
import { rechunkWith } from "./rechunk.js";
import { bigEndianOf } from "./byte-swap.js";
import type { ToZarrOptions, ToZarrResult } from "./to-zarr.js";
import { openArrayDestination, type WritableStore, writeBlocks } from "./zarr-destination.js";

const encodeShardOp = op("@zask/array/ops", "encodeShardBlock", { lane: "cpu" });
const encodeChunkOp = op("@zask/array/ops", "encodeChunk", { lane: "cpu" });

const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x, null, 2));

/** The v3 codec of a compressor zask writes (blosc and gzip; zlib has no v3 codec). */
function v3Codec(c: CompressorConfig | null, typesize: number): Record<string, unknown>[] {
  if (c === null) return [];
  if (c.id === "gzip") return [{ name: "gzip", configuration: { level: c.level ?? 1 } }];
  if (c.id === "blosc") {
    const shuffle = ["noshuffle", "shuffle", "bitshuffle"][c.shuffle ?? 1] ?? "shuffle";
    return [{ name: "blosc", configuration: { cname: c.cname ?? "lz4", clevel: c.clevel ?? 5, shuffle, typesize, blocksize: c.blocksize ?? 0 } }];
  }
  throw new TypeError(`Expected a zarr v3 compressor (blosc, gzip or null), got \`${JSON.stringify(c)}\``);
}

/**
 * `x.toZarr(dest, { format: 3, shards })`: write `x` as a zarr v3 array, sharded when `shards`
 * is given (`sharding_indexed`, inner chunks `chunks`, index at the end with crc32c, as
 * zarr-python writes it; `"auto"`: anndata 0.13's sizing) — one task per shard, or per chunk
 * unsharded — with its `zarr.json` and a `zarr.json` for each parent group.
 */
export async function toZarrV3(x: Array, dest: string | URL | WritableStore, options: ToZarrOptions): Promise<ToZarrResult> {
  const {
    path = "",
    overwrite = false,
    attributes = {},
    format: _format,
    shards: shardsOption,
    chunks: _chunks,
    compressor: _compressor,
    byteOrder,
    ...computeOptions
  } = options;
  if (x.dtype === "string") throw new TypeError("Expected a numeric or bool array for zarr v3, got `string` (write strings as zarr v2)");
  const compressor = options.compressor === undefined ? ({ id: "blosc", cname: "lz4", clevel: 5, shuffle: 1, blocksize: 0 } as const) : options.compressor;
  const size = itemsize(x.dtype);
  const bigEndian = bigEndianOf(byteOrder, x.dtype);
  const codecs = [{ name: "bytes", configuration: { endian: bigEndian ? "big" : "little" } }, ...v3Codec(compressor, size)];
  const inner = options.chunks === undefined ? x.chunks.map((c) => Math.max(1, ...c)) : normalizeChunks(options.chunks, x.shape).map((c) => Math.max(1, ...c));
  let shards: number[] | undefined;
  if (shardsOption === "auto") shards = autoShards(x.shape, inner, size, AUTO_SHARD_BYTES);
  else if (shardsOption !== undefined) {
    // multiples of the chunks as asked, or as cut to an axis shorter than them (inner)
    const asked = inner.map((c, k) => {
      const a = (options.chunks as readonly unknown[] | undefined)?.[k];
      return typeof a === "number" && Number.isInteger(a) && a > 0 ? a : c;
    });
    if (
      !globalThis.Array.isArray(shardsOption) ||
      shardsOption.length !== x.ndim ||
      shardsOption.some((s, k) => !Number.isInteger(s) || s < 1 || (s % asked[k]! !== 0 && s % inner[k]! !== 0))
    ) {
      throw new RangeError(
        `Expected \`shards\` to be "auto" or ${x.ndim} positive multiples of the chunks [${asked.join(", ")}], got \`${JSON.stringify(shardsOption)}\``,
      );
    }
    // and then the smallest multiple of the cut chunk that holds the shard asked
    shards = shardsOption.map((s, k) => inner[k]! * Math.ceil(s / inner[k]!));
  }
  const grid = shards ?? inner;
  const fill = x.dtype === "bool" ? false : 0;
  const zarrJson = {
    zarr_format: 3,
    node_type: "array",
    shape: [...x.shape],
    data_type: x.dtype,
    chunk_grid: { name: "regular", configuration: { chunk_shape: grid } },
    chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
    fill_value: fill,
    codecs:
      shards === undefined
        ? codecs
        : [
            {
              name: "sharding_indexed",
              configuration: {
                chunk_shape: inner,
                codecs,
                index_codecs: [{ name: "bytes", configuration: { endian: "little" } }, { name: "crc32c" }],
                index_location: "end",
              },
            },
          ],
    attributes,
    storage_transformers: [],
  };
  const y = rechunkWith(x, normalizeChunks(grid, x.shape));
  const destination = await openArrayDestination(
    dest,
    path,
    { marker: "zarr.json", files: [["zarr.json", enc(zarrJson)]], group: ["zarr.json", enc({ zarr_format: 3, node_type: "group", attributes: {} })] },
    { overwrite, signal: computeOptions.signal },
  );
  const token = tokenize(y.name, zarrJson, destination.sink.kind === "file" ? destination.sink.root : "store", destination.prefix);
  return writeBlocks(
    y,
    destination,
    { encode: `encode-zarr3-${token}`, store: `to-zarr3-${token}` },
    shards === undefined ? encodeChunkOp : encodeShardOp,
    shards === undefined ? [inner, fill, compressor, bigEndian] : [shards, inner, fill, compressor, bigEndian],
    (index) => ["c", ...index].join("/"),
    computeOptions,
  );
}
