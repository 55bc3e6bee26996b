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

test("every error class the packages export comes back as itself from a worker or another process", async () => {
  const lost: string[] = [];
  let checked = 0;
  for (const pkg of ["@zask/graph", "@zask/scheduler", "@zask/array", "@zask/anndata"]) {
    for (const [name, value] of Object.entries((await import(pkg)) as Record<string, unknown>)) {
      if (typeof value !== "function" || !(value.prototype instanceof Error)) continue;
      // as a worker sends it: the class's instance, by the name it carries
      const e = Object.create(value.prototype) as Error;
      Object.assign(e, { name, message: `a ${name}` });
      const back = errorFromPlain(errorToPlain(e));
      checked++;
      if (!(back instanceof (value as new () => Error)) || back.message !== `a ${name}`) lost.push(`${pkg} ${name}`);
    }
  }
  assert.ok(checked >= 20, `only ${checked} error classes found`);
  assert.deepEqual(lost, []);
});

test("errors thrown inside a decode keep their class as the cause of the task's error", async () => {
  const { DecompressedSizeError } = await import("../../packages/array/src/codecs/checked-size.ts");
  const { ChunkIntegrityError } = await import("../../packages/anndata/src/checked-store.ts");
  for (const C of [DecompressedSizeError, ChunkIntegrityError]) {
    const back = errorFromPlain(errorToPlain(new TaskError("k", "op", new C("the chunk is short"))));
    assert.ok((back as TaskError).cause instanceof C, C.name);
  }
});
