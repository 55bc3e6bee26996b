import { basename, extname } from "node:path";

const BY_EXTENSION: Readonly<Record<string, string>> = {
  ".json": "application/json",
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

// Zarr v2 metadata documents are JSON without an extension; v3's is zarr.json.
const ZARR_METADATA = new Set([".zarray", ".zattrs", ".zgroup", ".zmetadata"]);

/**
 * The `Content-Type` for a served file: JSON for zarr metadata, a few common web types,
 * `application/octet-stream` for everything else (chunks).
 *
 * @example
 * ```ts
 * contentType("/data/a.zarr/.zarray"); // "application/json"
 * contentType("/data/a.zarr/X/0.0");   // "application/octet-stream"
 * ```
 */
export function contentType(file: string): string {
  if (ZARR_METADATA.has(basename(file))) return "application/json";
  return BY_EXTENSION[extname(file).toLowerCase()] ?? "application/octet-stream";
}
