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

const STAGING = /^(.*)\.zask-(tmp|old)-(\d+)-[0-9a-z]+$/;

/** Whether process `pid` is alive (or exists under another user: EPERM); only ESRCH says it is gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/**
 * Reclaim what a killed write to `target` left beside it: its `<target>.zask-tmp-<pid>-<id>`
 * staging directory is removed, and a `<target>.zask-old-<pid>-<id>` (the previous store, set
 * aside during a commit) is moved back when the target is missing, removed otherwise. Only
 * entries whose writer process is gone (ESRCH) are touched, so concurrent writers are safe.
 */
async function reclaimStale(target: string): Promise<void> {
  const dir = path.dirname(target);
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const name of entries) {
    const m = STAGING.exec(name);
    if (m === null || m[1] !== path.basename(target)) continue;
    const pid = Number(m[3]);
    if (pid === process.pid || isAlive(pid)) continue;
    const stale = path.join(dir, name);
    if (m[2] === "old" && !(await stat(target).catch(() => undefined))) await rename(stale, target);
    else await rm(stale, { recursive: true, force: true });
  }
}

/** A failure of the file system while writing: an {@link ElementWriteError} naming the destination. */
function fsError(cause: unknown, url: string, what: string): ElementWriteError {
  const code = (cause as NodeJS.ErrnoException).code;
  return new ElementWriteError("/", url, "store", `${what} (${code ?? (cause as Error).message})`, { cause });
}

/**
 * Open `dest` for writing a whole store; refuses an existing store unless `overwrite`.
 * A local write first reclaims the staging directories that killed writes to the same
 * destination left behind (their writer's pid is in the name and no longer runs).
 */
export async function openDestination(dest: WriteDestination, options: { overwrite?: boolean } = {}): Promise<OpenedDestination> {
  if (typeof dest === "string" || dest instanceof URL) {
    const s = dest instanceof URL ? dest.href : dest;
    if (/^https?:\/\//i.test(s)) {
      throw new TypeError(`Expected \`dest\` to be a local path or a mutable zarrita store, got the URL \`${s}\` (HTTP stores are read-only)`);
    }
    const target = path.resolve(s.startsWith("file:") ? fileURLToPath(s) : s);
    const url = pathToFileURL(target).href;
    await reclaimStale(target).catch((cause: unknown) => {
      throw fsError(cause, url, "could not reclaim the staging directory of an earlier, killed write");
    });
    const existing = await stat(target).catch(() => undefined);
    if (existing && !existing.isDirectory()) {
      throw new ElementWriteError("/", url, "exists", "the destination exists and is not a directory");
    }
    const entries = existing
      ? await readdir(target).catch((cause: unknown) => {
          throw fsError(cause, url, "could not list the destination");
        })
      : [];
    if (entries.length > 0 && !options.overwrite) {
      throw new ElementWriteError("/", url, "exists", "the destination is not empty; pass `overwrite: true` to replace it");
    }
    const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    const staging = `${target}.zask-tmp-${suffix}`;
    await mkdir(staging, { recursive: true }).catch((cause: unknown) => {
      throw fsError(cause, url, `could not create the staging directory ${staging}`);
    });
    return {
      store: new FileSystemStore(staging) as unknown as zarr.Mutable,
      url,
      async commit() {
        const old = `${target}.zask-old-${suffix}`;
        const had = await stat(target).catch(() => undefined);
        if (had) {
          await rename(target, old).catch((cause: unknown) => {
            throw fsError(cause, url, "could not set the old store aside");
          });
        }
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
