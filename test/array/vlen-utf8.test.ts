import assert from "node:assert/strict";
import { test } from "node:test";
import { PackedStrings, decodeVlenUtf8, encodeVlenUtf8 } from "@zask/array";

test("vlen-utf8 encodes numcodecs' layout: count, then length-prefixed UTF-8 items", () => {
  assert.deepEqual([...encodeVlenUtf8(["a", "é"])], [2, 0, 0, 0, 1, 0, 0, 0, 97, 2, 0, 0, 0, 195, 169]);
});

test("vlen-utf8 decoding inverts encoding for ASCII, non-ASCII and empty strings, at any byte offset", () => {
  const values = ["C1orf86", "", "ß-Zelle", "日本", "x".repeat(300)];
  const bytes = encodeVlenUtf8(values);
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  assert.deepEqual(decodeVlenUtf8(bytes), values);
  assert.deepEqual(decodeVlenUtf8(shifted.subarray(3)), values);
});

test("a truncated vlen-utf8 chunk is a RangeError, not a short list", () => {
  const bytes = encodeVlenUtf8(["abc", "def"]);
  assert.throws(() => decodeVlenUtf8(bytes.subarray(0, bytes.length - 1)), RangeError);
  assert.throws(() => decodeVlenUtf8(bytes.subarray(0, 2)), RangeError);
});

test("vlen-utf8 decoding of chunks far longer than one latin1 window, with items across window edges", () => {
  // lengths 0-40 in a repeating pattern put item boundaries at every offset of a 32 KiB window
  const ascii = Array.from({ length: 30_000 }, (_, i) => `CELL${i}-`.padEnd(i % 41, "x").slice(0, i % 41));
  ascii[12_345] = "y".repeat(100_000); // one item longer than a window
  assert.deepEqual(decodeVlenUtf8(encodeVlenUtf8(ascii)), ascii);
  const mixed = ascii.map((s, i) => (i % 997 === 0 ? `${s}é日` : s));
  assert.deepEqual(decodeVlenUtf8(encodeVlenUtf8(mixed)), mixed);
});

test("a leading U+FEFF is part of the string, as Python's bytes.decode('utf-8') keeps it", () => {
  // a name starting with a byte-order mark is data: dropping it would make two names equal
  const values = ["\uFEFFCELL1", "CELL1", "\uFEFF", "a\uFEFFb"];
  assert.deepEqual(decodeVlenUtf8(encodeVlenUtf8(values)), values);
  const packed = PackedStrings.fromVlenUtf8(encodeVlenUtf8(values));
  assert.deepEqual(packed.toArray(), values);
  assert.equal(packed.get(0), "\uFEFFCELL1");
  assert.equal(packed.get(2)?.length, 1);
});
