import assert from "node:assert/strict";
import { test } from "node:test";
import * as zask from "zask";

test("zask exports exactly its documented surface", () => {
  assert.deepEqual(Object.keys(zask).sort(), [
    "ListenError",
    "RequestCounter",
    "ServeDirectoryError",
    "formatLogLine",
    "formatTable",
    "measureRequests",
    "parseLogLine",
    "parseRange",
    "serve",
  ]);
});
