import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import { deflateSync } from "node:zlib";
import * as zarr from "zarrita";
import { ChunkDecodeError, PackedStrings, encodeVlenUtf8, fromTypedArray, fromZarr, readPackedStrings } from "@zask/array";
import { sizeOf } from "@zask/scheduler";

const VALUES = ["AAAC-1", "", "ß-Zelle", "日本", "x".repeat(300), "C1orf86", "é", "last"];

describe("PackedStrings", () => {
  it("reads numcodecs' vlen-utf8 layout at any byte offset and makes the same strings, one or all", () => {
    const bytes = encodeVlenUtf8(VALUES);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    for (const chunk of [bytes, shifted.subarray(3)]) {
      const p = PackedStrings.fromVlenUtf8(chunk);
      assert.equal(p.length, VALUES.length);
      assert.deepEqual(p.toArray(), VALUES);
      assert.deepEqual(
        VALUES.map((_, i) => p.get(i)),
        VALUES,
      );
      assert.equal(p.get(VALUES.length), undefined);
      assert.equal(p.get(-1), undefined);
    }
  });

  it("keeps its own copy of the bytes unless told not to: a chunk buffer reused afterwards changes nothing", () => {
    const bytes = encodeVlenUtf8(VALUES);
    const own = PackedStrings.fromVlenUtf8(bytes);
    const viewing = PackedStrings.fromVlenUtf8(bytes, { copy: false });
    assert.equal(own.views(bytes.buffer), false);
    assert.equal(viewing.views(bytes.buffer), true);
    const copied = viewing.copy();
    assert.equal(copied.views(bytes.buffer), false);
    bytes.fill(0x41);
    assert.deepEqual(own.toArray(), VALUES);
    assert.deepEqual(copied.toArray(), VALUES);
    assert.notDeepEqual(viewing.toArray(), VALUES);
  });

  it("slices and concatenations index across parts as the joined list would", () => {
    const a = PackedStrings.of(VALUES.slice(0, 5));
    const b = PackedStrings.of(VALUES.slice(5));
    const joined = PackedStrings.concat([a, b]);
    assert.deepEqual(joined.toArray(), VALUES);
    for (const [s, e] of [
      [0, 8],
      [2, 6],
      [4, 5],
      [5, 5],
      [6, 100],
      [-3, 2],
    ] as const) {
      assert.deepEqual(joined.slice(s, e).toArray(), VALUES.slice(Math.max(0, s), e), `[${s}, ${e})`);
    }
    assert.equal(joined.slice(3, 7).get(2), VALUES[5]);
  });

  it("a count, a length or a string the chunk cannot hold is a RangeError naming it, before anything is allocated for it", () => {
    const bytes = encodeVlenUtf8(["abc", "def"]);
    assert.throws(() => PackedStrings.fromVlenUtf8(bytes.subarray(0, bytes.length - 1)), /item 1 runs past/);
    assert.throws(() => PackedStrings.fromVlenUtf8(bytes.subarray(0, 2)), /at least 4 bytes/);
    const lying = bytes.slice();
    new DataView(lying.buffer).setUint32(0, 0xffffffff, true);
    assert.throws(() => PackedStrings.fromVlenUtf8(lying), /cannot hold the 4294967295 items/);
    const short = bytes.slice();
    new DataView(short.buffer).setUint32(0, 3, true);
    assert.throws(() => PackedStrings.fromVlenUtf8(short), /ends inside item 2 of 3/);
    const bad = encodeVlenUtf8(["ok", "xy", "zz"]);
    bad[bad.length - 8] = 0xc3; // "xy" → a lead byte without its continuation
    assert.throws(() => PackedStrings.fromVlenUtf8(bad), /item 1 is not valid UTF-8/);
  });

  it("makes strings past many latin1 windows, with items across window edges and non-ASCII ones among them", () => {
    const ascii = Array.from({ length: 30_000 }, (_, i) => `CELL${i}-`.padEnd(i % 41, "x").slice(0, i % 41));
    ascii[12_345] = "y".repeat(100_000);
    const mixed = ascii.map((s, i) => (i % 997 === 0 ? `${s}é日` : s));
    for (const values of [ascii, mixed]) {
      const p = PackedStrings.fromVlenUtf8(encodeVlenUtf8(values));
      assert.deepEqual(p.toArray(), values);
      assert.deepEqual(p.slice(12_000, 13_000).toArray(), values.slice(12_000, 13_000));
    }
  });
});

/** A 1-d vlen-utf8 string array of `values` in chunks of `chunk`, in a store of its own. */
async function stringArray(values: readonly string[], chunk: number, compressor: object | null) {
  const store = new Map<string, Uint8Array>();
  const meta = { zarr_format: 2, shape: [values.length], chunks: [chunk], dtype: "|O", compressor, fill_value: 0, filters: [{ id: "vlen-utf8" }], order: "C" };
  store.set("/.zarray", new TextEncoder().encode(JSON.stringify(meta)));
  const arr = await zarr.open.v2(store as never, { kind: "array", attrs: false });
  for (let c = 0; c * chunk < values.length; c++) {
    // numcodecs writes the edge chunk whole, padded with the fill value
    const part = values.slice(c * chunk, (c + 1) * chunk);
    while (part.length < chunk) part.push("");
    let bytes = encodeVlenUtf8(part);
    if (compressor !== null) bytes = new Uint8Array(deflateSync(bytes));
    store.set(`/${c}`, bytes);
  }
  return { store, arr };
}

describe("readPackedStrings", () => {
  for (const compressor of [null, { id: "zlib", level: 1 }]) {
    it(`reads a string array of several chunks, the last one cut, as its compute does (${compressor === null ? "raw" : "zlib"})`, async () => {
      const { arr } = await stringArray(VALUES, 3, compressor);
      const x = await fromZarr(arr);
      const packed = await readPackedStrings(x);
      assert.ok(packed instanceof PackedStrings);
      assert.equal(packed.length, VALUES.length);
      assert.deepEqual(packed.toArray(), VALUES);
      assert.deepEqual((await x.compute()).data, VALUES);
    });
  }

  it("is undefined for arrays that are not 1-d strings, and empty for an empty one", async () => {
    assert.equal(await readPackedStrings(fromTypedArray(new Float32Array(3), [3])), undefined);
    const { arr } = await stringArray([], 2, null);
    assert.equal((await readPackedStrings(await fromZarr(arr)))?.length, 0);
  });

  it("a chunk that is not vlen-utf8 is the same ChunkDecodeError as its compute's, naming the chunk", async () => {
    const { store, arr } = await stringArray(VALUES, 3, null);
    store.set("/1", Uint8Array.of(9, 0, 0, 0, 1, 0));
    const x = await fromZarr(arr);
    for (const read of [() => readPackedStrings(x), () => x.compute()]) {
      await assert.rejects(read(), (e: Error) => {
        let c: unknown = e;
        while (c instanceof Error && !(c instanceof ChunkDecodeError)) c = c.cause;
        assert.ok(c instanceof ChunkDecodeError, String(e));
        assert.match(c.message, /\b1\b/);
        return true;
      });
    }
  });
});

test("sizeOf counts a PackedStrings' bytes, string ends and part index, so memory accounting sees string blocks", () => {
  // one part: the chunk's bytes after its count (each string's 4-byte length, then the string), the ends, the index
  const one = PackedStrings.fromVlenUtf8(encodeVlenUtf8(["a", "bb", "ccc"]));
  assert.equal(sizeOf(one), 3 * 4 + 6 + 3 * 4 + 2 * 8);
  const names = Array.from({ length: 1000 }, (_, i) => `AAACATACAACCAC-${i}`);
  const many = PackedStrings.fromVlenUtf8(encodeVlenUtf8(names));
  assert.ok(sizeOf({ data: many, shape: [1000], dtype: "string" }) >= names.join("").length);
});
