import { crc32c } from "./crc32c.js";
import { ShardIndexError } from "./errors.js";
import type { ShardingLayout } from "./sharding-layout.js";

const EMPTY = 0xffff_ffff_ffff_ffffn;

/**
 * The checked index of one shard: per inner chunk (row-major within the shard), where its
 * bytes are in the shard object, or nothing (the fill value). Every entry was checked when the
 * index was parsed, so reads from it never leave the shard.
 */
export class ShardIndex {
  /** Offset and length per inner chunk; -1 offsets mark empty inner chunks. */
  readonly #offsets: Float64Array;
  readonly #lengths: Float64Array;
  /** Bytes of the encoded index (what reading it cost). */
  readonly byteLength: number;

  constructor(offsets: Float64Array, lengths: Float64Array, byteLength: number) {
    this.#offsets = offsets;
    this.#lengths = lengths;
    this.byteLength = byteLength;
  }

  /** Inner chunks in the index. */
  get size(): number {
    return this.#offsets.length;
  }

  /** The byte range of inner chunk `entry` in the shard, or `null` when it is empty (fill value). */
  entry(entry: number): { offset: number; length: number } | null {
    const offset = this.#offsets[entry]!;
    if (offset < 0) return null;
    return { offset, length: this.#lengths[entry]! };
  }
}

/** Where the index and the shard come from, for checks and messages. */
export interface ShardIndexSource {
  /** The shard's URL or path. */
  readonly shard: string;
  /** The shard's length in bytes, when known (then every entry must lie in its data). */
  readonly shardLength: number | undefined;
  /** The largest plausible encoded inner chunk, when known (a longer entry is rejected). */
  readonly maxEntryBytes: number | undefined;
  /** The block index in the array of the shard's entry `e` (for messages). */
  chunkOf(entry: number): number[];
}

/**
 * Parse and check the encoded index of one shard (`bytes`: exactly `layout.indexSize` bytes):
 * the crc32c when the index codecs have one, then every entry — both halves 2^64−1 (empty) or
 * a range that lies within the shard's data (after the index at the start, before it at the
 * end) and is not absurdly long. Throws {@link ShardIndexError}.
 */
export function parseShardIndex(bytes: Uint8Array, layout: ShardingLayout, source: ShardIndexSource): ShardIndex {
  if (bytes.byteLength !== layout.indexSize) {
    throw new ShardIndexError(source.shard, undefined, `Expected ${layout.indexSize} bytes of index, got ${bytes.byteLength}`);
  }
  const body = bytes.subarray(0, 16 * layout.entries);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (layout.indexCrc32c) {
    const stored = view.getUint32(body.byteLength, true);
    const actual = crc32c(body) >>> 0;
    if (stored !== actual) {
      throw new ShardIndexError(source.shard, undefined, `crc32c ${hex(actual)} does not match the stored ${hex(stored)}`);
    }
  }
  const { shardLength } = source;
  const dataStart = layout.indexLocation === "start" ? layout.indexSize : 0;
  const dataEnd = shardLength === undefined ? Number.MAX_SAFE_INTEGER : layout.indexLocation === "end" ? shardLength - layout.indexSize : shardLength;
  if (dataEnd < dataStart) throw new ShardIndexError(source.shard, undefined, `the shard has ${shardLength} bytes, fewer than its index`);
  const little = layout.indexLittleEndian;
  const offsets = new Float64Array(layout.entries);
  const lengths = new Float64Array(layout.entries);
  for (let e = 0; e < layout.entries; e++) {
    const off = view.getBigUint64(16 * e, little);
    const len = view.getBigUint64(16 * e + 8, little);
    if (off === EMPTY && len === EMPTY) {
      offsets[e] = -1;
      continue;
    }
    const bad = (what: string): never => {
      throw new ShardIndexError(source.shard, source.chunkOf(e), what);
    };
    if (off === EMPTY || len === EMPTY) bad(`entry (${off}, ${len}) is half empty`);
    if (len === 0n) bad("entry has length 0");
    if (source.maxEntryBytes !== undefined && len > BigInt(source.maxEntryBytes)) {
      bad(`entry length ${len} is more than an encoded inner chunk can be (${source.maxEntryBytes})`);
    }
    if (off < BigInt(dataStart) || off + len > BigInt(dataEnd)) {
      bad(`entry [${off}, ${off + len}) is outside the shard's data [${dataStart}, ${dataEnd})`);
    }
    offsets[e] = Number(off);
    lengths[e] = Number(len);
  }
  return new ShardIndex(offsets, lengths, bytes.byteLength);
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}
