import assert from "node:assert/strict";
import { test } from "node:test";
import { errorFromPlain, errorToPlain, HttpError, registerErrorClass, TaskError } from "@zask/scheduler";

class RangeFault extends Error {
  override name = "RangeFault" as const;
  readonly url: string;
  readonly offsets: number[];
  readonly handle: object = { not: "plain" };
  constructor(url: string, offsets: number[], options?: { cause?: unknown }) {
    super(`bad range at ${url}`, options);
    this.url = url;
    this.offsets = offsets;
  }
}
registerErrorClass("RangeFault", RangeFault);

test("an error sent as plain data comes back as its registered class, with its fields and cause chain", () => {
  const original = new RangeFault("http://h/x/0.0", [1, 2], { cause: new TypeError("inner", { cause: "why" }) });
  const plain = structuredClone(errorToPlain(original));
  const back = errorFromPlain(plain);
  assert.ok(back instanceof RangeFault);
  assert.equal(back.name, "RangeFault");
  assert.equal(back.message, "bad range at http://h/x/0.0");
  assert.equal((back as RangeFault).url, "http://h/x/0.0");
  assert.deepEqual((back as RangeFault).offsets, [1, 2]);
  assert.equal((back as { handle?: unknown }).handle, undefined, "a field that is not plain data is dropped");
  assert.equal(back.stack, original.stack);
  const cause = back.cause as Error;
  assert.ok(cause instanceof Error);
  assert.equal(cause.message, "inner");
  assert.equal(cause.cause, "why");
});

test("the scheduler's own errors are registered; an unknown name comes back as an Error that keeps it", () => {
  const http = errorFromPlain(structuredClone(errorToPlain(new HttpError("http://h/a", 500))));
  assert.ok(http instanceof HttpError);
  assert.equal((http as HttpError).status, 500);
  const task = errorFromPlain(errorToPlain(new TaskError("x-0", "m#f", new Error("boom"))));
  assert.ok(task instanceof TaskError);
  const odd = Object.assign(new Error("odd"), { name: "NobodyRegisteredThis" });
  const back = errorFromPlain(errorToPlain(odd));
  assert.equal(back.constructor, Error);
  assert.equal(back.name, "NobodyRegisteredThis");
  assert.equal(errorFromPlain(errorToPlain("a string thrown")).message, "a string thrown");
});
