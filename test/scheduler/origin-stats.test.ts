import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_GAP, MAX_GAP, MIN_GAP, OriginStats, originOf } from "../../packages/scheduler/src/origin-stats.ts";

test("the gap threshold is the default until a round trip was measured", () => {
  assert.equal(new OriginStats().maxGap(), DEFAULT_GAP);
});

test("the gap threshold is round-trip time times bandwidth, rounded down to a power of two", () => {
  const s = new OriginStats();
  s.record(3, 1000); // small read: rtt 3 ms
  s.record(1.5, 100); // a faster small read lowers it to 1.5 ms
  s.record(1.5 + 10, 10_000_000); // 10 MB in 10 ms past the round trip: 1 GB/s
  // 1.5 ms x 1 GB/s = 1.5 MB -> 1 MiB
  assert.equal(s.maxGap(), 2 ** 20);
});

test("the gap threshold stays within its bounds on very fast and very slow origins", () => {
  const fast = new OriginStats();
  fast.record(0.001, 10);
  assert.equal(fast.maxGap(), MIN_GAP);
  const slow = new OriginStats();
  slow.record(500, 10);
  slow.record(600, 100e6);
  assert.equal(slow.maxGap(), MAX_GAP);
});

test("objects of one host and port share an origin; local paths are `file:`", () => {
  assert.equal(originOf("http://127.0.0.1:8080/a/b"), originOf("http://127.0.0.1:8080/c"));
  assert.notEqual(originOf("http://127.0.0.1:8080/a"), originOf("http://127.0.0.1:8081/a"));
  assert.equal(originOf("/tmp/x.zarr/c/0"), "file:");
});
