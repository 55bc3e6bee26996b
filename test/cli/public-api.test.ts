import assert from "node:assert/strict";
import { test } from "node:test";
import * as zask from "zask";

test("zask exports exactly its documented surface", () => {
  assert.deepEqual(Object.keys(zask).sort(), [
    "DEMO_GENE",
    "GENES_ABOVE_1000",
    "ListenError",
    "RequestCounter",
    "ServeDirectoryError",
    "demo",
    "formatInspection",
    "formatLogLine",
    "formatTable",
    "inspect",
    "measureRequests",
    "parseLogLine",
    "parseRange",
    "pbmcLike",
    "serve",
  ]);
});
