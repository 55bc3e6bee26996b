import assert from "node:assert/strict";
import { test } from "node:test";
import { DataNode, Fused, Ref, Task, op, ref } from "@zask/graph";
import { ZarrStore } from "@zask/array";
import { NotTransportableError, decodeResult, decodeTask, encodeResult, encodeTask } from "@zask/scheduler";

const fill = op("@zask/array/ops", "fill");

test("typed arrays, NaN, -0, bigints and Maps survive a result's round trip bit for bit", async () => {
  const f32 = new Float32Array([1.5, Number.NaN, -0, 3.4e38]);
  const value = { data: f32, big: new BigInt64Array([2n ** 62n, -1n]), u8: new Uint8Array([0, 255]), m: new Map([["a", 1]]), n: -0 };
  const back = (await decodeResult(encodeResult(value, "k"))) as typeof value;
  assert.ok(back.data instanceof Float32Array);
  assert.deepEqual(new Uint8Array(back.data.buffer, back.data.byteOffset, back.data.byteLength), new Uint8Array(f32.buffer));
  assert.equal(back.data.byteLength, back.data.buffer.byteLength);
  assert.deepEqual(back.big, value.big);
  assert.deepEqual(back.u8, value.u8);
  assert.equal(back.m.get("a"), 1);
  assert.ok(Object.is(back.n, -0));
});

test("a task's refs and its dependencies' values come back as refs and data nodes", async () => {
  const t = new Task("t", fill, [ref("a"), { nested: [ref("b")] }, 2]);
  const { node, deps } = await decodeTask(
    encodeTask(t, [
      ["a", new Float64Array([1, 2])],
      ["b", 7],
    ]),
  );
  assert.ok(node instanceof Task);
  assert.equal(node.key, "t");
  assert.deepEqual(node.op, { module: "@zask/array/ops", name: "fill", lane: "cpu" });
  assert.ok(node.args[0] instanceof Ref);
  assert.deepEqual(node.dependencies, ["a", "b"]);
  assert.ok(deps.every((d) => d instanceof DataNode));
  assert.deepEqual(deps[0]!.value, new Float64Array([1, 2]));
});

test("a fused node keeps its steps and their order", async () => {
  const f = new Fused("s1", [new Task("s0", fill, [3, 1]), new Task("s1", fill, [ref("s0"), 2])]);
  const { node } = await decodeTask(encodeTask(f, []));
  assert.ok(node instanceof Fused);
  assert.deepEqual(
    node.steps.map((s) => s.key),
    ["s0", "s1"],
  );
  assert.deepEqual(node.dependencies, []);
});

test("an http ZarrStore travels as its URL and is rebuilt once per worker process", async () => {
  const store = new ZarrStore("http://127.0.0.1:1/data.zarr");
  const t = new Task("t", fill, [store, 1]);
  const a = await decodeTask(encodeTask(t, []));
  const b = await decodeTask(encodeTask(t, []));
  const rebuilt = (a.node as Task).args[0];
  assert.ok(rebuilt instanceof ZarrStore);
  assert.equal(rebuilt.location, "http://127.0.0.1:1/data.zarr/");
  assert.equal((b.node as Task).args[0], rebuilt);
});

test("a function or a class instance without a remote form is refused, naming the task", () => {
  assert.throws(
    () => encodeTask(new Task("t", fill, [() => 1]), []),
    (e: unknown) => e instanceof NotTransportableError && e.key === "t" && /function/.test(e.message),
  );
  class Opaque {}
  assert.throws(
    () => encodeResult({ x: new Opaque() }, "r"),
    (e: unknown) => e instanceof NotTransportableError && e.key === "r" && /Opaque/.test(e.message),
  );
  const wrapped = new ZarrStore({ get: async () => undefined });
  assert.throws(() => encodeTask(new Task("w", fill, [wrapped]), []), NotTransportableError);
});
