import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import FileSystemStore from "@zarrita/storage/fs";
import * as zarr from "zarrita";
import { writeShardedStore } from "../helpers/sharded-store.ts";

// zarrita is the independent reader of sharded zarr v3 here: what encodeShard writes, it must
// read. zarrita 0.7 reads every index as a suffix, so only an index at the end can be checked.
for (const indexLocation of ["end"] as const) {
  test(`zarrita reads back the values of shards written by encodeShard, index at the ${indexLocation}, empty inner chunks as the fill value`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "zask-shard-encode-"));
    try {
      const data = Float32Array.from({ length: 9 * 14 }, (_, i) => i * 1.5 - 7);
      const empty = (c: readonly number[]) => c[0] === 1 && c[1] === 2;
      writeShardedStore(join(dir, "s.zarr"), { shape: [9, 14], shards: [6, 8], chunks: [3, 4], data, codec: "gzip", indexLocation, omitChunk: empty });
      const arr = await zarr.open.v3(new FileSystemStore(join(dir, "s.zarr")), { kind: "array" });
      const got = await zarr.get(arr);
      const want = Array.from(data, (v, i) => (Math.floor(i / 14) >= 3 && Math.floor(i / 14) < 6 && i % 14 >= 8 && i % 14 < 12 ? 0 : v));
      assert.deepEqual(Array.from(got.data as Float32Array), want);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
