import { readdir, stat } from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { ElementReadError, StoreOpenError } from "./errors.js";
import { diagnoseMissing, toReadError } from "./read-error.js";
import { withChunkChecks } from "./checked-store.js";
import { HttpStore, keyUrl, ZarrStore, countRequests, type HttpStoreOptions } from "@zask/array";
import type { ComputeOptions } from "@zask/scheduler";

/** Metadata documents of zarr v2 and v3: a consolidated store answers these without asking. */
const METADATA_KEY = /\/(\.zarray|\.zgroup|\.zattrs|zarr\.json)$/;

/** Where to read an AnnData store from: an http(s) URL, a local path or `file:` URL, or a zarrita store. */
export type StoreSource = string | URL | zarr.Readable;

/**
 * Options of {@link openStore}. The HTTP options (`missingStatuses`, `timeout`, `deadline`,
 * `retries`, `retryDelay`, `maxBytes`, `httpConcurrency`, `http2`) apply to metadata and eager reads of
 * an http(s) store; `missingStatuses` and `maxBytes` to its lazy chunk reads too.
 */
export interface OpenStoreOptions extends Omit<HttpStoreOptions, "signal"> {
  /**
   * Use consolidated metadata (`.zmetadata`, or `consolidated_metadata` in a v3 root `zarr.json`)
   * when the store has it: one request opens the whole hierarchy. Without it, each node's
   * metadata is read when it is visited.
   * @default true
   */
  consolidated?: boolean;
  /**
   * Milliseconds an HTTP request for metadata or an eager read may wait for the headers or
   * between two reads of the body (lazy chunk reads follow the compute's options).
   * @default 30000
   */
  timeout?: number;
  signal?: AbortSignal;
}

/** What zask knows about an opened store, kept per store object. */
interface StoreInfo {
  /** The URL (or absolute path) of the store's root, for messages. */
  readonly url: string | undefined;
  /** The local root directory, when the store is on local disk (used to list groups). */
  readonly localRoot: string | undefined;
  readonly consolidated: boolean;
  /** The consolidated listing, when there is one: the sorted child names of each group path. */
  readonly contents: ReadonlyMap<string, readonly string[]> | undefined;
  /** The HTTP options the store was opened with, for the computes of its eager reads. */
  readonly http: EagerHttpOptions;
}

/** The HTTP options of an open that its eager reads (computes of whole arrays) follow too. */
export type EagerHttpOptions = Pick<ComputeOptions, "httpConcurrency" | "http2" | "retries" | "retryDelay" | "timeout" | "deadline">;

const infos = new WeakMap<object, StoreInfo>();

/** An opened store: its root group and facts about it. */
export interface OpenedStore {
  /** The store every element and lazy array reads through (its `counters` count the reads). */
  readonly store: ZarrStore;
  readonly root: zarr.Group<zarr.Readable>;
  readonly url: string | undefined;
  /** Whether consolidated metadata was found and is used. */
  readonly consolidated: boolean;
}

function isUrlString(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/**
 * Open a zarr store for reading and its root group, using consolidated metadata when present.
 *
 * @example
 * ```ts
 * const { root, consolidated } = await openStore("http://127.0.0.1:8080/data/pbmc3k_processed.zarr");
 * ```
 */
export async function openStore(source: StoreSource, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  options.signal?.throwIfAborted();
  let base: zarr.Readable;
  let url: string | undefined;
  let localRoot: string | undefined;
  if (typeof source === "string" || source instanceof URL) {
    const s = source instanceof URL ? source.href : source;
    if (isUrlString(s)) {
      url = s.replace(/\/+$/, "");
      // a stalled or endless server must not hang the open: the I/O lane's deadline, byte limit and retries
      base = new HttpStore(url, httpOptions(options));
    } else {
      localRoot = path.resolve(s.startsWith("file:") ? fileURLToPath(s) : s);
      url = pathToFileURL(localRoot).href;
      const st = await stat(localRoot).catch(() => undefined);
      if (!st?.isDirectory()) throw new StoreOpenError("Expected a zarr store directory, found nothing there", url);
      base = new FileSystemStore(localRoot);
    }
  } else if (typeof source === "object" && source !== null && typeof (source as zarr.Readable).get === "function") {
    base = source;
    const u = (source as { url?: unknown }).url;
    url = typeof u === "string" ? u : u instanceof URL ? u.href : undefined;
    const known = infos.get(source);
    if (known) ({ url, localRoot } = known);
    else if (source instanceof FileSystemStore) {
      const root = (source as unknown as { root?: unknown }).root;
      if (typeof root === "string") {
        localRoot = path.resolve(root);
        url = pathToFileURL(localRoot).href;
      }
    }
  } else {
    throw new TypeError(`Expected \`source\` to be a URL, a path or a zarrita store, got \`${String(source)}\` (${typeof source})`);
  }

  // requests are counted beneath consolidated metadata, which answers most metadata reads from memory
  let zstore: ZarrStore | undefined;
  const beforeStore = { requests: 0 };
  const counted = countRequests(base as zarr.AsyncReadable, () => zstore?.counters ?? beforeStore);
  let store: zarr.Readable = counted;
  let consolidated = false;
  if (options.consolidated !== false) {
    // Watch zarrita read `.zmetadata` (no second request) to learn which metadata documents
    // exist: a node's absent `.zattrs` must not cost a request that is sure to 404.
    let known: Set<string> | undefined;
    let malformed: unknown;
    const a = counted;
    const tap: zarr.AsyncReadable = {
      async get(key, opts) {
        const bytes = await a.get(key, opts);
        if (key === "/.zmetadata" && bytes !== undefined) {
          try {
            const doc = JSON.parse(new TextDecoder().decode(bytes)) as { metadata?: Record<string, unknown> };
            if (typeof doc.metadata !== "object" || doc.metadata === null) throw new SyntaxError("no `metadata` object");
            known = new Set(Object.keys(doc.metadata).map((k) => "/" + k));
          } catch (e) {
            // zarrita would quietly fall back to per-node metadata; a broken .zmetadata is an error.
            malformed = e;
          }
        } else if (key === "/zarr.json" && bytes !== undefined && known === undefined) {
          // v3: the root document lists every node under `consolidated_metadata.metadata`.
          try {
            const doc = JSON.parse(new TextDecoder().decode(bytes)) as { consolidated_metadata?: { metadata?: Record<string, unknown> } };
            const listed = doc.consolidated_metadata?.metadata;
            if (typeof listed === "object" && listed !== null) {
              known = new Set(["/zarr.json", ...Object.keys(listed).map((k) => (k.startsWith("/") ? k : "/" + k) + "/zarr.json")]);
            }
          } catch {
            // zarrita reports a malformed root document itself.
          }
        }
        return bytes;
      },
      ...(a.getRange ? { getRange: a.getRange.bind(a) } : {}),
    };
    let wrapped: zarr.AsyncReadable & { contents?: () => { path: string; kind: string }[] };
    try {
      wrapped = await zarr.withMaybeConsolidatedMetadata(tap);
    } catch (cause) {
      const key = "/.zmetadata";
      throw toReadError(cause, key, url === undefined ? undefined : url + key, "consolidated metadata");
    }
    if (malformed !== undefined) {
      const key = "/.zmetadata";
      throw new ElementReadError(
        key,
        url === undefined ? undefined : url + key,
        "metadata",
        `malformed consolidated metadata (${(malformed as Error).message})`,
        { cause: malformed },
      );
    }
    consolidated = typeof wrapped.contents === "function";
    store = wrapped;
    if (consolidated && known !== undefined) {
      const k = known;
      store = {
        async get(key, opts) {
          // The consolidated listing is the whole hierarchy: a node it does not list (of either
          // zarr format) does not exist, and asking the server would only cost a 404.
          if (METADATA_KEY.test(key) && !k.has(key)) return undefined;
          return wrapped.get(key, opts);
        },
        ...(wrapped.getRange ? { getRange: wrapped.getRange.bind(wrapped) } : {}),
        contents: () => wrapped.contents!(),
      } as zarr.AsyncReadable;
    }
  }
  const listed = store as { contents?: () => { path: string; kind: string }[] };
  // Consolidated contents never change after the open (unlisted nodes read as absent), and
  // zarrita rebuilds the list on every call: list once, group by parent.
  const contents = listed.contents === undefined ? undefined : childrenIndex(listed.contents());
  const checked = withChunkChecks(store as zarr.AsyncReadable);
  // An http store shows its URL so that @zask/array fetches chunks by URL through the
  // scheduler's I/O lane (bounded per origin, retried); one ZarrStore per opened store, shared
  // by every lazy array of it, counts its reads.
  if (url !== undefined && isUrlString(url)) (checked as { url?: string }).url = url;
  zstore = new ZarrStore(checked, {
    requestsCountedBelow: true,
    ...(options.missingStatuses === undefined ? {} : { missingStatuses: options.missingStatuses }),
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
  });
  zstore.counters.requests += beforeStore.requests;
  store = zstore;
  infos.set(store, { url, localRoot, consolidated, contents, http: eagerHttpOptions(options) });
  let root: zarr.Group<zarr.Readable>;
  try {
    root = await zarr.open(store, { kind: "group" });
  } catch (cause) {
    const e = toReadError(cause, "/", url, "root group");
    if (e.reason !== "missing") throw e;
    await diagnoseMissing(store, "/", url);
    if (await isRootArray(store))
      throw new StoreOpenError("Found a zarr array at the root of the store, expected a group (an AnnData store is a group)", url, { cause });
    const asked = consolidated ? [".zgroup", "zarr.json"] : [".zmetadata", ".zgroup", "zarr.json"];
    const where =
      base instanceof HttpStore
        ? `HTTP 404 (or another missing status) for ${asked.map((k) => base.urlOf(k)).join(", ")}`
        : `no ${asked.join(", ")} in ${localRoot ?? "the store"}`;
    throw new StoreOpenError(`Expected a zarr group at the root of the store, found none: ${where}`, url, { cause });
  }
  return { store: zstore, root, url, consolidated };
}

/** The HTTP options of `options`, checked by the I/O lane. */
function httpOptions(options: OpenStoreOptions): HttpStoreOptions {
  const out: Record<string, unknown> = {};
  for (const k of ["missingStatuses", "timeout", "deadline", "retries", "retryDelay", "maxBytes", "httpConcurrency", "http2", "signal"] as const) {
    if (options[k] !== undefined) out[k] = options[k];
  }
  return out as HttpStoreOptions;
}

/** The options of `options` that an eager read's compute follows. */
function eagerHttpOptions(options: OpenStoreOptions): EagerHttpOptions {
  const out: Record<string, unknown> = {};
  for (const k of ["httpConcurrency", "http2", "retries", "retryDelay", "timeout", "deadline"] as const) {
    if (options[k] !== undefined) out[k] = options[k];
  }
  return out as EagerHttpOptions;
}

/** The HTTP options `store` was opened with (none for a store not opened by {@link openStore}). */
export function eagerHttpOf(store: object): EagerHttpOptions {
  return infos.get(store)?.http ?? {};
}

/** Whether the root of `store` is a zarr array (v2 `.zarray`, or a v3 `zarr.json` of an array). */
async function isRootArray(store: zarr.Readable): Promise<boolean> {
  const get = (key: string) => (store as zarr.AsyncReadable).get(key as zarr.AbsolutePath).catch(() => undefined);
  if ((await get("/.zarray")) !== undefined) return true;
  const doc = await get("/zarr.json");
  if (doc === undefined) return false;
  try {
    return (JSON.parse(new TextDecoder().decode(doc)) as { node_type?: unknown }).node_type === "array";
  } catch {
    return false;
  }
}

/** The sorted child names of every group path of a consolidated listing. */
function childrenIndex(nodes: readonly { path: string }[]): Map<string, string[]> {
  const children = new Map<string, Set<string>>();
  for (const { path: p } of nodes) {
    if (p === "/") continue;
    const cut = p.lastIndexOf("/");
    const parent = cut === 0 ? "/" : p.slice(0, cut);
    let names = children.get(parent);
    if (names === undefined) children.set(parent, (names = new Set()));
    names.add(p.slice(cut + 1));
  }
  return new Map([...children].map(([parent, names]) => [parent, [...names].sort()]));
}

/**
 * Whether the node at `nodePath` exists, when the store's consolidated listing can tell
 * (`undefined` when it cannot: no consolidated metadata).
 */
export function isListed(store: object, nodePath: string): boolean | undefined {
  const contents = infos.get(store)?.contents;
  if (contents === undefined) return undefined;
  if (nodePath === "/") return true;
  const cut = nodePath.lastIndexOf("/");
  return contents.get(cut === 0 ? "/" : nodePath.slice(0, cut))?.includes(nodePath.slice(cut + 1)) ?? false;
}

/** The URL of the node at `nodePath` of `store`, for messages (undefined for unknown stores). */
export function urlOf(store: object, nodePath: string): string | undefined {
  const info = infos.get(store);
  if (info?.url === undefined) return undefined;
  if (nodePath === "/") return info.url;
  return isUrlString(info.url) ? keyUrl(info.url, nodePath) : info.url + nodePath;
}

/**
 * The names of the child nodes of the group at `group.path`: from consolidated metadata, or
 * by listing the directory of a local store. A remote store without consolidated metadata
 * cannot be listed, so its dict-like groups are read as empty — except children known from
 * the encoding (columns, codes, …), which are opened by name.
 */
export async function listChildren(group: zarr.Group<zarr.Readable>): Promise<string[] | undefined> {
  const store = group.store;
  const contents = infos.get(store)?.contents;
  if (contents !== undefined) return [...(contents.get(group.path) ?? [])];
  const localRoot = infos.get(store)?.localRoot;
  if (localRoot === undefined) return undefined;
  const dir = path.join(localRoot, group.path);
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (cause) {
    throw new ElementReadError(group.path, urlOf(store, group.path), "missing", "cannot list the group", { cause });
  }
  const names: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const inner = await readdir(path.join(dir, e.name)).catch(() => [] as string[]);
    if (inner.includes(".zarray") || inner.includes(".zgroup") || inner.includes("zarr.json")) names.push(e.name);
  }
  return names.sort();
}
