import type { AbsolutePath } from "@zarrita/storage";
import * as zarr from "zarrita";

/**
 * Store keys are data: an element named `"a "`, `"Unnamed: 0"`, `"x%y"`, `"h#s"` or `"q?r"` is
 * a node of exactly that name. Two functions turn keys into places without changing them:
 * {@link resolveStorePath} (a path relative to a node, as zarr resolves it) and
 * {@link keyUrl} (the URL of a key under a store's URL, each segment percent-encoded).
 */

/**
 * The store path `path` names relative to the node at `base`: `/`-separated segments, `.` and
 * `..` resolved, a leading `/` absolute, and every other segment kept verbatim (no trimming,
 * no percent-decoding). A `path` that is empty or ends with `/` keeps the trailing slash, as
 * URL resolution does.
 *
 * @example
 * ```ts
 * resolveStorePath("/obs", "h#s"); // "/obs/h#s"
 * ```
 */
export function resolveStorePath(base: string, path: string): AbsolutePath {
  const segments = path.startsWith("/") ? [] : base.split("/").filter((s) => s !== "");
  for (const s of path.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") segments.pop();
    else segments.push(s);
  }
  const dir = (path === "" || path.endsWith("/")) && segments.length > 0 ? "/" : "";
  return ("/" + segments.join("/") + dir) as AbsolutePath;
}

/** Keys that need no percent-encoding: almost all zarr keys (metadata documents, chunk keys). */
const PLAIN_KEY = /^[A-Za-z0-9._\-/]*$/;

/**
 * The URL of store key `key` (`/obs/h#s/.zarray`, or without the leading slash) under the store
 * at `storeUrl`: each segment percent-encoded (`/` kept as the separator), the store URL's
 * query string kept (a signed URL's token).
 *
 * @example
 * ```ts
 * keyUrl("http://h/pbmc.zarr", "/obs/q?r/0"); // "http://h/pbmc.zarr/obs/q%3Fr/0"
 * ```
 */
export function keyUrl(storeUrl: string | URL, key: string): string {
  let base = lastBase;
  if (typeof storeUrl !== "string" || base?.url !== storeUrl) {
    const u = typeof storeUrl === "string" ? new URL(storeUrl) : storeUrl;
    base = { url: storeUrl, prefix: u.origin + u.pathname.replace(/\/*$/, "/"), search: u.search };
    if (typeof storeUrl === "string") lastBase = base;
  }
  const rel = key.replace(/^\/+/, "");
  const path = PLAIN_KEY.test(rel) ? rel : rel.split("/").map(encodeURIComponent).join("/");
  return base.prefix + path + base.search;
}

// the last store URL parsed: a compute asks for many keys of one store in a row
let lastBase: { url: string | URL; prefix: string; search: string } | undefined;

// zarrita resolves every child and metadata key by URL resolution (`new URL(path, "file://…")`
// then `decodeURIComponent`), which trims trailing spaces, reads `#` and `?` as a fragment and
// a query, and throws on `%`: zask's readers and writers resolve keys as the store paths they
// are, at this one place.
zarr.Location.prototype.resolve = function resolve<Store>(this: zarr.Location<Store>, path: string): zarr.Location<Store> {
  return new zarr.Location(this.store, resolveStorePath(this.path, path));
};
