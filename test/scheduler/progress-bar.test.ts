import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { Graph, Task, ref } from "@zask/graph";
import { ProgressBar, compute } from "@zask/scheduler";

function graph(): Graph {
  const tasks = [new Task("a", () => 1, [])];
  for (let i = 1; i < 6; i++) tasks.push(new Task(i === 5 ? "z" : `t${i}`, (x: number) => x + 1, [ref(tasks[i - 1]!.key)]));
  return Graph.fromNodes("p", tasks);
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let out = "";
  stream.on("data", (d: Buffer) => (out += d.toString()));
  return { stream, text: () => out };
}

test("the progress bar draws tasks done over total once the compute has run past its minimum", async () => {
  const { stream, text } = capture();
  const bar = new ProgressBar({ minimum: 0, stream, force: true });
  const slow = Graph.fromNodes("slow", [
    new Task("wait", () => new Promise((r) => setTimeout(() => r(0), 30)), []),
    new Task("z", (x: number) => x + 1, [ref("wait")]),
  ]);
  assert.deepEqual(await compute(slow, ["z"], { progress: false, optimize: false, callbacks: bar }), [1]);
  assert.match(text(), /2\/2 tasks/);
});

test("a compute that ends before the minimum draws nothing and leaves no timer", async () => {
  const { stream, text } = capture();
  const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const before = timers();
  assert.deepEqual(await compute(graph(), ["z"], { progress: false, callbacks: new ProgressBar({ minimum: 60_000, stream, force: true }) }), [6]);
  assert.equal(text(), "");
  assert.equal(timers(), before);
});
