// Writes small sharded zarr v3 float32 arrays for tests, with the shard encoder of @zask/array
// (zarrita, the independent reader here, reads them back in the tests).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "fflate";
import { encodeShard } from "../../packages/array/src/shard-encode.ts";

export interface ShardedStoreSpec {
  readonly shape: readonly number[];
  readonly shards: readonly number[];
  readonly chunks: readonly number[];
  /** Values in C order. */
  readonly data: Float32Array;
  readonly codec?: "bytes" | "gzip";
  readonly indexLocation?: "start" | "end";
  /** Inner chunks written as empty index entries (read as the fill value 0). */
  readonly omitChunk?: (coords: readonly number[]) => boolean;
  /** Shards not written at all. */
  readonly omitShard?: (coords: readonly number[]) => boolean;
}

/** The block coords of every position of a grid of `counts`, row-major. */
export function gridOf(counts: readonly number[]): number[][] {
  const out: number[][] = [[]];
  for (const n of counts) {
    const next: number[][] = [];
    for (const p of out) for (let i = 0; i < n; i++) next.push([...p, i]);
    out.splice(0, out.length, ...next);
  }
  return out;
}

export function writeShardedStore(dir: string, spec: ShardedStoreSpec): void {
  const { shape, shards, chunks, data } = spec;
  const location = spec.indexLocation ?? "end";
  const inner = [{ name: "bytes", configuration: { endian: "little" } }, ...(spec.codec === "gzip" ? [{ name: "gzip", configuration: { level: 1 } }] : [])];
  const meta = {
    zarr_format: 3,
    node_type: "array",
    shape,
    data_type: "float32",
    chunk_grid: { name: "regular", configuration: { chunk_shape: shards } },
    chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
    fill_value: 0,
    codecs: [
      {
        name: "sharding_indexed",
        configuration: {
          chunk_shape: chunks,
          codecs: inner,
          index_codecs: [{ name: "bytes", configuration: { endian: "little" } }, { name: "crc32c" }],
          index_location: location,
        },
      },
    ],
    attributes: {},
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "zarr.json"), JSON.stringify(meta));
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  const per = shards.map((s, k) => s / chunks[k]!);
  const innerSize = chunks.reduce((a, b) => a * b, 1);
  for (const sc of gridOf(shape.map((n, k) => Math.ceil(n / shards[k]!)))) {
    if (spec.omitShard?.(sc)) continue;
    const encoded = gridOf(per).map((ic) => {
      const coords = ic.map((c, k) => sc[k]! * per[k]! + c);
      if (spec.omitChunk?.(coords)) return null;
      const values = new Float32Array(innerSize);
      gridOf(chunks).forEach((e, i) => {
        const at = e.map((x, k) => coords[k]! * chunks[k]! + x);
        if (at.every((x, k) => x < shape[k]!)) values[i] = data[at.reduce((a, x, k) => a + x * strides[k]!, 0)]!;
      });
      const raw = new Uint8Array(values.buffer);
      return spec.codec === "gzip" ? gzipSync(raw) : raw;
    });
    const file = join(dir, "c", ...sc.map(String));
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, encodeShard(encoded, location));
  }
}
