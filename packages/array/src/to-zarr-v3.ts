import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { Blockwise, blockwiseInput, op, perBlock, tokenize } from "@zask/graph";
import { compute as run } from "@zask/scheduler";
import type { Array } from "./array.js";
import { AUTO_SHARD_BYTES, autoShards } from "./auto-shards.js";
import { normalizeChunks } from "./chunks.js";
import { itemsize } from "./dtype.js";
import { ZarrArrayError } from "./errors.js";
import type { ChunkSink, CompressorConfig } from "./ops/write.js";
import { rechunkWith } from "./rechunk.js";
import { withReadSessions } from "./read-sessions.js";
import type { ToZarrOptions, ToZarrResult, WritableStore } from "./to-zarr.js";

const encodeShardOp = op("@zask/array/ops", "encodeShardBlock", { lane: "cpu" });
const encodeChunkOp = op("@zask/array/ops", "encodeChunk", { lane: "cpu" });
const writeChunkOp = op("@zask/array/ops", "writeChunk", { lane: "io" });

const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x, null, 2));

/** The v3 codec of a compressor zask writes (blosc and gzip; zlib has no v3 codec). */
function v3Codec(c: CompressorConfig | null, typesize: number): Record<string, unknown>[] {
  if (c === null) return [];
  if (c.id === "gzip") return [{ name: "gzip", configuration: { level: c.level ?? 1 } }];
  if (c.id === "blosc") {
    const shuffle = ["noshuffle", "shuffle", "bitshuffle"][c.shuffle ?? 1] ?? "shuffle";
    return [{ name: "blosc", configuration: { cname: c.cname ?? "lz4", clevel: c.clevel ?? 5, shuffle, typesize, blocksize: c.blocksize ?? 0 } }];
  }
  throw new TypeError(`Expected a zarr v3 compressor (blosc, gzip or null), got \`${JSON.stringify(c)}\``);
}

/**
 * `x.toZarr(dest, { format: 3, shards })`: write `x` as a zarr v3 array, sharded when `shards`
 * is given (`sharding_indexed`, inner chunks `chunks`, index at the end with crc32c, as
 * zarr-python writes it; `"auto"`: anndata 0.13's sizing) — one task per shard, or per chunk
 * unsharded — with its `zarr.json` and a `zarr.json` for each parent group.
 */
export async function toZarrV3(x: Array, dest: string | URL | WritableStore, options: ToZarrOptions): Promise<ToZarrResult> {
  const {
    path = "",
    overwrite = false,
    attributes = {},
    format: _format,
    shards: shardsOption,
    chunks: _chunks,
    compressor: _compressor,
    ...computeOptions
  } = options;
  if (x.dtype === "string") throw new TypeError("Expected a numeric or bool array for zarr v3, got `string` (write strings as zarr v2)");
  const compressor = options.compressor === undefined ? ({ id: "blosc", cname: "lz4", clevel: 5, shuffle: 1, blocksize: 0 } as const) : options.compressor;
  const size = itemsize(x.dtype);
  const codecs = [{ name: "bytes", configuration: { endian: "little" } }, ...v3Codec(compressor, size)];
  const inner = options.chunks === undefined ? x.chunks.map((c) => Math.max(1, ...c)) : normalizeChunks(options.chunks, x.shape).map((c) => Math.max(1, ...c));
  let shards: number[] | undefined;
  if (shardsOption === "auto") shards = autoShards(x.shape, inner, size, AUTO_SHARD_BYTES);
  else if (shardsOption !== undefined) {
    if (
      !globalThis.Array.isArray(shardsOption) ||
      shardsOption.length !== x.ndim ||
      shardsOption.some((s, k) => !Number.isInteger(s) || s < 1 || s % inner[k]! !== 0)
    ) {
      throw new RangeError(
        `Expected \`shards\` to be "auto" or ${x.ndim} positive multiples of the chunks [${inner.join(", ")}], got \`${JSON.stringify(shardsOption)}\``,
      );
    }
    shards = [...shardsOption];
  }
  const grid = shards ?? inner;
  const fill = x.dtype === "bool" ? false : 0;
  const zarrJson = {
    zarr_format: 3,
    node_type: "array",
    shape: [...x.shape],
    data_type: x.dtype,
    chunk_grid: { name: "regular", configuration: { chunk_shape: grid } },
    chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
    fill_value: fill,
    codecs:
      shards === undefined
        ? codecs
        : [
            {
              name: "sharding_indexed",
              configuration: {
                chunk_shape: inner,
                codecs,
                index_codecs: [{ name: "bytes", configuration: { endian: "little" } }, { name: "crc32c" }],
                index_location: "end",
              },
            },
          ],
    attributes,
    storage_transformers: [],
  };
  const prefix = path.replace(/^\/+|\/+$/g, "");
  const key = (name: string) => (prefix === "" ? name : `${prefix}/${name}`);
  const groups = prefix === "" ? [] : prefix.split("/").map((_, i, parts) => parts.slice(0, i).join("/"));
  const group = enc({ zarr_format: 3, node_type: "group", attributes: {} });
  let sink: ChunkSink;
  const signal = computeOptions.signal;
  if ((typeof dest === "string" && /^https?:\/\//i.test(dest)) || (dest instanceof URL && dest.protocol !== "file:")) {
    throw new TypeError(`Expected \`dest\` to be a local path, a file URL or a writable store, got \`${String(dest)}\` (HTTP stores are read-only)`);
  }
  if (typeof dest === "string" || dest instanceof URL) {
    const root = dest instanceof URL ? fileURLToPath(dest) : isAbsolute(dest) ? dest : resolvePath(dest);
    const exists = await readFile(join(root, key("zarr.json")), { signal }).then(
      () => true,
      () => false,
    );
    if (exists && !overwrite) throw new ZarrArrayError(join(root, prefix), "an array is already there (pass `overwrite: true`)");
    if (exists) await rm(join(root, prefix), { recursive: true, force: true });
    await mkdir(join(root, prefix), { recursive: true });
    for (const g of groups) {
      const file = join(root, g, "zarr.json");
      if (
        !(await readFile(file).then(
          () => true,
          () => false,
        ))
      )
        await writeFile(file, group);
    }
    await writeFile(join(root, key("zarr.json")), enc(zarrJson));
    sink = { kind: "file", root };
  } else if (dest !== null && typeof dest === "object" && typeof dest.set === "function") {
    const exists = (await dest.get("/" + key("zarr.json"))) !== undefined;
    if (exists && !overwrite) throw new ZarrArrayError(key(""), "an array is already there (pass `overwrite: true`)");
    for (const g of groups) {
      const k = "/" + (g === "" ? "zarr.json" : `${g}/zarr.json`);
      if ((await dest.get(k)) === undefined) await dest.set(k, group);
    }
    await dest.set("/" + key("zarr.json"), enc(zarrJson));
    sink = { kind: "store", store: dest };
  } else {
    throw new TypeError(`Expected \`dest\` to be a local path or a writable zarrita store, got \`${String(dest)}\` (${typeof dest})`);
  }

  const y = rechunkWith(x, normalizeChunks(grid, x.shape));
  const token = tokenize(y.name, zarrJson, sink.kind === "file" ? sink.root : "store", prefix);
  const outIndex = "abcdefghijklmnopqrstuvwxyz".slice(0, y.ndim);
  const encodeName = `encode-zarr3-${token}`;
  const storeName = `to-zarr3-${token}`;
  const encodeLayer = new Blockwise({
    name: encodeName,
    outIndex,
    numBlocks: y.numBlocks,
    op: shards === undefined ? encodeChunkOp : encodeShardOp,
    args:
      shards === undefined
        ? [blockwiseInput(y.name, outIndex, y.numBlocks), inner, fill, compressor]
        : [blockwiseInput(y.name, outIndex, y.numBlocks), shards, inner, fill, compressor],
  });
  const storeLayer = new Blockwise({
    name: storeName,
    outIndex,
    numBlocks: y.numBlocks,
    op: writeChunkOp,
    args: [blockwiseInput(encodeName, outIndex, y.numBlocks), sink, perBlock((index) => key(["c", ...index].join("/")))],
  });
  const graph = y.graph.withLayer(encodeLayer, [y.name]).withLayer(storeLayer, [encodeName]);
  const keys = [...storeLayer.keys()];
  // a sharded source's inner chunks are read through one read plan for the whole write
  const written = (await run(withReadSessions(graph, keys, { httpConcurrency: computeOptions.httpConcurrency }), keys, computeOptions)) as number[];
  return { chunks: written.length, bytes: written.reduce((a, b) => a + b, 0) };
}
