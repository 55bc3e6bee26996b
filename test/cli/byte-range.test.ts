import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseRange } from "zask";

test("parseRange reads closed, open-ended and suffix ranges", () => {
  assert.deepEqual(parseRange("bytes=0-99", 1000), { start: 0, end: 99 });
  assert.deepEqual(parseRange("bytes=900-", 1000), { start: 900, end: 999 });
  assert.deepEqual(parseRange("bytes=-100", 1000), { start: 900, end: 999 });
  assert.deepEqual(parseRange("bytes=990-5000", 1000), { start: 990, end: 999 });
});

test("parseRange calls a range past the end, or any range of an empty file, unsatisfiable", () => {
  assert.equal(parseRange("bytes=1000-", 1000), "unsatisfiable");
  assert.equal(parseRange("bytes=-0", 1000), "unsatisfiable");
  assert.equal(parseRange("bytes=0-0", 0), "unsatisfiable");
  assert.equal(parseRange("bytes=-5", 0), "unsatisfiable");
});

test("parseRange ignores missing, malformed, reversed and multi-range headers", () => {
  for (const header of [undefined, "", "bytes=", "bytes=-", "bytes=5-2", "lines=0-1", "bytes=0-1, 3-4", "bytes=a-b"]) {
    assert.equal(parseRange(header, 1000), undefined, String(header));
  }
});

test("any satisfiable range lies inside the file and is not empty", () => {
  fc.assert(
    fc.property(fc.nat(10_000), fc.option(fc.nat(20_000)), fc.option(fc.nat(20_000)), (size, a, b) => {
      if (a === null && b === null) return;
      const range = parseRange(`bytes=${a ?? ""}-${b ?? ""}`, size);
      if (range === undefined || range === "unsatisfiable") return;
      assert.ok(range.start >= 0 && range.start <= range.end && range.end < size);
    }),
  );
});
