import { realpath } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";

/** Why a request path was refused: 400 for a malformed path, 403 for one that leaves the root. */
export type PathRefusal = { status: 400 | 403; reason: string };

/**
 * Maps the path part of a request target to a file path under `root`, or refuses it.
 *
 * Each `/`-separated segment is percent-decoded on its own, so `%2f` cannot make a new
 * separator; a decoded segment that is `.`, `..`, or holds `/`, `\` or a NUL byte is refused
 * rather than normalized, because no zarr key contains one and a client that sends one is
 * probing. The query string is dropped.
 *
 * @example
 * ```ts
 * resolveRequestPath("/srv", "/a.zarr/X/0.0?x=1"); // "/srv/a.zarr/X/0.0"
 * resolveRequestPath("/srv", "/%2e%2e/etc/passwd"); // { status: 403, reason: ... }
 * ```
 */
export function resolveRequestPath(root: string, target: string): string | PathRefusal {
  const queryAt = target.search(/[?#]/);
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  if (!rawPath.startsWith("/")) return { status: 400, reason: "request target is not an absolute path" };
  const segments: string[] = [];
  for (const raw of rawPath.split("/")) {
    if (raw === "") continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { status: 400, reason: "bad percent-encoding" };
    }
    if (segment === "." || segment === "..") return { status: 403, reason: "dot segment" };
    if (/[/\\\0]/.test(segment)) return { status: 403, reason: "separator or NUL in a segment" };
    segments.push(segment);
  }
  const file = join(root, ...segments);
  if (!isInside(root, file)) return { status: 403, reason: "outside the root" };
  return file;
}

/** Whether `path` is `root` or below it (both absolute, already normalized). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/**
 * Resolves symlinks of `file` and checks that the real file is still under `realRoot`
 * (itself a realpath). Returns the real path, `"outside"`, or `"missing"`.
 */
export async function realPathInside(realRoot: string, file: string): Promise<string | "outside" | "missing"> {
  let real: string;
  try {
    real = await realpath(file);
  } catch {
    return "missing";
  }
  return isInside(realRoot, real) ? real : "outside";
}
