import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { ElementWriteError } from "./errors.js";

/** Where to write a store: a local directory (path or `file:` URL) or a zarrita mutable store (a `Map` works). */
export type WriteDestination = string | URL | zarr.Mutable;

/**
 * An open destination. Local directories are written into a staging directory beside the
 * target and moved into place by `commit`, so a failed write leaves the old store (or nothing)
 * untouched; `abort` removes the staging directory.
 */
export interface OpenedDestination {
  readonly store: zarr.Mutable;
  readonly url: string | undefined;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

const ROOT_KEYS = ["/.zgroup", "/.zarray", "/.zmetadata", "/zarr.json"] as const;

async function storeHasRoot(store: zarr.Mutable): Promise<boolean> {
  for (const k of ROOT_KEYS) if ((await store.get(k)) !== undefined) return true;
  return false;
}

/** Open `dest` for writing a whole store; refuses an existing store unless `overwrite`. */
export async function openDestination(dest: WriteDestination, options: { overwrite?: boolean } = {}): Promise<OpenedDestination> {
  if (typeof dest === "string" || dest instanceof URL) {
    const s = dest instanceof URL ? dest.href : dest;
    if (/^https?:\/\//i.test(s)) {
      throw new TypeError(`Expected \`dest\` to be a local path or a mutable zarrita store, got the URL \`${s}\` (HTTP stores are read-only)`);
    }
    const target = path.resolve(s.startsWith("file:") ? fileURLToPath(s) : s);
    const url = pathToFileURL(target).href;
    const existing = await stat(target).catch(() => undefined);
    if (existing && !existing.isDirectory()) {
      throw new ElementWriteError("/", url, "exists", "the destination exists and is not a directory");
    }
    if (existing && (await readdir(target)).length > 0 && !options.overwrite) {
      throw new ElementWriteError("/", url, "exists", "the destination is not empty; pass `overwrite: true` to replace it");
    }
    const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    const staging = `${target}.zask-tmp-${suffix}`;
    await mkdir(staging, { recursive: true });
    return {
      store: new FileSystemStore(staging) as unknown as zarr.Mutable,
      url,
      async commit() {
        const old = `${target}.zask-old-${suffix}`;
        const had = await stat(target).catch(() => undefined);
        if (had) await rename(target, old);
        try {
          await rename(staging, target);
        } catch (cause) {
          if (had) await rename(old, target);
          throw new ElementWriteError("/", url, "store", "could not move the written store into place", { cause });
        }
        if (had) await rm(old, { recursive: true, force: true });
      },
      async abort() {
        await rm(staging, { recursive: true, force: true });
      },
    };
  }
  if (typeof dest !== "object" || dest === null || typeof (dest as zarr.Mutable).set !== "function") {
    throw new TypeError(`Expected \`dest\` to be a local path or a mutable zarrita store, got \`${String(dest)}\` (${typeof dest})`);
  }
  const store = dest;
  const u = (store as { url?: unknown }).url;
  const url = typeof u === "string" ? u : undefined;
  if (await storeHasRoot(store)) {
    if (!options.overwrite) throw new ElementWriteError("/", url, "exists", "the store already holds a zarr hierarchy; pass `overwrite: true` to replace it");
    // Drop the old consolidated metadata first: until the new one is written last, readers fall
    // back to per-node metadata instead of trusting a listing of what may no longer be there.
    const del = (store as { delete?: (k: string) => unknown }).delete;
    if (typeof del === "function") await del.call(store, "/.zmetadata");
  }
  return { store, url, async commit() {}, async abort() {} };
}
