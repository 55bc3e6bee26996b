import { createRequire } from "node:module";
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { opName, type Op, type OpFunction, type OpRef } from "@zask/graph";

const resolved = new Map<string, string>();
const modules = new Map<string, Promise<Record<string, unknown>>>();
const functions = new Map<string, OpFunction>();

/**
 * The URL a worker thread can import for an op's module specifier. URLs (`file:`, `data:`,
 * `node:`) and absolute paths are taken as they are; a bare specifier (`@zask/array/ops`) is
 * resolved from this package's location first (where the workspace's `@zask/*` packages
 * are found), then from the current directory (a user's own package).
 *
 * @example
 * ```ts
 * resolveOpModule("@zask/array/ops"); // "file:///…/packages/array/dist/ops/index.js"
 * ```
 */
export function resolveOpModule(specifier: string): string {
  let url = resolved.get(specifier);
  if (url !== undefined) return url;
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier)) {
    url = specifier;
  } else if (isAbsolute(specifier)) {
    url = pathToFileURL(specifier).href;
  } else if (specifier.startsWith("./") || specifier.startsWith("../")) {
    url = new URL(specifier, pathToFileURL(process.cwd() + "/")).href;
  } else {
    try {
      url = import.meta.resolve(specifier);
    } catch (first) {
      try {
        url = pathToFileURL(createRequire(pathToFileURL(process.cwd() + "/")).resolve(specifier)).href;
      } catch {
        throw first;
      }
    }
  }
  resolved.set(specifier, url);
  return url;
}

function cacheKey(module: string, name: string): string {
  return module + "#" + name;
}

/**
 * Import the function an op names (once; later calls hit the cache). A plain function is
 * returned as it is. Used by the main thread and by the pool's workers alike.
 *
 * @example
 * ```ts
 * const sum = await loadOp(op("@zask/array/ops", "sum"));
 * ```
 */
export async function loadOp(o: Op): Promise<OpFunction> {
  if (typeof o === "function") return o;
  return loadOpByUrl(resolveOpModule(o.module), o.name, opName(o));
}

/** {@link loadOp} for a module already resolved to a URL (what workers receive). */
export async function loadOpByUrl(url: string, name: string, printable = cacheKey(url, name)): Promise<OpFunction> {
  const k = cacheKey(url, name);
  const hit = functions.get(k);
  if (hit !== undefined) return hit;
  let mod = modules.get(url);
  if (mod === undefined) {
    mod = import(url) as Promise<Record<string, unknown>>;
    modules.set(url, mod);
    mod.catch(() => modules.delete(url));
  }
  const fn = (await mod)[name];
  if (typeof fn !== "function") {
    throw new TypeError(`Expected op ${printable} to be an exported function, got \`${String(fn)}\` (${typeof fn})`);
  }
  functions.set(k, fn as OpFunction);
  return fn as OpFunction;
}

/**
 * The function of an op already loaded by {@link loadOp}, synchronously; `undefined` when it
 * was not loaded yet. The scheduler loads every op of a graph before it starts, so the hot
 * path never awaits an import.
 */
export function loadedOp(o: OpRef | OpFunction): OpFunction | undefined {
  if (typeof o === "function") return o;
  return functions.get(cacheKey(resolveOpModule(o.module), o.name));
}

/** {@link loadedOp} by resolved URL. */
export function loadedOpByUrl(url: string, name: string): OpFunction | undefined {
  return functions.get(cacheKey(url, name));
}
