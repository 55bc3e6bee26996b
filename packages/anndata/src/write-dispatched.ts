import { rm } from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import type { AnnData } from "./anndata.js";
import type { Compressor } from "./compressor.js";
import { openDestination, type WriteDestination } from "./destination.js";
import type { IOSpec } from "./elem.js";
import { ioSpecOfValue, writeDefault } from "./encodings/write-defaults.js";
import { ZaskError } from "@zask/graph";
import { ElementWriteError } from "./errors.js";
import { ZarrWriter, type DatasetOptions, type ZarrFormat } from "./zarr-writer.js";

/** The store handle a write callback passes back to `write` (opaque). */
export interface WriteTarget {
  readonly writer: ZarrWriter;
}

/** Writes `elem` at `key` (a path from the store's root) with the default writer of its encoding. */
export type WriteFunction = (store: WriteTarget, key: string, elem: unknown, options?: DatasetOptions) => Promise<void>;

/**
 * A `writeDispatched` callback, as anndata's: called for every element with the default
 * writer, the store, the element's path (`/X`, `/layers/scaled`), the value, the dataset options
 * (`chunks`, `compressor`) it would be written with, and its encoding.
 */
export type WriteCallback = (write: WriteFunction, store: WriteTarget, key: string, elem: unknown, options: DatasetOptions, spec: IOSpec) => unknown;

/** Options of {@link writeZarr}, {@link writeElem} and {@link writeDispatched}. */
export interface WriteOptions {
  /** Zarr format of a new store. @default 2 (what anndata 0.8 reads) */
  format?: ZarrFormat;
  /** Compressor of every array. @default blosc lz4 level 5 with shuffle */
  compressor?: Compressor | null;
  /** Replace an existing store (or element). Without it, writing over one fails and changes nothing. @default false */
  overwrite?: boolean;
  /** Write consolidated metadata at the end. @default true */
  consolidate?: boolean;
  signal?: AbortSignal;
}

function normalizeKey(key: string): string {
  if (typeof key !== "string") throw new TypeError(`Expected \`key\` to be a string, got \`${String(key)}\` (${typeof key})`);
  const k = "/" + key.replace(/^\/+|\/+$/g, "");
  return k;
}

function dispatcher(writer: ZarrWriter, callback: WriteCallback | undefined): (key: string, value: unknown, options: DatasetOptions) => Promise<void> {
  const target: WriteTarget = { writer };
  const writeAt = async (key: string, value: unknown, options: DatasetOptions): Promise<void> => {
    const spec = ioSpecOfValue(value, key);
    if (spec === undefined) {
      if (value === null || value === undefined) return;
      throw new ElementWriteError(key, writer.url, "value", `cannot write a value of type ${Object.prototype.toString.call(value)}`);
    }
    const write: WriteFunction = async (t, k, v, o = {}) => {
      if (t?.writer !== writer) throw new TypeError("Expected `store` to be the store handle passed to the callback");
      const s = v === value && normalizeKey(k) === key ? spec : ioSpecOfValue(v, normalizeKey(k));
      if (s === undefined) return;
      await writeDefault(writer, normalizeKey(k), v, s, o, writeAt);
    };
    if (callback === undefined) return write(target, key, value, options);
    await callback(write, target, key, value, { ...options }, spec);
  };
  return writeAt;
}

/**
 * Write a whole store (key `/`) or one element into an existing store, calling `callback` for
 * every element (anndata's `write_dispatched`) so each can be written your way, e.g. with its
 * own chunking. Consolidated metadata is written last.
 *
 * @example
 * ```ts
 * // The tutorial's write_chunked: X and layers chunked [nObs, 25], everything else default.
 * await writeDispatched("pbmc3k_scaled.zarr", "/", adata, (write, store, key, elem, options, { encodingType }) => {
 *   if (encodingType === "array") options = { ...options, chunks: key.includes("layers") || key.endsWith("X") ? [adata.nObs, 25] : undefined };
 *   return write(store, key, elem, options);
 * });
 * ```
 */
export async function writeDispatched(
  dest: WriteDestination,
  key: string,
  elem: unknown,
  callback: WriteCallback | undefined,
  options: WriteOptions = {},
): Promise<void> {
  if (callback !== undefined && typeof callback !== "function") {
    throw new TypeError(`Expected \`callback\` to be a function, got \`${String(callback)}\` (${typeof callback})`);
  }
  const k = normalizeKey(key);
  options.signal?.throwIfAborted();
  if (k === "/") return writeWholeStore(dest, elem, callback, options);
  return writeInPlace(dest, k, elem, callback, options);
}

async function writeWholeStore(dest: WriteDestination, elem: unknown, callback: WriteCallback | undefined, options: WriteOptions): Promise<void> {
  const spec = ioSpecOfValue(elem, "/");
  if (spec === undefined || !["anndata", "dict"].includes(spec.encodingType)) {
    throw new TypeError(`Expected the root element to be an AnnData or a plain object, got \`${Object.prototype.toString.call(elem)}\``);
  }
  const opened = await openDestination(dest, { overwrite: options.overwrite });
  const writer = new ZarrWriter(opened.store, options.format ?? 2, opened.url, options.signal);
  try {
    await dispatcher(writer, callback)("/", elem, { compressor: options.compressor });
    if (options.consolidate !== false) await writer.consolidate();
    else await writer.flush();
  } catch (e) {
    await writer.flush().catch(() => undefined);
    await opened.abort();
    throw e;
  }
  await opened.commit();
}

async function readJson(store: zarr.Mutable, key: string): Promise<Record<string, unknown> | undefined> {
  const bytes = await store.get(key as zarr.AbsolutePath);
  if (bytes === undefined) return undefined;
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

async function writeInPlace(dest: WriteDestination, key: string, elem: unknown, callback: WriteCallback | undefined, options: WriteOptions): Promise<void> {
  let store: zarr.Mutable;
  let url: string | undefined;
  let localRoot: string | undefined;
  if (typeof dest === "string" || dest instanceof URL) {
    const s = dest instanceof URL ? dest.href : dest;
    localRoot = path.resolve(s.startsWith("file:") ? fileURLToPath(s) : s);
    url = pathToFileURL(localRoot).href;
    store = new FileSystemStore(localRoot) as unknown as zarr.Mutable;
  } else {
    store = dest;
  }
  try {
    await writeInStore(store, url, localRoot, key, elem, callback, options);
  } catch (cause) {
    // A file system refusal (EACCES, ENOTDIR, EROFS…) names the element and the store.
    if (cause instanceof ZaskError || typeof (cause as NodeJS.ErrnoException)?.code !== "string") throw cause;
    throw new ElementWriteError(key, url, "store", `the store refused the write (${(cause as NodeJS.ErrnoException).code}: ${(cause as Error).message})`, {
      cause,
    });
  }
}

async function writeInStore(
  store: zarr.Mutable,
  url: string | undefined,
  localRoot: string | undefined,
  key: string,
  elem: unknown,
  callback: WriteCallback | undefined,
  options: WriteOptions,
): Promise<void> {
  const v3Root = await readJson(store, "/zarr.json");
  const format: ZarrFormat = v3Root ? 3 : 2;
  if (!v3Root && (await store.get("/.zgroup")) === undefined) {
    throw new ElementWriteError(key, url, "store", "expected an existing zarr group at the root of the store");
  }
  const metaKeys = format === 2 ? [".zgroup", ".zarray"] : ["zarr.json"];
  let exists = false;
  for (const m of metaKeys) if ((await store.get(`${key}/${m}` as zarr.AbsolutePath)) !== undefined) exists = true;
  if (exists && !options.overwrite) {
    throw new ElementWriteError(key, url, "exists", "an element already exists there; pass `overwrite: true` to replace it");
  }
  // Keep what the consolidated metadata knew about everything outside `key`, then take it away
  // until the end, so a failure leaves per-node metadata only, never a listing of absent data.
  const consolidated = format === 2 ? await readJson(store, "/.zmetadata") : (v3Root?.["consolidated_metadata"] as Record<string, unknown> | undefined);
  const rel = key.slice(1);
  const keep = new Map<string, unknown>();
  if (consolidated) {
    const md = (consolidated["metadata"] ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(md)) {
      if (k === rel || k.startsWith(rel + "/")) continue;
      keep.set(format === 2 ? k : `${k}/zarr.json`, v);
    }
    if (format === 2) {
      const del = (store as { delete?: (k: string) => unknown }).delete;
      if (typeof del === "function") await del.call(store, "/.zmetadata");
    }
  }
  if (exists && localRoot !== undefined) await rm(path.join(localRoot, rel), { recursive: true, force: true });
  const writer = new ZarrWriter(store, format, url, options.signal);
  // Parents that do not exist yet become dict groups.
  const parts = rel.split("/");
  for (let i = 1; i < parts.length; i++) {
    const p = "/" + parts.slice(0, i).join("/");
    let has = false;
    for (const m of metaKeys) if ((await store.get(`${p}/${m}` as zarr.AbsolutePath)) !== undefined) has = true;
    if (!has) await writer.group(p, { "encoding-type": "dict", "encoding-version": "0.1.0" });
  }
  try {
    await dispatcher(writer, callback)(key, elem, { compressor: options.compressor });
  } catch (e) {
    await writer.flush().catch(() => undefined);
    throw e;
  }
  await writer.flush();
  if (consolidated && options.consolidate !== false) {
    if (format === 3) keep.set("zarr.json", { zarr_format: 3, node_type: "group", attributes: v3Root?.["attributes"] ?? {} });
    await writer.consolidate(keep);
  }
}

/**
 * Write one element (anndata's `write_elem`): at key `/` a whole new store, elsewhere into an
 * existing store, refreshing its consolidated metadata.
 *
 * @example
 * ```ts
 * await writeElem("pbmc.zarr", "/uns/note", "rechunked by zask", { overwrite: true });
 * ```
 */
export async function writeElem(dest: WriteDestination, key: string, elem: unknown, options: WriteOptions & DatasetOptions = {}): Promise<void> {
  const { chunks, shards, ...rest } = options;
  const own = { ...(chunks === undefined ? {} : { chunks }), ...(shards === undefined ? {} : { shards }) };
  const cb: WriteCallback | undefined =
    chunks === undefined && shards === undefined
      ? undefined
      : (write, store, k, v, o) => write(store, k, v, normalizeKey(k) === normalizeKey(key) ? { ...o, ...own } : o);
  return writeDispatched(dest, key, elem, cb, rest);
}

/** Options of {@link writeZarr}. */
export interface WriteZarrOptions extends WriteOptions {
  /** Chunk shape of a dense X (as anndata's `write_zarr(chunks=)`); other arrays are one chunk. */
  chunks?: readonly (number | null)[];
  /** Zarr v3 only: shards of a dense X (multiples of `chunks`, or `"auto"`: anndata 0.13's sizing); see {@link DatasetOptions.shards}. */
  shards?: readonly number[] | "auto";
}

/**
 * Write an AnnData object as a zarr store (anndata's `write_zarr`), readable by Python anndata.
 * The store appears only when complete; an existing one is replaced only with `overwrite: true`.
 * A local store is written into `<dest>.zask-tmp-<pid>-<id>` and moved into place; what a
 * killed write left there is removed by the next write to `dest` once process `<pid>` is gone.
 * A file system refusal (EACCES, ENOTDIR, …) is an {@link ElementWriteError} naming `dest`.
 *
 * @example
 * ```ts
 * await writeZarr(adata, "data/pbmc3k_c25.zarr", { chunks: [adata.nObs, 25], overwrite: true });
 * ```
 */
export async function writeZarr(adata: AnnData<unknown>, dest: WriteDestination, options: WriteZarrOptions = {}): Promise<void> {
  const { chunks, shards, ...rest } = options;
  const own = { ...(chunks === undefined ? {} : { chunks }), ...(shards === undefined ? {} : { shards }) };
  const cb: WriteCallback | undefined =
    chunks === undefined && shards === undefined
      ? undefined
      : (write, store, k, v, o, spec) => write(store, k, v, k === "/X" && spec.encodingType === "array" ? { ...o, ...own } : o);
  return writeDispatched(dest, "/", adata, cb, rest);
}
