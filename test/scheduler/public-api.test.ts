import assert from "node:assert/strict";
import { test } from "node:test";
import * as scheduler from "@zask/scheduler";

test("the public API of @zask/scheduler is exactly this list", () => {
  assert.deepEqual(Object.keys(scheduler).sort(), [
    "BullmqExecutor",
    "ByteRangeError",
    "DEFAULT_INLINE_THRESHOLD",
    "DEFAULT_MAX_BYTES",
    "ExecutorUnavailableError",
    "HttpAccessDeniedError",
    "HttpError",
    "HttpTransportError",
    "IoLane",
    "NotTransportableError",
    "Profiler",
    "ProgressBar",
    "ReadPlanner",
    "SIZE_OF",
    "TaskError",
    "TaskMemoryError",
    "WorkerTaskError",
    "bullmq",
    "checkTaskMemory",
    "close",
    "coalesceFor",
    "compute",
    "configurePool",
    "decodeResult",
    "decodeTask",
    "encodeResult",
    "encodeTask",
    "errorFromPlain",
    "errorToPlain",
    "isExecutor",
    "loadOp",
    "planReads",
    "projectTaskMemory",
    "recycleBody",
    "registerErrorClass",
    "remoteSymbol",
    "resolveOpModule",
    "runTask",
    "sizeOf",
    "startBullmqWorker",
    "warmPool",
  ]);
});

test("the buffers entry point of @zask/scheduler is exactly this list", async () => {
  const buffers = await import("@zask/scheduler/buffers");
  assert.deepEqual(Object.keys(buffers).sort(), ["RECYCLE_MAX", "RECYCLE_MIN", "recycleBuffer", "recycledBytes", "takeBuffer"]);
});

test("the body-pool entry point of @zask/scheduler is exactly this list", async () => {
  const pool = await import("@zask/scheduler/body-pool");
  assert.deepEqual(Object.keys(pool).sort(), [
    "MAX_POOLED_BODY",
    "MIN_POOLED_BODY",
    "bodyPool",
    "forgetBody",
    "isPooledSize",
    "pooledSize",
    "recycleBody",
    "takeBody",
  ]);
});
