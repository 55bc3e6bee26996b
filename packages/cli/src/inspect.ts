import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { readZarr } from "@zask/anndata";
import { formatTable } from "./format-table.js";

/** One node of an AnnData store as `inspect` describes it. */
export interface ElementInfo {
  /** Path inside the store, `/` for the root. */
  path: string;
  kind: "group" | "array";
  /** `encoding-type` and `encoding-version`, when the node has them. */
  encoding: string | undefined;
  shape: number[] | undefined;
  dtype: string | undefined;
  chunks: number[] | undefined;
  /** The compressor or codec chain, e.g. `blosc(lz4, clevel 5, shuffle 1)`. */
  codec: string | undefined;
}

/** What `inspect` found. */
export interface Inspection {
  /** The AnnData repr, as `String(adata)`. */
  repr: string;
  elements: ElementInfo[];
}

type Json = Record<string, unknown>;

/**
 * Describes an AnnData zarr store (URL or local path): the AnnData repr, then every element
 * with its encoding, shape, dtype, chunks and codec, from the store's consolidated metadata
 * (zarr v2 `.zmetadata` or a v3 root `zarr.json`) — one request, no chunk reads besides the
 * dataframes `readZarr` loads for the repr.
 *
 * @example
 * ```ts
 * const { repr, elements } = await inspect("http://127.0.0.1:8080/data/pbmc3k_processed.zarr");
 * console.log(formatInspection({ repr, elements }));
 * ```
 */
export async function inspect(source: string, options: { signal?: AbortSignal } = {}): Promise<Inspection> {
  if (typeof source !== "string" || source === "")
    throw new TypeError(`Expected \`source\` to be a URL or a path, got \`${String(source)}\` (${typeof source})`);
  const { signal } = options;
  const adata = await readZarr(source, { signal });
  const metadata = await consolidatedMetadata(source, signal);
  return { repr: String(adata), elements: metadata === undefined ? [] : describe(metadata) };
}

/**
 * `inspect`'s findings as text: the repr, then a table of elements.
 *
 * @example
 * ```ts
 * process.stdout.write(formatInspection(await inspect("data/pbmc3k_processed.zarr")) + "\n");
 * ```
 */
export function formatInspection(inspection: Inspection): string {
  const { repr, elements } = inspection;
  if (elements.length === 0) return `${repr}\n\n(no consolidated metadata: elements not listed)`;
  const list = (v: number[] | undefined): string | undefined => (v === undefined ? undefined : `[${v.join(", ")}]`);
  return `${repr}\n\n${formatTable(elements, [
    { header: "element", cell: (e) => e.path },
    { header: "kind", cell: (e) => e.kind },
    { header: "encoding", cell: (e) => e.encoding },
    { header: "shape", cell: (e) => list(e.shape) },
    { header: "dtype", cell: (e) => e.dtype },
    { header: "chunks", cell: (e) => list(e.chunks) },
    { header: "codec", cell: (e) => e.codec },
  ])}`;
}

async function consolidatedMetadata(source: string, signal: AbortSignal | undefined): Promise<Map<string, Json> | undefined> {
  const read = async (name: string): Promise<Json | undefined> => {
    if (/^https?:\/\//i.test(source)) {
      const res = await fetch(`${source.replace(/\/+$/, "")}/${name}`, { signal });
      if (!res.ok) {
        await res.arrayBuffer();
        return undefined;
      }
      return (await res.json()) as Json;
    }
    const path = source.startsWith("file:") ? new URL(source).pathname : source;
    return JSON.parse(await readFile(join(path, name), "utf8").catch(() => "null")) ?? undefined;
  };
  const nodes = new Map<string, Json>();
  const v2 = await read(".zmetadata");
  if (v2 !== undefined) {
    for (const [key, doc] of Object.entries((v2["metadata"] ?? {}) as Record<string, Json>)) {
      const at = key.lastIndexOf("/");
      const path = at === -1 ? "/" : `/${key.slice(0, at)}`;
      const file = key.slice(at + 1);
      const node = nodes.get(path) ?? {};
      if (file === ".zarray") Object.assign(node, { kind: "array", meta: doc });
      else if (file === ".zgroup") Object.assign(node, { kind: "group" });
      else if (file === ".zattrs") Object.assign(node, { attrs: doc });
      nodes.set(path, node);
    }
    return nodes;
  }
  const v3 = await read("zarr.json");
  const consolidated = (v3?.["consolidated_metadata"] as Json | undefined)?.["metadata"] as Record<string, Json> | undefined;
  if (v3 === undefined || consolidated === undefined) return undefined;
  nodes.set("/", { kind: "group", attrs: v3["attributes"] });
  for (const [key, doc] of Object.entries(consolidated)) {
    nodes.set(`/${key}`, { kind: doc["node_type"], meta: doc, attrs: doc["attributes"] });
  }
  return nodes;
}

function describe(nodes: Map<string, Json>): ElementInfo[] {
  const out: ElementInfo[] = [];
  for (const [path, node] of [...nodes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const attrs = (node["attrs"] ?? {}) as Json;
    const meta = node["meta"] as Json | undefined;
    const type = attrs["encoding-type"];
    const version = attrs["encoding-version"];
    const encoding = typeof type === "string" ? `${type}${typeof version === "string" ? ` ${version}` : ""}` : undefined;
    if (node["kind"] !== "array" || meta === undefined) {
      out.push({ path, kind: "group", encoding, shape: undefined, dtype: undefined, chunks: undefined, codec: undefined });
      continue;
    }
    const v3 = meta["zarr_format"] === 3;
    const chunks = v3
      ? (((meta["chunk_grid"] as Json | undefined)?.["configuration"] as Json | undefined)?.["chunk_shape"] as number[] | undefined)
      : (meta["chunks"] as number[]);
    out.push({
      path,
      kind: "array",
      encoding,
      shape: meta["shape"] as number[],
      dtype: v3 ? String(meta["data_type"]) : dtypeName(meta["dtype"], meta["filters"]),
      chunks,
      codec: v3 ? codecChain(meta["codecs"]) : codecName(meta["compressor"] as Json | null),
    });
  }
  return out;
}

function dtypeName(dtype: unknown, filters: unknown): string {
  const ids = Array.isArray(filters) ? filters.map((f: Json) => f["id"]) : [];
  if (dtype === "|O" && ids.includes("vlen-utf8")) return "string (vlen-utf8)";
  return String(dtype);
}

function codecName(compressor: Json | null): string {
  if (compressor === null || compressor === undefined) return "none";
  const { id, ...config } = compressor;
  if (id === "blosc") return `blosc(${String(config["cname"])}, clevel ${String(config["clevel"])}, shuffle ${String(config["shuffle"])})`;
  const level = config["level"];
  return level === undefined ? String(id) : `${String(id)}(level ${String(level)})`;
}

function codecChain(codecs: unknown): string {
  if (!Array.isArray(codecs)) return "–";
  return (
    codecs
      .map((c: Json) => String(c["name"]))
      .filter((name) => name !== "bytes")
      .join(" → ") || "none"
  );
}
