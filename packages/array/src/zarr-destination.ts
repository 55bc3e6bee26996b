import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { Blockwise, blockwiseInput, type OpRef, op, perBlock } from "@zask/graph";
import { compute as run } from "@zask/scheduler";
import type { Array } from "./array.js";
import type { ComputeOptions } from "./compute.js";
import { ZarrArrayError } from "./errors.js";
import type { ChunkSink } from "./ops/write.js";
import { releaseReadSessions, withReadSessions } from "./read-sessions.js";

/** A zarrita store zask can write into (`Map`-like `get`/`set`). */
export interface WritableStore {
  get(key: string): unknown;
  set(key: string, value: Uint8Array): unknown;
}

/** How one zarr format lays out an array's metadata. */
export interface ArrayLayout {
  /** The file whose presence means "an array is here" (`.zarray`, `zarr.json`). */
  readonly marker: string;
  /** The array's metadata files, marker included, in the order they are written. */
  readonly files: readonly (readonly [name: string, bytes: Uint8Array])[];
  /** The file and body that make each parent a group (`.zgroup`, `zarr.json`). */
  readonly group: readonly [name: string, bytes: Uint8Array];
}

/** An array's place in a store, opened for its chunks. */
export interface ArrayDestination {
  readonly sink: ChunkSink;
  /** The array's path in the store, without leading or trailing slashes. */
  readonly prefix: string;
  /** The store key of a file of the array (`key("0.0")`). */
  key(name: string): string;
}

const exists = (file: string, signal?: AbortSignal) =>
  readFile(file, { signal }).then(
    () => true,
    () => false,
  );

/**
 * Prepare `path` in `dest` (a local directory, a file URL or a writable store) for a new
 * array: refuse or clear an array already there, make each parent a group, write the
 * array's metadata. HTTP stores are refused: they are read-only.
 */
export async function openArrayDestination(
  dest: string | URL | WritableStore,
  path: string,
  layout: ArrayLayout,
  { overwrite = false, signal }: { overwrite?: boolean; signal?: AbortSignal } = {},
): Promise<ArrayDestination> {
  const prefix = path.replace(/^\/+|\/+$/g, "");
  const key = (name: string) => (prefix === "" ? name : `${prefix}/${name}`);
  const groups = prefix === "" ? [] : prefix.split("/").map((_, i, parts) => parts.slice(0, i).join("/"));
  const groupKey = (g: string) => (g === "" ? layout.group[0] : `${g}/${layout.group[0]}`);
  if ((typeof dest === "string" && /^https?:\/\//i.test(dest)) || (dest instanceof URL && dest.protocol !== "file:")) {
    throw new TypeError(`Expected \`dest\` to be a local path, a file URL or a writable store, got \`${String(dest)}\` (HTTP stores are read-only)`);
  }
  if (typeof dest === "string" || dest instanceof URL) {
    const root = dest instanceof URL ? fileURLToPath(dest) : isAbsolute(dest) ? dest : resolvePath(dest);
    // an array of either format is there: one left beside the new would be read instead of it
    const there = (await exists(join(root, key(layout.marker)), signal)) || (await exists(join(root, key(otherMarker(layout))), signal));
    if (there && !overwrite) throw new ZarrArrayError(join(root, prefix), "an array is already there (pass `overwrite: true`)");
    if (there) await rm(join(root, prefix), { recursive: true, force: true });
    await mkdir(join(root, prefix), { recursive: true });
    for (const g of groups) {
      const file = join(root, groupKey(g));
      if (!(await exists(file))) await writeFile(file, layout.group[1]);
    }
    for (const [name, bytes] of layout.files) await writeFile(join(root, key(name)), bytes);
    return { sink: { kind: "file", root }, prefix, key };
  }
  if (dest !== null && typeof dest === "object" && typeof dest.set === "function") {
    const there = (await dest.get("/" + key(layout.marker))) !== undefined;
    if (there && !overwrite) throw new ZarrArrayError(key(""), "an array is already there (pass `overwrite: true`)");
    // a store without listing cannot remove an array of the other format, which readers would find first
    if ((await dest.get("/" + key(otherMarker(layout)))) !== undefined) {
      throw new ZarrArrayError(
        key(""),
        `an array of the other zarr format is already there (${otherMarker(layout)}), which this store cannot remove: write to an empty location`,
      );
    }
    for (const g of groups) {
      const k = "/" + groupKey(g);
      if ((await dest.get(k)) === undefined) await dest.set(k, layout.group[1]);
    }
    for (const [name, bytes] of layout.files) await dest.set("/" + key(name), bytes);
    return { sink: { kind: "store", store: dest }, prefix, key };
  }
  throw new TypeError(`Expected \`dest\` to be a local path or a writable zarrita store, got \`${String(dest)}\` (${typeof dest})`);
}

/** The marker of the zarr format `layout` does not write. */
function otherMarker(layout: ArrayLayout): string {
  return layout.marker === ".zarray" ? "zarr.json" : ".zarray";
}

const writeChunkOp = op("@zask/array/ops", "writeChunk", { lane: "io" });

/**
 * Write `y`'s blocks into an opened destination: one task per block encodes it on a worker
 * (`encode` with `encodeArgs` after the block), one writes the bytes under `chunkKey(index)`.
 * Returns how many chunk objects and bytes were written.
 */
export async function writeBlocks(
  y: Array,
  destination: ArrayDestination,
  names: { encode: string; store: string },
  encode: OpRef,
  encodeArgs: readonly unknown[],
  chunkKey: (index: readonly number[]) => string,
  computeOptions: ComputeOptions,
): Promise<{ chunks: number; bytes: number }> {
  // an array with no elements has no chunk in its grid: its metadata is all of it
  if (y.shape.some((n) => n === 0)) return { chunks: 0, bytes: 0 };
  const outIndex = "abcdefghijklmnopqrstuvwxyz".slice(0, y.ndim);
  const encodeLayer = new Blockwise({
    name: names.encode,
    outIndex,
    numBlocks: y.numBlocks,
    op: encode,
    args: [blockwiseInput(y.name, outIndex, y.numBlocks), ...encodeArgs],
  });
  const storeLayer = new Blockwise({
    name: names.store,
    outIndex,
    numBlocks: y.numBlocks,
    op: writeChunkOp,
    args: [blockwiseInput(names.encode, outIndex, y.numBlocks), destination.sink, perBlock((index) => destination.key(chunkKey(index)), { refs: false })],
  });
  const graph = y.graph.withLayer(encodeLayer, [y.name]).withLayer(storeLayer, [names.encode]);
  const keys = [...storeLayer.keys()];
  // a sharded source's inner chunks are read through one read plan for the whole write
  const sessions = withReadSessions(graph, keys, { httpConcurrency: computeOptions.httpConcurrency });
  const written = (await run(sessions, keys, computeOptions)) as number[];
  releaseReadSessions(sessions);
  return { chunks: written.length, bytes: written.reduce((a, b) => a + b, 0) };
}
