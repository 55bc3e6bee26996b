import { op, tokenize } from "@zask/graph";
import type { Array } from "./array.js";
import { normalizeChunks, type ChunksSpec } from "./chunks.js";
import type { ComputeOptions } from "./compute.js";
import { toZarrV2Dtype } from "./dtype.js";
import { bigEndianOf } from "./byte-swap.js";
import { rechunkWith } from "./rechunk.js";
import { toZarrV3 } from "./to-zarr-v3.js";
import type { CompressorConfig } from "./ops/write.js";
import { openArrayDestination, type WritableStore, writeBlocks } from "./zarr-destination.js";

export type { CompressorConfig } from "./ops/write.js";

export type { WritableStore } from "./zarr-destination.js";

/** Options of `toZarr()`. */
export interface ToZarrOptions extends ComputeOptions {
  /** The array's path inside the store. @default "" (the store is the array) */
  path?: string;
  /** Chunks of the written array (regular: one size per axis). @default the array's largest block per axis */
  chunks?: ChunksSpec;
  /** The compressor, or `null` for none. @default `{ id: "blosc", cname: "lz4", clevel: 5, shuffle: 1 }` (anndata's) */
  compressor?: CompressorConfig | null;
  /** Replace an array already there (its old chunks are removed from a local directory). @default false */
  overwrite?: boolean;
  /** Attributes (`.zattrs`). @default {} */
  attributes?: Record<string, unknown>;
  /** Zarr format: 2 (zarr-python 2 and anndata 0.8 read it) or 3. @default 2 */
  format?: 2 | 3;
  /**
   * Zarr v3 only: shard the array (`sharding_indexed`), each shard holding whole `chunks`
   * (inner chunks) — a shape of multiples of `chunks`, or `"auto"` for anndata 0.13's sizing
   * (shards of up to 1 GiB uncompressed). @default unsharded
   */
  shards?: readonly number[] | "auto";
  /**
   * Byte order of the stored numbers: `">"` writes them big endian (numpy's `>f4`, a v3
   * `bytes` codec with `endian: "big"`), as a store written on a big-endian machine holds them.
   * @default "<"
   */
  byteOrder?: "<" | ">";
}

/** What `toZarr()` did. */
export interface ToZarrResult {
  /** Chunks written (one task each). */
  readonly chunks: number;
  /** Bytes written for them (compressed). */
  readonly bytes: number;
}

const encodeChunkOp = op("@zask/array/ops", "encodeChunk", { lane: "cpu" });

// ASCII with \u escapes, as Python's json writes it: zarr 2 reads metadata as ASCII
const enc = (x: unknown) =>
  new TextEncoder().encode(JSON.stringify(x, null, 4).replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")));

/**
 * `x.toZarr(dest)`: write `x` as a zarr v2 array (what zarr-python 2.13 and anndata 0.8
 * read) into a local directory or a zarrita store: metadata first, then one task per output
 * chunk that encodes on a worker and writes on the main thread.
 *
 * @example
 * ```ts
 * await x.rechunk([-1, 25]).toZarr("./pbmc.c25.zarr", { path: "X", overwrite: true });
 * ```
 */
export async function toZarrArray(x: Array, dest: string | URL | WritableStore, options: ToZarrOptions = {}): Promise<ToZarrResult> {
  if (options.format === 3) return toZarrV3(x, dest, options);
  if (options.format !== undefined && options.format !== 2) throw new RangeError(`Expected \`format\` to be 2 or 3, got \`${String(options.format)}\``);
  if (options.shards !== undefined) throw new TypeError("Expected `format: 3` with `shards` (zarr v2 has no sharding)");
  const { path = "", overwrite = false, attributes = {}, format: _format, shards: _shards, byteOrder, ...computeOptions } = options;
  const bigEndian = bigEndianOf(byteOrder, x.dtype);
  const compressor = options.compressor === undefined ? ({ id: "blosc", cname: "lz4", clevel: 5, shuffle: 1, blocksize: 0 } as const) : options.compressor;
  if (compressor !== null && !["blosc", "zlib", "gzip"].includes((compressor as { id: string }).id)) {
    throw new TypeError(`Expected \`compressor\` to be blosc, zlib, gzip or null, got \`${JSON.stringify(compressor)}\``);
  }
  // zarr chunks are regular: one size per axis.
  const size = options.chunks === undefined ? x.chunks.map((c) => Math.max(1, ...c)) : normalizeChunks(options.chunks, x.shape).map((c) => Math.max(1, ...c));
  const chunks = normalizeChunks(size, x.shape);
  const y = rechunkWith(x, chunks);
  const fill = x.dtype === "string" ? null : x.dtype === "bool" ? false : 0;
  const zarray = {
    chunks: size,
    compressor:
      compressor === null
        ? null
        : {
            ...compressor,
            ...(compressor.id === "blosc"
              ? { cname: compressor.cname ?? "lz4", clevel: compressor.clevel ?? 5, shuffle: compressor.shuffle ?? 1, blocksize: compressor.blocksize ?? 0 }
              : { level: compressor.level ?? 1 }),
          },
    dimension_separator: ".",
    dtype: bigEndian ? toZarrV2Dtype(x.dtype).replace("<", ">") : toZarrV2Dtype(x.dtype),
    fill_value: fill,
    filters: x.dtype === "string" ? [{ id: "vlen-utf8" }] : null,
    order: "C",
    shape: [...x.shape],
    zarr_format: 2,
  };
  const destination = await openArrayDestination(
    dest,
    path,
    {
      marker: ".zarray",
      files: [
        [".zarray", enc(zarray)],
        [".zattrs", enc(attributes)],
      ],
      group: [".zgroup", enc({ zarr_format: 2 })],
    },
    { overwrite, signal: computeOptions.signal },
  );
  const token = tokenize(y.name, zarray, destination.sink.kind === "file" ? destination.sink.root : "store", destination.prefix);
  return writeBlocks(
    y,
    destination,
    { encode: `encode-zarr-${token}`, store: `to-zarr-${token}` },
    encodeChunkOp,
    [size, fill, compressor, bigEndian],
    (index) => (index.length === 0 ? "0" : index.join(".")),
    computeOptions,
  );
}
