import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { Blockwise, blockwiseInput, op, perBlock, tokenize } from "@zask/graph";
import { compute as run } from "@zask/scheduler";
import type { Array } from "./array.js";
import { normalizeChunks, type ChunksSpec } from "./chunks.js";
import type { ComputeOptions } from "./compute.js";
import { toZarrV2Dtype } from "./dtype.js";
import { ZarrArrayError } from "./errors.js";
import { rechunkWith } from "./rechunk.js";
import { toZarrV3 } from "./to-zarr-v3.js";
import { withReadSessions } from "./read-sessions.js";
import type { ChunkSink, CompressorConfig } from "./ops/write.js";

export type { CompressorConfig } from "./ops/write.js";

/** A zarrita store zask can write into (`Map`-like `get`/`set`). */
export interface WritableStore {
  get(key: string): unknown;
  set(key: string, value: Uint8Array): unknown;
}

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
}

/** What `toZarr()` did. */
export interface ToZarrResult {
  /** Chunks written (one task each). */
  readonly chunks: number;
  /** Bytes written for them (compressed). */
  readonly bytes: number;
}

const encodeChunkOp = op("@zask/array/ops", "encodeChunk", { lane: "cpu" });
const writeChunkOp = op("@zask/array/ops", "writeChunk", { lane: "io" });

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
  const { path = "", overwrite = false, attributes = {}, format: _format, shards: _shards, ...computeOptions } = options;
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
    dtype: toZarrV2Dtype(x.dtype),
    fill_value: fill,
    filters: x.dtype === "string" ? [{ id: "vlen-utf8" }] : null,
    order: "C",
    shape: [...x.shape],
    zarr_format: 2,
  };
  const prefix = path.replace(/^\/+|\/+$/g, "");
  const key = (name: string) => (prefix === "" ? name : `${prefix}/${name}`);

  let sink: ChunkSink;
  const signal = computeOptions.signal;
  if ((typeof dest === "string" && /^https?:\/\//i.test(dest)) || (dest instanceof URL && dest.protocol !== "file:")) {
    throw new TypeError(`Expected \`dest\` to be a local path, a file URL or a writable store, got \`${String(dest)}\` (HTTP stores are read-only)`);
  }
  if (typeof dest === "string" || dest instanceof URL) {
    const root = dest instanceof URL ? fileURLToPath(dest) : isAbsolute(dest) ? dest : resolvePath(dest);
    const exists = await readFile(join(root, key(".zarray")), { signal }).then(
      () => true,
      () => false,
    );
    if (exists && !overwrite) throw new ZarrArrayError(join(root, prefix), "an array is already there (pass `overwrite: true`)");
    if (exists) await rm(join(root, prefix), { recursive: true, force: true });
    await mkdir(join(root, prefix), { recursive: true });
    const groups = prefix === "" ? [] : prefix.split("/").map((_, i, parts) => parts.slice(0, i).join("/"));
    for (const g of groups) {
      const file = join(root, g, ".zgroup");
      if (
        !(await readFile(file).then(
          () => true,
          () => false,
        ))
      )
        await writeFile(file, enc({ zarr_format: 2 }));
    }
    await writeFile(join(root, key(".zarray")), enc(zarray));
    await writeFile(join(root, key(".zattrs")), enc(attributes));
    sink = { kind: "file", root };
  } else if (dest !== null && typeof dest === "object" && typeof dest.set === "function") {
    const exists = (await dest.get("/" + key(".zarray"))) !== undefined;
    if (exists && !overwrite) throw new ZarrArrayError(key(""), "an array is already there (pass `overwrite: true`)");
    const groups = prefix === "" ? [] : prefix.split("/").map((_, i, parts) => parts.slice(0, i).join("/"));
    for (const g of groups) {
      const k = "/" + (g === "" ? ".zgroup" : `${g}/.zgroup`);
      if ((await dest.get(k)) === undefined) await dest.set(k, enc({ zarr_format: 2 }));
    }
    await dest.set("/" + key(".zarray"), enc(zarray));
    await dest.set("/" + key(".zattrs"), enc(attributes));
    sink = { kind: "store", store: dest };
  } else {
    throw new TypeError(`Expected \`dest\` to be a local path or a writable zarrita store, got \`${String(dest)}\` (${typeof dest})`);
  }

  const token = tokenize(y.name, zarray, sink.kind === "file" ? sink.root : "store", prefix);
  const outIndex = "abcdefghijklmnopqrstuvwxyz".slice(0, y.ndim);
  const encodeName = `encode-zarr-${token}`;
  const storeName = `to-zarr-${token}`;
  const encodeLayer = new Blockwise({
    name: encodeName,
    outIndex,
    numBlocks: y.numBlocks,
    op: encodeChunkOp,
    args: [blockwiseInput(y.name, outIndex, y.numBlocks), size, fill, compressor],
  });
  const storeLayer = new Blockwise({
    name: storeName,
    outIndex,
    numBlocks: y.numBlocks,
    op: writeChunkOp,
    args: [blockwiseInput(encodeName, outIndex, y.numBlocks), sink, perBlock((index) => key(index.length === 0 ? "0" : index.join(".")))],
  });
  const graph = y.graph.withLayer(encodeLayer, [y.name]).withLayer(storeLayer, [encodeName]);
  const keys = [...storeLayer.keys()];
  // a sharded source's inner chunks are read through one read plan for the whole write
  const written = (await run(withReadSessions(graph, keys, { httpConcurrency: computeOptions.httpConcurrency }), keys, computeOptions)) as number[];
  return { chunks: written.length, bytes: written.reduce((a, b) => a + b, 0) };
}
