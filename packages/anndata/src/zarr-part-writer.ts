// A 1-d numeric array written as its values arrive, its length known only at the end: each
// chunk (or shard) is encoded and written once full, the last one and the metadata at `finish`.
// A sparse matrix's `data` and `indices` are written so when its blocks are computed a window
// at a time, so the writer never holds the whole matrix.
import { autoShards, encodeShard } from "@zask/array";
import { swapBytes } from "./byte-order.js";
import { compress, type Compressor } from "./compressor.js";
import { guessChunks } from "./guess-chunks.js";
import { typedArrayOf, type TypedArray } from "./ndarray.js";
import { itemsizeOf, type NumericType, type ZarrWriter } from "./zarr-writer.js";

/** How a {@link PartWriter} chunks and encodes its array. */
export interface PartOptions {
  /**
   * Chunk length, cut to the array's length when that is shorter; `"whole"`: one chunk.
   * @default zarr-python's guess for the array's length (or for the length hinted first)
   */
  readonly chunk?: number | "whole" | undefined;
  /** Zarr v3: shard length, rounded up to a multiple of the chunk, or `"auto"` (anndata 0.13's sizing). */
  readonly shards?: number | "auto" | undefined;
  readonly compressor: Compressor | null;
  /** Store the numbers big endian (numpy's `>`). */
  readonly bigEndian: boolean;
}

/**
 * Writes the 1-d numeric array at `path` from values appended in order. Until the chunk length
 * is known (given, or guessed from {@link lengthHint} or, at the end, from the length) the
 * values are held; after that at most one chunk is, plus the encoded chunks of one shard.
 * Chunks and shards are written as zarr-python writes them (the last chunk padded with zeros;
 * all-zero chunks left out of a shard), the metadata last.
 *
 * @example
 * ```ts
 * const part = new PartWriter(writer, "X/data", "float32", { chunk: 1000, compressor: null, bigEndian: false });
 * await part.append(Float32Array.of(1, 2, 3));
 * await part.finish(); // X/data: shape [3], chunks [3]
 * ```
 */
export class PartWriter {
  readonly #writer: ZarrWriter;
  readonly #path: string;
  readonly #dtype: NumericType;
  readonly #opts: PartOptions;
  readonly #itemsize: number;
  #hint: number | undefined;
  /** Chunk and shard lengths once decided. */
  #chunk = 0;
  #shard = 0;
  /** Values not yet in a written chunk: `#buf[0, #n)`. */
  #buf: TypedArray;
  #n = 0;
  /** Values in chunks already encoded. */
  #done = 0;
  #chunkIndex = 0;
  /** The current shard's encoded chunks (null: all zero, left out). */
  #shardChunks: (Uint8Array | null)[] = [];
  #finished = false;

  constructor(writer: ZarrWriter, path: string, dtype: NumericType, options: PartOptions) {
    this.#writer = writer;
    this.#path = path.replace(/^\/+|\/+$/g, "");
    this.#dtype = dtype;
    this.#opts = options;
    this.#itemsize = itemsizeOf(dtype);
    this.#buf = new (typedArrayOf(dtype))(0);
  }

  /** Values appended so far. */
  get length(): number {
    return this.#done + this.#n;
  }

  /** The array's expected length, for guessing its chunks before it is known (no effect once they are chosen). */
  lengthHint(n: number): void {
    this.#hint = Math.max(0, Math.floor(n));
  }

  /** Append `values` (of this array's dtype), writing each chunk that fills. */
  async append(values: TypedArray): Promise<void> {
    if (this.#finished) throw new Error(`Part /${this.#path} was already finished`);
    let at = 0;
    while (at < values.length) {
      if (this.#chunk === 0) {
        this.#hold(values.subarray(at));
        at = values.length;
        const chunk = this.#chunkFor(this.#hint, false);
        if (chunk !== undefined && this.#n >= chunk) await this.#decide(chunk, this.#hint ?? this.#n);
        continue;
      }
      const k = Math.min(this.#chunk - this.#n, values.length - at);
      (this.#buf as Float64Array).set((values as Float64Array).subarray(at, at + k), this.#n);
      this.#n += k;
      at += k;
      if (this.#n === this.#chunk) await this.#writeChunk(this.#buf, this.#chunk);
    }
  }

  /** Write what is held (the last chunk padded) and then the metadata, with `attrs`; returns the length. */
  async finish(attrs: Record<string, unknown> = {}): Promise<number> {
    if (this.#finished) throw new Error(`Part /${this.#path} was already finished`);
    this.#finished = true;
    const total = this.length;
    if (this.#chunk === 0) await this.#decide(this.#chunkFor(total, true)!, total);
    if (this.#n > 0) {
      const big = this.#buf instanceof BigInt64Array || this.#buf instanceof BigUint64Array;
      this.#buf.fill((big ? 0n : 0) as never, this.#n, this.#chunk);
      await this.#writeChunk(this.#buf, this.#n);
    }
    if (this.#shardChunks.length > 0) {
      // the shard's chunks past the array's end are left out, as zarr-python leaves them
      while (this.#shardChunks.length < this.#shard / this.#chunk) this.#shardChunks.push(null);
      await this.#putShard();
    }
    const sharded = this.#writer.format === 3 && this.#opts.shards !== undefined;
    await this.#writer.numericMeta(this.#path, {
      shape: [total],
      chunks: [this.#chunk],
      dtype: this.#dtype,
      compressor: this.#opts.compressor,
      bigEndian: this.#opts.bigEndian,
      attrs,
      shards: sharded ? [this.#shard] : undefined,
    });
    return total;
  }

  /**
   * The chunk length for an array of `length` values (`final`: its length; else a hint, or
   * undefined), or undefined while it waits for the length. A given length is cut to the
   * array's only at the end: until then no chunk has filled, so the array may still be shorter.
   */
  #chunkFor(length: number | undefined, final: boolean): number | undefined {
    const c = this.#opts.chunk;
    if (typeof c === "number") return final ? Math.min(c, Math.max(length!, 1)) : c;
    if (c === "whole") return final ? Math.max(length!, 1) : undefined;
    return length === undefined ? undefined : guessChunks([length], this.#itemsize)[0]!;
  }

  /** Fix the chunk (and shard) length, then write the full chunks held. */
  async #decide(chunk: number, length: number): Promise<void> {
    this.#chunk = chunk;
    const s = this.#opts.shards;
    if (this.#writer.format === 3 && s !== undefined) {
      this.#shard = s === "auto" ? autoShards([Math.max(length, chunk)], [chunk], this.#itemsize)[0]! : chunk * Math.ceil(s / chunk);
    }
    const held = this.#buf.subarray(0, this.#n);
    this.#buf = new (typedArrayOf(this.#dtype))(chunk);
    this.#n = 0;
    let at = 0;
    for (; at + chunk <= held.length; at += chunk) await this.#writeChunk(held.subarray(at, at + chunk), chunk);
    (this.#buf as Float64Array).set((held as Float64Array).subarray(at));
    this.#n = held.length - at;
  }

  /** Keep `values` until the chunk length is known. */
  #hold(values: TypedArray): void {
    if (this.#n + values.length > this.#buf.length) {
      const grown = new (typedArrayOf(this.#dtype))(Math.max(this.#n + values.length, 2 * this.#buf.length));
      (grown as Float64Array).set((this.#buf as Float64Array).subarray(0, this.#n));
      this.#buf = grown;
    }
    (this.#buf as Float64Array).set(values as Float64Array, this.#n);
    this.#n += values.length;
  }

  /** Encode the chunk `values` (`chunk` long, `real` of them the array's) and write it or add it to its shard. */
  async #writeChunk(values: TypedArray, real: number): Promise<void> {
    const { compressor, bigEndian } = this.#opts;
    const raw = new Uint8Array(values.buffer, values.byteOffset, this.#chunk * this.#itemsize);
    // the buffer is reused for the next chunk: what is written must not view it
    const bytes = compressor === null || bigEndian ? raw.slice() : raw;
    if (bigEndian) swapBytes(bytes, this.#itemsize);
    const sharded = this.#shard > 0;
    const encoded = sharded && bytes.every((b) => b === 0) ? null : await compress(compressor, bytes, this.#itemsize);
    this.#done += real;
    this.#n = 0;
    const index = this.#chunkIndex++;
    if (!sharded) {
      await this.#writer.putChunk(this.#writer.format === 2 ? `${this.#path}/${index}` : `${this.#path}/c/${index}`, encoded!);
      return;
    }
    this.#shardChunks.push(encoded);
    if (this.#shardChunks.length === this.#shard / this.#chunk) await this.#putShard();
  }

  async #putShard(): Promise<void> {
    const index = Math.floor((this.#chunkIndex - 1) / (this.#shard / this.#chunk));
    const chunks = this.#shardChunks;
    this.#shardChunks = [];
    await this.#writer.putChunk(`${this.#path}/c/${index}`, encodeShard(chunks));
  }
}
