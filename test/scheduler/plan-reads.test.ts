import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planReads } from "@zask/scheduler";

const A = "http://127.0.0.1:1/s/c/0";
const B = "http://127.0.0.1:1/s/c/1";
const r = (object: string, offset: number, length: number) => ({ object, offset, length });
const shape = (plans: ReturnType<typeof planReads>) => plans.map((p) => [p.object, p.offset, p.length, p.parts.length]);

describe("planReads", () => {
  test("requests identical ranges once", () => {
    const plans = planReads([r(A, 10, 5), r(A, 10, 5), r(A, 10, 5)], () => ({ maxGap: 0 }));
    assert.deepEqual(shape(plans), [[A, 10, 5, 1]]);
  });

  test("merges ranges of one object whose gap is at most maxGap, in order of offset", () => {
    const plans = planReads([r(A, 100, 10), r(A, 0, 10), r(A, 50, 10)], () => ({ maxGap: 40, maxWaste: Infinity }));
    assert.deepEqual(shape(plans), [[A, 0, 110, 3]]);
    assert.deepEqual(plans[0]!.parts, [
      { offset: 0, length: 10 },
      { offset: 50, length: 10 },
      { offset: 100, length: 10 },
    ]);
  });

  test("keeps ranges apart when the gap is larger than maxGap", () => {
    const plans = planReads([r(A, 0, 10), r(A, 51, 10)], () => ({ maxGap: 40 }));
    assert.deepEqual(shape(plans), [
      [A, 0, 10, 1],
      [A, 51, 10, 1],
    ]);
  });

  test("always merges adjacent ranges, even with maxGap 0", () => {
    const plans = planReads([r(A, 0, 10), r(A, 10, 10), r(A, 20, 5)], () => ({ maxGap: 0 }));
    assert.deepEqual(shape(plans), [[A, 0, 25, 3]]);
  });

  test("never makes a merged request longer than maxBytes", () => {
    const plans = planReads([r(A, 0, 10), r(A, 10, 10), r(A, 20, 10), r(A, 30, 10)], () => ({ maxGap: 100, maxBytes: 20 }));
    assert.deepEqual(shape(plans), [
      [A, 0, 20, 2],
      [A, 20, 20, 2],
    ]);
  });

  test("merges overlapping ranges into one request covering both", () => {
    const plans = planReads([r(A, 0, 10), r(A, 5, 10)], () => ({ maxGap: 0, maxBytes: 12 }));
    assert.deepEqual(shape(plans), [[A, 0, 15, 2]]);
  });

  test("never merges ranges of different objects, and keeps each object's thresholds", () => {
    const plans = planReads([r(A, 0, 10), r(B, 20, 10), r(A, 20, 10), r(B, 0, 10)], (o) => ({ maxGap: o === A ? 10 : 0, maxWaste: Infinity }));
    assert.deepEqual(shape(plans), [
      [A, 0, 30, 2],
      [B, 0, 10, 1],
      [B, 20, 10, 1],
    ]);
  });

  test("stops merging where the skipped bytes would pass maxWaste of the bytes asked for", () => {
    // 100-byte ranges 40 apart: merging two skips 40 of 200 (0.2), three skip 80 of 300 (0.27)
    const ranges = [r(A, 0, 100), r(A, 140, 100), r(A, 280, 100), r(A, 420, 100)];
    assert.deepEqual(shape(planReads(ranges, () => ({ maxGap: 1000, maxWaste: 0.25 }))), [
      [A, 0, 240, 2],
      [A, 280, 240, 2],
    ]);
    assert.deepEqual(shape(planReads(ranges, () => ({ maxGap: 1000 }))), [
      [A, 0, 240, 2],
      [A, 280, 240, 2],
    ]);
    assert.deepEqual(shape(planReads(ranges, () => ({ maxGap: 1000, maxWaste: 0 }))), [
      [A, 0, 100, 1],
      [A, 140, 100, 1],
      [A, 280, 100, 1],
      [A, 420, 100, 1],
    ]);
  });

  test("rejects negative offsets and empty ranges with a RangeError", () => {
    assert.throws(() => planReads([r(A, -1, 10)], () => ({})), /Expected `offset` to be a non-negative integer, got `-1`/);
    assert.throws(() => planReads([r(A, 0, 0)], () => ({})), /Expected `length` to be a positive integer, got `0`/);
  });
});
