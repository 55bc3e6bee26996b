import type * as zarr from "zarrita";
import { swapBytes, type ByteOrder } from "./byte-order.js";
import { compress, normalizeCompressor, v2CompressorMeta, v3CodecMeta, type Compressor } from "./compressor.js";
import { ElementWriteError } from "./errors.js";
import type { DataType, NDArray, TypedArray } from "./ndarray.js";
import { autoShards, encodeShard, encodeVlenUtf8 } from "@zask/array";
import { guessChunks } from "./guess-chunks.js";

/** Zarr format version of a written store. */
export type ZarrFormat = 2 | 3;

/** Per-array write settings (anndata's `dataset_kwargs`). */
export interface DatasetOptions {
  /** Chunk shape; `-1`/`null` on an axis means the whole axis. @default zarr-python's guess (`guessChunks`) */
  chunks?: readonly (number | null)[] | undefined;
  /** Compressor. @default blosc lz4 level 5 with shuffle */
  compressor?: Compressor | null | undefined;
  /**
   * Zarr v3 only: shard the array (`sharding_indexed`, index at the end with crc32c, as
   * zarr-python writes it), each shard holding whole `chunks` — a shape of multiples of the
   * chunks, or `"auto"` for anndata 0.13's sizing (shards of up to 1 GiB uncompressed).
   * Ignored for strings and scalars. @default unsharded
   */
  shards?: readonly number[] | "auto" | undefined;
}

/** A numeric dtype (what `numericMeta` and the chunked writers take). */
export type NumericType = Exclude<DataType, "string">;

/** What the metadata of a numeric array says (see {@link ZarrWriter.numericMeta}). */
export interface NumericMeta {
  readonly shape: readonly number[];
  /** Chunk shape (the inner chunks of a sharded array). */
  readonly chunks: readonly number[];
  readonly dtype: NumericType;
  readonly compressor: Compressor | null;
  /** Numbers stored big endian (numpy's `>`). */
  readonly bigEndian: boolean;
  readonly attrs: Record<string, unknown>;
  /** Shard shape (zarr v3): multiples of `chunks`. */
  readonly shards?: readonly number[] | undefined;
}

const v2Dtype: Record<NumericType, string> = {
  bool: "|b1",
  int8: "|i1",
  int16: "<i2",
  int32: "<i4",
  int64: "<i8",
  uint8: "|u1",
  uint16: "<u2",
  uint32: "<u4",
  uint64: "<u8",
  float32: "<f4",
  float64: "<f8",
};

const itemsizes: Record<NumericType, number> = {
  bool: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  float32: 4,
  float64: 8,
};

/** Bytes per value of a numeric dtype. */
export function itemsizeOf(dtype: NumericType): number {
  return itemsizes[dtype];
}

const WRITE_CONCURRENCY = 16;

function encodeJson(x: unknown): Uint8Array {
  // ASCII with \u escapes, as Python's json writes it: zarr 2 reads metadata as ASCII
  return new TextEncoder().encode(asciiJson(JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? Number(v) : v), 4)));
}

/** Every index of a grid of `counts`, row-major. */
function* odometer(counts: readonly number[]): Generator<number[]> {
  const total = counts.reduce((a, b) => a * b, 1);
  const at = new Array<number>(counts.length).fill(0);
  for (let n = 0; n < total; n++) {
    yield [...at];
    for (let k = counts.length - 1; k >= 0; k--) {
      if (++at[k]! < counts[k]!) break;
      at[k] = 0;
    }
  }
}

/** Chunk shape from the options, validated against the array's shape. */
function chunkShapeOf(shape: readonly number[], chunks: DatasetOptions["chunks"], path: string, typesize: number): number[] {
  if (chunks === undefined) return guessChunks(shape, typesize);
  if (!Array.isArray(chunks) || chunks.length !== shape.length) {
    throw new RangeError(`Expected \`chunks\` for ${path} to have ${shape.length} entries (one per axis), got \`${JSON.stringify(chunks)}\``);
  }
  return shape.map((n, axis) => {
    const c = chunks[axis];
    if (c === null || c === -1) return Math.max(n, 1);
    if (!Number.isInteger(c) || (c as number) <= 0) {
      throw new RangeError(`Expected \`chunks\` for ${path} to be positive integers, got \`${String(c)}\` (${typeof c}) on axis ${axis}`);
    }
    return c as number;
  });
}

/** Copy the chunk at `index` out of a C-order array into a full chunk-shaped buffer (edges padded). */
function extractChunk<T extends TypedArray | string[]>(data: T, shape: readonly number[], chunkShape: readonly number[], index: readonly number[], out: T): T {
  const nd = shape.length;
  if (nd === 0) {
    out[0] = data[0]!;
    return out;
  }
  const start = index.map((i, a) => i * chunkShape[a]!);
  const extent = start.map((s, a) => Math.min(chunkShape[a]!, shape[a]! - s));
  const srcStrides = new Array<number>(nd);
  const dstStrides = new Array<number>(nd);
  srcStrides[nd - 1] = 1;
  dstStrides[nd - 1] = 1;
  for (let a = nd - 2; a >= 0; a--) {
    srcStrides[a] = srcStrides[a + 1]! * shape[a + 1]!;
    dstStrides[a] = dstStrides[a + 1]! * chunkShape[a + 1]!;
  }
  const rowLen = extent[nd - 1]!;
  const counter = new Array<number>(nd - 1).fill(0);
  const outer = extent.slice(0, -1).reduce((x, y) => x * y, 1);
  for (let r = 0; r < outer; r++) {
    let src = start[nd - 1]!;
    let dst = 0;
    for (let a = 0; a < nd - 1; a++) {
      src += (start[a]! + counter[a]!) * srcStrides[a]!;
      dst += counter[a]! * dstStrides[a]!;
    }
    if (Array.isArray(data)) {
      for (let k = 0; k < rowLen; k++) (out as string[])[dst + k] = data[src + k]!;
    } else {
      (out as TypedArray).set((data as TypedArray).subarray(src, src + rowLen) as never, dst);
    }
    for (let a = nd - 2; a >= 0; a--) {
      if (++counter[a]! < extent[a]!) break;
      counter[a] = 0;
    }
  }
  return out;
}

/**
 * Writes zarr groups and arrays (v2 as zarr-python 2.13 does, or v3) into a store and
 * remembers every metadata document, so that consolidated metadata can be written last.
 */
export class ZarrWriter {
  readonly store: zarr.Mutable;
  readonly format: ZarrFormat;
  readonly url: string | undefined;
  readonly #metadata = new Map<string, unknown>();
  readonly #signal: AbortSignal | undefined;

  constructor(store: zarr.Mutable, format: ZarrFormat, url: string | undefined, signal?: AbortSignal) {
    if (format !== 2 && format !== 3) throw new RangeError(`Expected \`format\` 2 or 3, got \`${String(format)}\``);
    this.store = store;
    this.format = format;
    this.url = url;
    this.#signal = signal;
  }

  // Writes run up to WRITE_CONCURRENCY at a time (a local store is one file per key); the first
  // failure is rethrown by the next write or by `flush`.
  readonly #pending = new Set<Promise<void>>();
  #failure: unknown;

  async #put(key: string, bytes: Uint8Array): Promise<void> {
    this.#signal?.throwIfAborted();
    if (this.#failure !== undefined) throw this.#failure;
    while (this.#pending.size >= WRITE_CONCURRENCY) await Promise.race(this.#pending);
    if (this.#failure !== undefined) throw this.#failure;
    const path = "/" + key.replace(/^\/+/, "");
    const p: Promise<void> = Promise.resolve(this.store.set(path as zarr.AbsolutePath, bytes)).then(
      () => {
        this.#pending.delete(p);
      },
      (cause: unknown) => {
        this.#pending.delete(p);
        this.#failure ??= new ElementWriteError(path, this.url, "store", `the store refused the write (${(cause as Error).message})`, { cause });
      },
    );
    this.#pending.add(p);
  }

  /** Wait for every write so far; rethrow the first failure. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
    if (this.#failure !== undefined) throw this.#failure;
  }

  async #meta(key: string, doc: unknown): Promise<void> {
    this.#metadata.set(key.replace(/^\/+/, ""), doc);
    await this.#put(key, encodeJson(doc));
  }

  /** Write a group at `path` ("" or "/" is the root) with `attrs`. */
  async group(path: string, attrs: Record<string, unknown>): Promise<void> {
    const p = path.replace(/^\/+|\/+$/g, "");
    const prefix = p === "" ? "" : p + "/";
    if (this.format === 2) {
      await this.#meta(prefix + ".zgroup", { zarr_format: 2 });
      await this.#meta(prefix + ".zattrs", attrs);
    } else {
      await this.#meta(prefix + "zarr.json", { zarr_format: 3, node_type: "group", attributes: attrs });
    }
  }

  /** Write an array at `path`: metadata, then every chunk, numbers in `byteOrder`. */
  async array(path: string, value: NDArray, attrs: Record<string, unknown>, options: DatasetOptions = {}, byteOrder: ByteOrder = "<"): Promise<void> {
    const p = path.replace(/^\/+|\/+$/g, "");
    const { data, shape, dtype } = value;
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new ElementWriteError("/" + p, this.url, "value", `expected ${size} values for shape [${shape.join(", ")}], got ${data.length}`);
    }
    // Strings count as numpy object pointers (8 bytes), as zarr-python counts them.
    const chunkShape = chunkShapeOf(shape, options.chunks, "/" + p, dtype === "string" ? 8 : itemsizes[dtype]);
    const compressor = normalizeCompressor(options.compressor);
    const isString = dtype === "string";
    // Big endian only where it means something: numbers wider than a byte (numpy writes "|i1").
    const bigEndian = byteOrder === ">" && !isString && itemsizes[dtype as NumericType] > 1;
    const isScalarString = isString && shape.length === 0 && this.format === 2;
    // A 0-d string is written as numpy's fixed-width unicode (as anndata 0.8 does for `string`).
    const chars = isScalarString ? Math.max(1, [...(data[0] as string)].length) : 0;
    if (!isString) {
      if (this.format === 3 && options.shards !== undefined && shape.length > 0) {
        return this.#sharded(p, value, attrs, chunkShape, options.shards, compressor, bigEndian);
      }
      await this.numericMeta(p, { shape, chunks: chunkShape, dtype: dtype as NumericType, compressor, bigEndian, attrs });
    } else if (this.format === 2) {
      await this.#meta(p + "/.zarray", {
        chunks: chunkShape,
        compressor: isScalarString ? null : v2CompressorMeta(compressor),
        dtype: isScalarString ? `<U${chars}` : "|O",
        fill_value: isScalarString ? "" : 0,
        filters: isScalarString ? null : [{ id: "vlen-utf8" }],
        order: "C",
        shape: [...shape],
        zarr_format: 2,
      });
      await this.#meta(p + "/.zattrs", attrs);
    } else {
      const codecs: unknown[] = [{ name: "vlen-utf8" }];
      const c = v3CodecMeta(compressor, 1);
      if (c) codecs.push(c);
      await this.#meta(p + "/zarr.json", {
        zarr_format: 3,
        node_type: "array",
        shape: [...shape],
        data_type: "string",
        chunk_grid: { name: "regular", configuration: { chunk_shape: chunkShape } },
        chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
        fill_value: "",
        codecs,
        attributes: attrs,
      });
    }
    const grid = shape.map((n, a) => Math.ceil(n / chunkShape[a]!));
    if (grid.some((g) => g === 0)) return;
    const chunkSize = chunkShape.reduce((a, b) => a * b, 1);
    const index = new Array<number>(shape.length).fill(0);
    const total = grid.reduce((a, b) => a * b, 1);
    for (let n = 0; n < total; n++) {
      let bytes: Uint8Array;
      if (isScalarString) {
        const cps = [...(data[0] as string)].map((ch) => ch.codePointAt(0)!);
        const u32 = new Uint32Array(chars);
        u32.set(cps);
        bytes = new Uint8Array(u32.buffer);
      } else if (isString) {
        const out = extractChunk(data as string[], shape, chunkShape, index, new Array<string>(chunkSize).fill(""));
        bytes = await compress(compressor, encodeVlenUtf8(out));
      } else {
        const Ctor = (data as TypedArray).constructor as { new (n: number): TypedArray };
        const out = extractChunk(data as TypedArray, shape, chunkShape, index, new Ctor(chunkSize));
        const raw = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
        bytes = await compress(compressor, bigEndian ? swapBytes(raw, out.BYTES_PER_ELEMENT) : raw, out.BYTES_PER_ELEMENT);
      }
      const key = this.format === 2 ? `${p}/${shape.length === 0 ? "0" : index.join(".")}` : `${p}/c${index.map((i) => "/" + i).join("")}`;
      await this.#put(key, bytes);
      for (let a = shape.length - 1; a >= 0; a--) {
        if (++index[a]! < grid[a]!) break;
        index[a] = 0;
      }
    }
  }

  /**
   * Write the metadata of numeric array `p`: `.zarray` and `.zattrs` (v2), or `zarr.json` (v3),
   * with the `sharding_indexed` codec when `shards` is given (v3 only).
   */
  async numericMeta(p: string, m: NumericMeta): Promise<void> {
    const { shape, chunks, dtype, compressor, bigEndian, attrs, shards } = m;
    const fill = dtype === "bool" ? false : 0;
    if (this.format === 2) {
      await this.#meta(p + "/.zarray", {
        chunks: [...chunks],
        compressor: v2CompressorMeta(compressor),
        dtype: bigEndian ? v2Dtype[dtype].replace("<", ">") : v2Dtype[dtype],
        fill_value: fill,
        filters: null,
        order: "C",
        shape: [...shape],
        zarr_format: 2,
      });
      await this.#meta(p + "/.zattrs", attrs);
      return;
    }
    const codecs: unknown[] = [{ name: "bytes", configuration: { endian: bigEndian ? "big" : "little" } }];
    const c = v3CodecMeta(compressor, itemsizes[dtype]);
    if (c) codecs.push(c);
    const sharding = {
      name: "sharding_indexed",
      configuration: {
        chunk_shape: [...chunks],
        codecs,
        index_codecs: [{ name: "bytes", configuration: { endian: "little" } }, { name: "crc32c" }],
        index_location: "end",
      },
    };
    await this.#meta(p + "/zarr.json", {
      zarr_format: 3,
      node_type: "array",
      shape: [...shape],
      data_type: dtype,
      chunk_grid: { name: "regular", configuration: { chunk_shape: [...(shards ?? chunks)] } },
      chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
      fill_value: fill,
      codecs: shards === undefined ? codecs : [sharding],
      attributes: attrs,
    });
  }

  /** Put encoded chunk or shard `key` (its path in the store), after at most the bound of writes in flight. */
  async putChunk(key: string, bytes: Uint8Array): Promise<void> {
    await this.#put(key, bytes);
  }

  /** A sharded zarr v3 array: one object per shard, its inner chunks (all-zero ones left out) then the index. */
  async #sharded(
    p: string,
    value: NDArray,
    attrs: Record<string, unknown>,
    inner: readonly number[],
    shardsOption: readonly number[] | "auto",
    compressor: Compressor | null,
    bigEndian: boolean,
  ): Promise<void> {
    const { shape } = value;
    const dtype = value.dtype as NumericType;
    const data = value.data as TypedArray;
    const itemsize = itemsizes[dtype];
    const shards = shardsOption === "auto" ? autoShards(shape, inner, itemsize) : [...shardsOption];
    if (shards.length !== shape.length || shards.some((s, k) => !Number.isInteger(s) || s < 1 || s % inner[k]! !== 0)) {
      throw new RangeError(
        `Expected \`shards\` for /${p} to be "auto" or ${shape.length} positive multiples of the chunks [${inner.join(", ")}], got \`${JSON.stringify(shardsOption)}\``,
      );
    }
    await this.numericMeta(p, { shape, chunks: inner, dtype, compressor, bigEndian, attrs, shards });
    const per = shards.map((s, k) => s / inner[k]!);
    const grid = shape.map((n, k) => Math.ceil(n / shards[k]!));
    if (grid.some((g) => g === 0)) return;
    const chunkSize = inner.reduce((a, b) => a * b, 1);
    const Ctor = data.constructor as { new (n: number): TypedArray };
    for (const shard of odometer(grid)) {
      const chunks: (Uint8Array | null)[] = [];
      for (const local of odometer(per)) {
        const index = local.map((l, k) => shard[k]! * per[k]! + l);
        if (index.some((i, k) => i * inner[k]! >= shape[k]!)) {
          chunks.push(null);
          continue;
        }
        const out = extractChunk(data, shape, inner, index, new Ctor(chunkSize));
        const raw = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
        chunks.push(
          raw.every((b) => b === 0) ? null : await compress(compressor, bigEndian ? swapBytes(raw, out.BYTES_PER_ELEMENT) : raw, out.BYTES_PER_ELEMENT),
        );
      }
      await this.#put(`${p}/c/${shard.join("/")}`, encodeShard(chunks));
    }
  }

  /**
   * Write consolidated metadata covering every node written (plus `extra`, metadata of nodes
   * written earlier): `.zmetadata` for v2, the root `zarr.json`'s `consolidated_metadata` for v3.
   */
  async consolidate(extra: ReadonlyMap<string, unknown> = new Map()): Promise<void> {
    // Everything the listing claims must be in the store before the listing is.
    await this.flush();
    const all = new Map([...extra, ...this.#metadata]);
    if (this.format === 2) {
      const metadata: Record<string, unknown> = {};
      for (const k of [...all.keys()].sort()) metadata[k] = all.get(k);
      await this.#put(".zmetadata", encodeJson({ metadata, zarr_consolidated_format: 1 }));
      return this.flush();
    }
    const rootDoc = (all.get("zarr.json") ?? { zarr_format: 3, node_type: "group", attributes: {} }) as Record<string, unknown>;
    const metadata: Record<string, unknown> = {};
    for (const [k, v] of all) if (k !== "zarr.json" && k.endsWith("/zarr.json")) metadata[k.slice(0, -"/zarr.json".length)] = v;
    await this.#put("zarr.json", encodeJson({ ...rootDoc, consolidated_metadata: { kind: "inline", must_understand: false, metadata } }));
    return this.flush();
  }

  /** The abort signal of this write. */
  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  /** Record the metadata of an array written into the store by someone else (`Array.toZarr`). */
  async adopt(path: string): Promise<void> {
    const p = path.replace(/^\/+|\/+$/g, "");
    for (const doc of this.format === 2 ? [".zarray", ".zattrs"] : ["zarr.json"]) {
      const bytes = await (this.store as unknown as zarr.AsyncReadable).get(`/${p}/${doc}` as zarr.AbsolutePath);
      if (bytes !== undefined) this.#metadata.set(`${p}/${doc}`, JSON.parse(new TextDecoder().decode(bytes)));
    }
  }

  /** Metadata documents written so far, by key. */
  get metadata(): ReadonlyMap<string, unknown> {
    return this.#metadata;
  }
}

/** `json` with every non-ASCII character as a `\uXXXX` escape (still the same JSON value). */
function asciiJson(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}
