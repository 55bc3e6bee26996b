import assert from "node:assert/strict";
import { test } from "node:test";
import * as scheduler from "@zask/scheduler";

test("the public API of @zask/scheduler is exactly this list", () => {
  assert.deepEqual(Object.keys(scheduler).sort(), [
    "ByteRangeError",
    "DEFAULT_INLINE_THRESHOLD",
    "DEFAULT_MAX_BYTES",
    "HttpAccessDeniedError",
    "HttpError",
    "HttpTransportError",
    "IoLane",
    "Profiler",
    "ProgressBar",
    "ReadPlanner",
    "TaskError",
    "close",
    "coalesceFor",
    "compute",
    "configurePool",
    "errorFromPlain",
    "errorToPlain",
    "loadOp",
    "planReads",
    "registerErrorClass",
    "resolveOpModule",
    "sizeOf",
  ]);
});

test("the buffers entry point of @zask/scheduler is exactly this list", async () => {
  const buffers = await import("@zask/scheduler/buffers");
  assert.deepEqual(Object.keys(buffers).sort(), ["RECYCLE_MAX", "RECYCLE_MIN", "recycleBuffer", "recycledBytes", "takeBuffer"]);
});
