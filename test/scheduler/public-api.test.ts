import assert from "node:assert/strict";
import { test } from "node:test";
import * as scheduler from "@zask/scheduler";

test("the public API of @zask/scheduler is exactly this list", () => {
  assert.deepEqual(Object.keys(scheduler).sort(), [
    "DEFAULT_INLINE_THRESHOLD",
    "HttpError",
    "IoLane",
    "Profiler",
    "ProgressBar",
    "TaskError",
    "close",
    "compute",
    "configurePool",
    "loadOp",
    "resolveOpModule",
    "sizeOf",
  ]);
});
