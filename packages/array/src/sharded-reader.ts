import { open, type FileHandle } from "node:fs/promises";
import type { AbsolutePath } from "@zarrita/storage";
import { HttpAccessDeniedError, ReadPlanner, type CoalesceOptions } from "@zask/scheduler";
import type { DataType } from "./dtype.js";
import { itemsize } from "./dtype.js";
import { ChunkFetchError, ShardIndexError } from "./errors.js";
import { LruCache } from "./lru-cache.js";
import { parseShardIndex, type ShardIndex } from "./shard-index.js";
import { locateInner, type ShardingLayout } from "./sharding-layout.js";
import type { ChunkIoContext, ZarrStore } from "./zarr-store.js";

/** How shard indexes are read over HTTP: an io op's `ctx`, or an `IoLane` for plans. */
export interface IndexIo {
  readonly signal: AbortSignal;
  fetch(url: string | URL, init?: RequestInit): Promise<Response>;
}

/** Shard indexes per store, for the store object's life: bounded, one read per shard at a time. */
const indexCaches = new WeakMap<ZarrStore, LruCache<string, ShardIndex | null>>();

/** The shard index cache of `store`. */
export function shardIndexCache(store: ZarrStore): LruCache<string, ShardIndex | null> {
  let cache = indexCaches.get(store);
  if (cache === undefined) {
    cache = new LruCache({ maxEntries: 4096, maxBytes: 64 * 2 ** 20, sizeOf: (v) => (v === null ? 0 : v.byteLength) });
    indexCaches.set(store, cache);
  }
  return cache;
}

/** Shards whose strings a reader keeps at most. */
const MAX_PLACES = 65536;

/** Inner codecs whose decode always writes a new buffer (never a view of its input). */
const COMPRESSORS = new Set([
  "blosc",
  "gzip",
  "zstd",
  "numcodecs.zlib",
  "numcodecs.lz4",
  "numcodecs.bz2",
  "numcodecs.lzma",
  "numcodecs.blosc",
  "numcodecs.gzip",
  "numcodecs.zstd",
]);

/** Where an inner chunk is: its shard's store key and object (URL or path), and its entry in the shard's index. */
export interface InnerLocation {
  readonly shardKey: string;
  readonly object: string;
  readonly shard: readonly number[];
  readonly entry: number;
}

/** One shard of the array: its coordinates in the shard grid, store key and object. */
interface ShardPlace {
  readonly shard: readonly number[];
  readonly shardKey: string;
  readonly object: string;
  /** The shard key's last `ndim + 1` parts (`c/0/1`), for messages. */
  readonly label: string;
}

/**
 * Reads the inner chunks of one sharded zarr v3 array from its store: the shard's index first
 * (one ranged request: a suffix for an index at the end, a prefix at the start; checked, then
 * cached per store and shard), then the inner chunk's byte range through a {@link ReadPlanner}.
 * An absent shard, or an inner chunk whose entry is empty, reads as `null` (the fill value)
 * with no further request.
 */
export class ShardedReader {
  readonly store: ZarrStore;
  readonly layout: ShardingLayout;
  readonly #shardKey: (coords: readonly number[]) => string;
  /** The largest plausible encoded inner chunk (`undefined` for strings, whose size is unknown). */
  readonly #maxEntryBytes: number | undefined;
  /** Uncompressed bytes of one inner chunk (counters). */
  readonly innerBytes: number;
  /** One planner per compute (per I/O lane) for reads made without a session. */
  readonly #planners = new WeakMap<object, ReadPlanner>();
  /** Shards in the grid along each axis (for a shard's row-major number). */
  readonly #grid: readonly number[];
  /** The shards located so far, by row-major number: every block of a shard shares its strings. */
  readonly #places = new Map<number, ShardPlace>();
  /**
   * Whether every inner chunk is decompressed into a new buffer (a compressor among its codecs,
   * numbers, not strings): then no decoded block views the bytes read, and merged requests may
   * land in shared memory that workers read without copies.
   */
  readonly #decompresses: boolean;

  constructor(store: ZarrStore, layout: ShardingLayout, shardKey: (coords: readonly number[]) => string, dtype: DataType, shape: readonly number[]) {
    this.store = store;
    this.layout = layout;
    this.#shardKey = shardKey;
    this.#grid = shape.map((n, k) => Math.max(1, Math.ceil(n / layout.shardShape[k]!)));
    const codecs = (JSON.parse(layout.innerDocument) as { codecs?: { name?: unknown }[] }).codecs ?? [];
    this.#decompresses = dtype !== "string" && codecs.some((c) => COMPRESSORS.has(String(c.name)));
    const elements = layout.innerShape.reduce((a, b) => a * b, 1);
    this.innerBytes = elements * Math.max(itemsize(dtype), 1);
    // codecs add at most a few headers to incompressible data; anything far longer is corrupt
    this.#maxEntryBytes = dtype === "string" ? undefined : 2 * this.innerBytes + 65536;
  }

  /** The shard, store key, object and index entry of inner chunk `coords` (its block index). */
  locate(coords: readonly number[]): InnerLocation {
    const per = this.layout.chunksPerShard;
    let entry = 0;
    let number = 0;
    for (let k = 0; k < coords.length; k++) {
      const c = coords[k]!;
      const p = per[k]!;
      const s = Math.floor(c / p);
      number = number * this.#grid[k]! + s;
      entry = entry * p + (c - s * p);
    }
    const place = this.#place(number, coords);
    return { shardKey: place.shardKey, object: place.object, shard: place.shard, entry };
  }

  /** What a decode error says of inner chunk `coords`: `c/0/1 (inner chunk [0, 7])` and the shard's URL or path. */
  describeInner(coords: readonly number[]): { key: string; url: string } {
    const per = this.layout.chunksPerShard;
    let number = 0;
    for (let k = 0; k < coords.length; k++) number = number * this.#grid[k]! + Math.floor(coords[k]! / per[k]!);
    const place = this.#place(number, coords);
    return { key: `${place.label} (inner chunk [${coords.join(", ")}])`, url: place.object };
  }

  #place(number: number, coords: readonly number[]): ShardPlace {
    let place = this.#places.get(number);
    if (place === undefined) {
      const { shard } = locateInner(this.layout, coords);
      const shardKey = this.#shardKey(shard);
      const label = shardKey
        .split("/")
        .slice(-1 - shard.length)
        .join("/");
      place = { shard, shardKey, object: this.store.describe(shardKey), label };
      // a bound on what an array of very many shards keeps (they are cheap to make again)
      if (this.#places.size >= MAX_PLACES) this.#places.clear();
      this.#places.set(number, place);
    }
    return place;
  }

  /** The cached index of a shard: the index, `null` (absent shard), or `undefined` (not cached). */
  cachedIndex(shardKey: string): ShardIndex | null | undefined {
    const cache = shardIndexCache(this.store);
    return cache.has(shardKey) ? cache.get(shardKey) : undefined;
  }

  /** The index of the shard at `loc` (`null`: the shard is absent), read once per store and shard. */
  index(io: IndexIo, loc: InnerLocation): Promise<ShardIndex | null> {
    return shardIndexCache(this.store).load(loc.shardKey, () => this.#readIndex(io, loc));
  }

  /** Inner chunk `coords` read alone (no compute-wide plan): `null` for the fill value. */
  async read(ctx: ChunkIoContext, coords: readonly number[]): Promise<Uint8Array | null> {
    const loc = this.locate(coords);
    const index = await this.index(ctx, loc);
    const range = index?.entry(loc.entry);
    this.countChunk(range === null || range === undefined);
    if (range === null || range === undefined) return null;
    let planner = this.#planners.get(ctx);
    if (planner === undefined) this.#planners.set(ctx, (planner = this.planner(ctx)));
    return this.readRange(planner, loc, range);
  }

  /** A planner for one compute's reads of this array, counting its requests in the store's counters. */
  planner(ctx: ChunkIoContext, options: { coalesce?: CoalesceOptions; concurrency?: number } = {}): ReadPlanner {
    const store = this.store;
    return new ReadPlanner(ctx, {
      ...options,
      sharedBodies: this.#decompresses,
      missingStatuses: this.store.missingStatuses,
      onRequest: (_read, bytes) => {
        // the store's counters as they are now (tools replace them)
        store.counters.requests++;
        store.counters.reads++;
        store.counters.bytes += bytes;
      },
    });
  }

  /** Count one inner chunk read in the store's counters (`missing`: served as the fill value). */
  countChunk(missing: boolean): void {
    const c = this.store.counters;
    c.chunkRequests++;
    c.chunkBytes += this.innerBytes;
    if (missing) c.missingChunks++;
  }

  /** The bytes of an inner chunk's range: through `planner`, or the zarrita store for other stores. */
  async readRange(planner: ReadPlanner, loc: InnerLocation, range: { offset: number; length: number }): Promise<Uint8Array | null> {
    if (this.store.kind === "store") {
      const key = ("/" + loc.shardKey) as AbsolutePath;
      const out = this.store.hasRanges
        ? await this.store.getRange(key, range)
        : (await this.store.get(key))?.subarray(range.offset, range.offset + range.length);
      if (out !== undefined && out.byteLength !== range.length) {
        throw new ChunkFetchError(loc.object, undefined, { cause: new RangeError(`Expected ${range.length} bytes, got ${out.byteLength}`) });
      }
      return out ?? null;
    }
    return planner.read({ object: loc.object, offset: range.offset, length: range.length });
  }

  async #readIndex(io: IndexIo, loc: InnerLocation): Promise<ShardIndex | null> {
    const { layout, store } = this;
    const size = layout.indexSize;
    let bytes: Uint8Array | null;
    let shardLength: number | undefined;
    if (store.kind === "http") ({ bytes, shardLength } = await this.#indexOverHttp(io, loc.object));
    else if (store.kind === "file") ({ bytes, shardLength } = await this.#indexFromFile(loc.object));
    else {
      const range = layout.indexLocation === "end" ? { suffixLength: size } : { offset: 0, length: size };
      const key = ("/" + loc.shardKey) as AbsolutePath;
      if (store.hasRanges) {
        bytes = (await store.getRange(key, range, { signal: io.signal })) ?? null;
        shardLength = undefined;
      } else {
        // a store without ranged reads (a Map): the whole shard
        const whole = await store.get(key, { signal: io.signal });
        bytes = whole === undefined ? null : this.#indexOf(whole, loc.object);
        shardLength = whole?.byteLength;
      }
    }
    if (bytes === null) return null;
    const shardStart = loc.shard.map((s, k) => s * layout.chunksPerShard[k]!);
    return parseShardIndex(bytes, layout, {
      shard: loc.object,
      shardLength,
      maxEntryBytes: this.#maxEntryBytes,
      chunkOf: (e) => {
        const out = new Array<number>(layout.chunksPerShard.length);
        for (let k = out.length - 1; k >= 0; k--) {
          const per = layout.chunksPerShard[k]!;
          out[k] = shardStart[k]! + (e % per);
          e = Math.floor(e / per);
        }
        return out;
      },
    });
  }

  async #indexOverHttp(io: IndexIo, url: string): Promise<{ bytes: Uint8Array | null; shardLength: number | undefined }> {
    const size = this.layout.indexSize;
    const range = this.layout.indexLocation === "end" ? `bytes=-${size}` : `bytes=0-${size - 1}`;
    this.store.counters.requests++;
    this.store.counters.reads++;
    let res: Response;
    try {
      res = await io.fetch(url, { headers: { range } });
    } catch (cause) {
      if (io.signal.aborted) throw cause;
      throw new ChunkFetchError(url, (cause as { status?: number }).status, { cause });
    }
    if (this.store.missingStatuses.includes(res.status)) return { bytes: null, shardLength: undefined };
    if (res.status === 401 || res.status === 403) throw new ChunkFetchError(url, res.status, { cause: new HttpAccessDeniedError(url, res.status) });
    if (res.status !== 206 && res.status !== 200) throw new ChunkFetchError(url, res.status);
    const body = new Uint8Array(await res.arrayBuffer());
    this.store.counters.bytes += body.byteLength;
    if (res.status === 200) return { bytes: this.#indexOf(body, url), shardLength: body.byteLength };
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get("content-range") ?? "");
    if (m === null)
      throw new ShardIndexError(url, undefined, `Expected a Content-Range with the shard's length, got ${JSON.stringify(res.headers.get("content-range"))}`);
    const total = Number(m[3]);
    const start = Number(m[1]);
    const expectStart = this.layout.indexLocation === "end" ? Math.max(0, total - size) : 0;
    if (start !== expectStart || Number(m[2]) - start + 1 !== body.byteLength) {
      throw new ShardIndexError(url, undefined, `the server sent bytes ${m[1]}-${m[2]}/${m[3]} for ${range}`);
    }
    return { bytes: body, shardLength: total };
  }

  /** The index within a whole shard (a server that ignores Range sent it all). */
  #indexOf(shard: Uint8Array, where: string): Uint8Array {
    const size = this.layout.indexSize;
    if (shard.byteLength < size) throw new ShardIndexError(where, undefined, `the shard has ${shard.byteLength} bytes, fewer than its index (${size})`);
    return this.layout.indexLocation === "end" ? shard.subarray(shard.byteLength - size) : shard.subarray(0, size);
  }

  async #indexFromFile(path: string): Promise<{ bytes: Uint8Array | null; shardLength: number | undefined }> {
    const size = this.layout.indexSize;
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (cause) {
      if ((cause as { code?: string }).code === "ENOENT") return { bytes: null, shardLength: undefined };
      throw new ChunkFetchError(path, undefined, { cause });
    }
    try {
      const { size: total } = await handle.stat();
      if (total < size) throw new ShardIndexError(path, undefined, `the shard has ${total} bytes, fewer than its index (${size})`);
      const out = new Uint8Array(size);
      const position = this.layout.indexLocation === "end" ? total - size : 0;
      let n = 0;
      while (n < size) {
        const { bytesRead } = await handle.read(out, n, size - n, position + n);
        if (bytesRead === 0) throw new ShardIndexError(path, undefined, "the shard shrank while its index was read");
        n += bytesRead;
      }
      this.store.counters.requests++;
      this.store.counters.reads++;
      this.store.counters.bytes += size;
      return { bytes: out, shardLength: total };
    } finally {
      await handle.close();
    }
  }
}
