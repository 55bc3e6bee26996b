import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { sep } from "node:path";
import { test } from "node:test";
import { encodeShard } from "@zask/array";

// crc32c is loaded with the first checksum: only sharded stores need one (this file imports
// nothing else that loads it; each test file runs in its own process).

const cache = createRequire(import.meta.url).cache;
const loaded = (): boolean => Object.keys(cache).some((k) => k.includes(`${sep}@aws-crypto${sep}crc32c${sep}`));

test("@aws-crypto/crc32c is loaded by the first shard encoded, not by importing @zask/array", () => {
  assert.equal(loaded(), false, "importing @zask/array loaded crc32c");
  // the shard-encode tests check the checksum itself against what zarr-python wrote
  const shard = encodeShard([Uint8Array.of(1, 2, 3), null]);
  assert.equal(shard.length, 3 + 2 * 16 + 4);
  assert.equal(loaded(), true);
});
