// The shard index parser (shard-index.ts): every entry of an index, in either byte order, is
// a range, the fill value, or a ShardIndexError that names the shard and the inner chunk.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ShardIndexError } from "../../packages/array/src/errors.ts";
import { parseShardIndex } from "../../packages/array/src/shard-index.ts";
import type { ShardingLayout } from "../../packages/array/src/sharding-layout.ts";

const EMPTY = 0xffff_ffff_ffff_ffffn;

function layout(entries: number, little: boolean): ShardingLayout {
  return {
    shardShape: [entries],
    innerShape: [1],
    chunksPerShard: [entries],
    entries,
    indexLocation: "end",
    indexSize: 16 * entries,
    indexCrc32c: false,
    indexLittleEndian: little,
    innerDocument: "{}",
  };
}

function encode(pairs: readonly (readonly [bigint, bigint])[], little: boolean): Uint8Array {
  const out = new Uint8Array(16 * pairs.length);
  const view = new DataView(out.buffer);
  pairs.forEach(([o, l], e) => {
    view.setBigUint64(16 * e, o, little);
    view.setBigUint64(16 * e + 8, l, little);
  });
  return out;
}

const source = (shardLength: number | undefined, maxEntryBytes?: number) => ({
  shard: "http://h/x/c/0",
  shardLength,
  maxEntryBytes,
  chunkOf: (e: number) => [e],
});

for (const little of [true, false]) {
  const order = little ? "little-endian" : "big-endian";

  test(`a ${order} index gives each entry's range, empty ones as null, large offsets exact`, () => {
    const big = 2n ** 33n + 5n; // needs the high half
    const pairs = [
      [0n, 10n],
      [EMPTY, EMPTY],
      [10n, 7n],
      [big, 3n],
      [2n ** 52n + 1n, 2n],
    ] as const;
    const index = parseShardIndex(encode(pairs, little), layout(pairs.length, little), source(undefined));
    assert.deepEqual(
      Array.from({ length: index.size }, (_, e) => index.entry(e)),
      [{ offset: 0, length: 10 }, null, { offset: 10, length: 7 }, { offset: Number(big), length: 3 }, { offset: 2 ** 52 + 1, length: 2 }],
    );
  });

  const bad: [string, [bigint, bigint], RegExp, number | undefined][] = [
    ["half empty", [EMPTY, 4n], /entry \(18446744073709551615, 4\) is half empty/, 1000],
    ["of length 0", [3n, 0n], /entry has length 0/, 1000],
    ["past the shard's data", [990n, 20n], /entry \[990, 1010\) is outside the shard's data \[0, 1000\)/, 1000],
    ["too long for an inner chunk", [0n, 2n ** 62n], /entry length 4611686018427387904 is more than an encoded inner chunk can be \(64\)/, undefined],
  ];
  for (const [what, pair, message, shardLength] of bad) {
    test(`a ${order} entry ${what} is a ShardIndexError naming the shard and the inner chunk`, () => {
      const pairs = [[0n, 8n], pair] as const;
      assert.throws(
        () => parseShardIndex(encode(pairs, little), layout(2, little), source(shardLength === undefined ? undefined : shardLength + 32, 64)),
        (e: unknown) => e instanceof ShardIndexError && message.test(e.message) && e.message.includes("http://h/x/c/0") && /\b1\b/.test(e.message),
      );
    });
  }
}
