import { test } from "node:test";
import assert from "node:assert/strict";
import { blockKey, isBlockKey, keyName, parseKey } from "@zask/graph";

test("a block key is the JSON text of dask's (name, ...index) tuple", () => {
  assert.equal(blockKey("x-1f2e", [0, 3]), '["x-1f2e",0,3]');
  assert.equal(blockKey("s", []), '["s"]');
  assert.equal(blockKey("x", [12]), JSON.stringify(["x", 12]));
});

test("parseKey decodes block keys and leaves plain keys whole", () => {
  assert.deepEqual(parseKey('["x-1f2e",0,3]'), ["x-1f2e", 0, 3]);
  assert.deepEqual(parseKey("total"), ["total"]);
});

test("keyName is the collection name of a block key, the key itself otherwise", () => {
  assert.equal(keyName('["x-1f2e",0,3]'), "x-1f2e");
  assert.equal(keyName("total"), "total");
  assert.ok(isBlockKey('["x",0]'));
  assert.ok(!isBlockKey("x"));
});
