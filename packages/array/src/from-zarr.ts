// Our blosc decoder for every zarrita read in this thread, eager ones included (see codecs/).
import "./codecs/register.js";
import { Blockwise, Graph, Task, blockKey, blockIndex, blockwiseInput, op, perBlock, tokenize } from "@zask/graph";
import type { AbsolutePath, AsyncReadable, GetOptions, RangeQuery } from "@zarrita/storage";
import * as zarr from "zarrita";
import { Array } from "./array.js";
import type { ChunkCache } from "./chunk-cache.js";
import { normalizeChunks } from "./chunks.js";
import { fromZarrDataType, itemsize } from "./dtype.js";
import { ZarrArrayError, ZarrMetadataError } from "./errors.js";
import { exactIntegerFills, validateZarrMetadata } from "./zarr-metadata.js";
import type { ChunkRef, ZarrChunkMeta } from "./ops/zarr.js";
import type { ZarrLayerInfo } from "./plan.js";
import { ZarrStore } from "./zarr-store.js";
import { fromShardedZarr } from "./from-sharded-zarr.js";

const fetchChunkOp = op("@zask/array/ops", "fetchChunk", { lane: "io" });
const decodeChunkOp = op("@zask/array/ops", "decodeChunk", { lane: "cpu" });
const gatherOp = op("@zask/array/ops", "gather");

/**
 * What {@link fromZarr} reads: a URL, a local path, a zarrita store, a {@link ZarrStore} or an
 * opened zarrita Array. A zarrita Group is accepted by type (a `readDispatched` callback's
 * element may be either) and refused at run time.
 */
export type ZarrSource = string | URL | AsyncReadable | ZarrStore | zarr.Array<zarr.DataType, zarr.Readable> | zarr.Group<zarr.Readable>;

/** Options of {@link fromZarr}. */
export interface FromZarrOptions {
  /** The array's path inside the store. @default "" (the store is the array) */
  path?: string;
  /** A chunk cache shared by computes (ignored when `source` is already a {@link ZarrStore}). */
  cache?: ChunkCache;
  /** Read consolidated metadata (`.zmetadata`) first: `true`, `false`, or `"maybe"` (fall back when absent). @default false */
  consolidated?: boolean | "maybe";
  signal?: AbortSignal;
}

/** A store that remembers the metadata documents read through it, so they are read once. */
function remembering(store: AsyncReadable): { store: AsyncReadable; docs: Map<string, Uint8Array> } {
  const docs = new Map<string, Uint8Array>();
  return {
    docs,
    store: {
      async get(key: AbsolutePath, options?: GetOptions) {
        const hit = docs.get(key);
        if (hit) return hit;
        const out = await store.get(key, options);
        if (out && /(\.zarray|\.zattrs|\.zgroup|zarr\.json|\.zmetadata)$/.test(key)) docs.set(key, out);
        return out;
      },
      // zarrita asks for ranged reads up front for sharded arrays; chunks are read elsewhere.
      getRange(key: AbsolutePath, range: RangeQuery, options?: GetOptions) {
        if (!store.getRange) throw new TypeError("Expected a store with ranged reads");
        return store.getRange(key, range, options);
      },
    },
  };
}

/** The array's metadata document at `path`: `.zarray` (v2) or else `zarr.json` (v3). */
async function readDocument(
  metaStore: AsyncReadable,
  path: string,
  docs: Map<string, Uint8Array> | undefined,
  signal: AbortSignal | undefined,
): Promise<{ zarrFormat: 2 | 3; document: string } | undefined> {
  let zarrFormat: 2 | 3 = 2;
  let doc = docs?.get(join(path, ".zarray")) ?? (await metaStore.get(join(path, ".zarray"), { signal }));
  if (!doc) {
    zarrFormat = 3;
    doc = docs?.get(join(path, "zarr.json")) ?? (await metaStore.get(join(path, "zarr.json"), { signal }));
  }
  // a store other than a ZarrStore gives the document as written: its int64 fill kept exact here
  return doc ? { zarrFormat, document: new TextDecoder().decode(exactIntegerFills(doc)) } : undefined;
}

function parseDocument(document: string, where: { url: string; path: string }): Record<string, unknown> {
  try {
    return JSON.parse(document) as Record<string, unknown>;
  } catch (cause) {
    throw new ZarrMetadataError(where.url, where.path, "(document)", "not valid JSON", { cause });
  }
}

function join(prefix: string, name: string): AbsolutePath {
  const p = prefix.endsWith("/") ? prefix : prefix + "/";
  return (p + name) as AbsolutePath;
}

/**
 * A lazy Array over a zarr array (v2 or v3, any codec zarrita decodes): one `from-zarr`
 * task per chunk, which fetches the chunk's bytes on the main thread (HTTP through the
 * scheduler's I/O lane) and decodes them on a worker thread. A chunk the store does not
 * have reads as the fill value. Metadata is read now (one request per document, or none
 * with consolidated metadata already loaded) and checked before anything is sized from it
 * (a `ZarrMetadataError` naming the field); chunks only when computed, each checked against
 * its shape (a `ChunkDecodeError` naming the chunk).
 *
 * @example
 * ```ts
 * const X = await fromZarr("http://127.0.0.1:8080/pbmc.zarr", { path: "X" });
 * const local = await fromZarr("./data/pbmc.zarr", { path: "X" });
 * const fromZarrita = await fromZarr(await zarr.open(store, { kind: "array" }));
 * ```
 */
export async function fromZarr(source: ZarrSource, options: FromZarrOptions = {}): Promise<Array> {
  const { signal } = options;
  signal?.throwIfAborted();
  let store: ZarrStore;
  let opened: zarr.Array<zarr.DataType, zarr.Readable>;
  let metaStore: AsyncReadable;
  let docs: Map<string, Uint8Array> | undefined;
  if (source instanceof zarr.Group) throw new TypeError(`Expected a zarr array, got the group at \`${source.path}\``);
  if (source instanceof zarr.Array) {
    const inner = source.store as AsyncReadable;
    store = inner instanceof ZarrStore ? inner : new ZarrStore(inner, { cache: options.cache });
    opened = source;
    metaStore = inner;
  } else {
    store = source instanceof ZarrStore ? source : new ZarrStore(source as string | URL | AsyncReadable, { cache: options.cache });
    const r = remembering(store);
    docs = r.docs;
    metaStore = r.store;
    if (options.consolidated === true) metaStore = await zarr.withConsolidatedMetadata(metaStore);
    else if (options.consolidated === "maybe") metaStore = await zarr.withMaybeConsolidatedMetadata(metaStore);
    const location = zarr.root(metaStore).resolve(options.path ?? "");
    try {
      opened = (await zarr.open(location, { kind: "array", signal })) as zarr.Array<zarr.DataType, zarr.Readable>;
    } catch (cause) {
      if (signal?.aborted) throw signal.reason;
      // zarrita refuses some bad metadata at open; say which field, as for what it accepts
      const found = await readDocument(metaStore, location.path, docs, signal).catch(() => undefined);
      if (found !== undefined) {
        const where = { url: store.describe(location.path), path: location.path };
        validateZarrMetadata(parseDocument(found.document, where), found.zarrFormat, where);
      }
      throw new ZarrArrayError(store.describe(location.path), "no zarr array here", { cause });
    }
  }
  signal?.throwIfAborted();
  const where = store.describe(opened.path);
  // The worker opens the array from its metadata document, read through the same store.
  const found = await readDocument(metaStore, opened.path, docs, signal);
  if (found === undefined) throw new ZarrArrayError(where, "no .zarray or zarr.json metadata document");
  const { zarrFormat, document } = found;
  const metadata = parseDocument(document, { url: where, path: opened.path });
  // before anything is sized from it: the chunk grid below has one entry per block
  validateZarrMetadata(metadata, zarrFormat, { url: where, path: opened.path });
  // A sharded array's blocks are its inner chunks (from-sharded-zarr.ts).
  const codecs = (metadata["codecs"] ?? []) as { name: string }[];
  const sharded = zarrFormat === 3 && codecs.some((c) => c.name === "sharding_indexed");
  let dtype;
  try {
    dtype = fromZarrDataType(opened.dtype);
  } catch (cause) {
    throw new ZarrArrayError(where, `unsupported data type ${opened.dtype}`, { cause });
  }
  const shape = [...opened.shape];
  const chunkShape = sharded ? [...(metadata["chunk_grid"] as { configuration: { chunk_shape: number[] } }).configuration.chunk_shape] : [...opened.chunks];
  const chunks = normalizeChunks(
    chunkShape.map((c, k) => Math.min(c, Math.max(shape[k]!, 1))),
    shape,
  );
  const prefix = opened.path.replace(/^\/+/, "").replace(/\/?$/, "/").replace(/^\/$/, "");
  const chunkKey = chunkKeyEncoder(metadata, zarrFormat, prefix);
  if (sharded && !shape.some((n) => n === 0)) {
    const token = tokenize(store.location, opened.path, document);
    const cut = (c: readonly number[]) =>
      normalizeChunks(
        c.map((n, k) => Math.min(n, Math.max(shape[k]!, 1))),
        shape,
      );
    return fromShardedZarr({ store, metadata, dtype, shape, shardKey: chunkKey, token, where, path: opened.path, chunks: cut });
  }
  const chunkBytes = chunkShape.reduce((a, b) => a * b, 1) * Math.max(itemsize(dtype), 1);
  const token = tokenize(store.location, opened.path, document);
  const path = opened.path;
  const meta: ZarrChunkMeta = sharded ? { zarrFormat, document, dtype, sharded, path } : { zarrFormat, document, dtype, path };
  const decodeName = `from-zarr-${token}`;

  if (shape.some((n) => n === 0)) {
    // An empty array: zarr has no chunks to read; one empty block spanning every axis (the
    // chunk grid's blocks along the other axes would each need a task of their own).
    const g = Graph.fromNodes(decodeName, [
      new Task(
        blockKey(
          decodeName,
          shape.map(() => 0),
        ),
        gatherOp,
        [[], shape, shape, dtype],
      ),
    ]);
    return new Array(
      g,
      decodeName,
      shape.map((n) => [n]),
      dtype,
    );
  }

  const outIndex = "abcdefghijklmnopqrstuvwxyz".slice(0, shape.length);
  const numBlocks = chunks.map((c) => c.length);
  const fetchName = `fetch-zarr-${token}`;
  const info: ZarrLayerInfo = { store, chunkKey, chunkBytes };
  const fetchLayer = new Blockwise({
    name: fetchName,
    outIndex,
    numBlocks,
    op: fetchChunkOp,
    args: [store, perBlock((index) => chunkKey(index), { refs: false }), chunkBytes],
    annotations: { zarr: info },
  });
  const decodeLayer = new Blockwise({
    name: decodeName,
    outIndex,
    numBlocks,
    op: decodeChunkOp,
    args: [
      blockwiseInput(fetchName, outIndex, numBlocks),
      meta,
      blockIndex(),
      perBlock((index) => index.map((b, k) => chunks[k]![b]!), { refs: false }),
      perBlock(
        (index): ChunkRef => {
          const key = chunkKey(index);
          return { key: key.slice(prefix.length), url: store.describe(key) };
        },
        { refs: false },
      ),
    ],
  });
  const graph = Graph.fromLayer(fetchLayer).withLayer(decodeLayer, [fetchName]);
  return new Array(graph, decodeName, chunks, dtype);
}

/** The store key of a chunk, from the array's metadata (v2 `dimension_separator`, v3 `chunk_key_encoding`). */
function chunkKeyEncoder(metadata: Record<string, unknown>, zarrFormat: 2 | 3, prefix: string): (coords: readonly number[]) => string {
  if (zarrFormat === 2) {
    const sep = (metadata["dimension_separator"] as string | undefined) ?? ".";
    return (coords) => prefix + (coords.length === 0 ? "0" : coords.join(sep));
  }
  const enc = (metadata["chunk_key_encoding"] ?? { name: "default" }) as { name: string; configuration?: { separator?: string } };
  if (enc.name === "v2") {
    const sep = enc.configuration?.separator ?? ".";
    return (coords) => prefix + (coords.length === 0 ? "0" : coords.join(sep));
  }
  const sep = enc.configuration?.separator ?? "/";
  return (coords) => prefix + ["c", ...coords].join(sep);
}
