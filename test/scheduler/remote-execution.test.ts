import assert from "node:assert/strict";
import { after, test } from "node:test";
import { DataNode, Graph, Task, op, ref } from "@zask/graph";
import { TaskError, close, compute, decodeResult, runTask, type Executor, type ExecutorSession, type TaskJob } from "@zask/scheduler";

after(() => close());

const OPS = new URL("./fixtures/ops.js", import.meta.url);
const fill = op(OPS, "fill");
const add = op(OPS, "add");
const boom = op(OPS, "boom");

/** An executor that runs each job in this process through `runTask`, recording what it saw. */
function inProcess(maxInFlight: number): Executor & { jobs: string[]; peak: number } {
  let running = 0;
  const self = {
    kind: "executor" as const,
    maxInFlight,
    jobs: [] as string[],
    peak: 0,
    async open(): Promise<ExecutorSession> {
      return {
        async submit(job: TaskJob) {
          self.jobs.push(job.key);
          self.peak = Math.max(self.peak, ++running);
          try {
            // a turn of the event loop, so that several jobs can be in flight
            await new Promise((r) => setImmediate(r));
            return await runTask(job.payload);
          } finally {
            running--;
          }
        },
        async close() {},
      };
    },
  };
  return self;
}

function graph(n: number): { g: Graph; keys: string[] } {
  const nodes = [];
  for (let i = 0; i < n; i++) nodes.push(new Task(`fill-${i}`, fill, [4, i]));
  nodes.push(
    new Task(
      "total",
      add,
      Array.from({ length: n }, (_, i) => ref(`fill-${i}`)),
    ),
  );
  nodes.push(new Task("glue", (x: Float64Array) => x.length, [ref("total")]));
  return { g: Graph.fromNodes("g", nodes), keys: ["total", "glue"] };
}

test("a compute with an executor object runs its op tasks there and returns the local result", async () => {
  const { g, keys } = graph(20);
  const ex = inProcess(4);
  const [total, glue] = await compute(g, keys, { scheduler: ex });
  const [local] = await compute(g, ["total"], { scheduler: "sync" });
  assert.deepEqual(total, local);
  assert.equal(glue, 4);
  // the 20 fills and the add ran as jobs; the plain-function glue ran here
  assert.equal(ex.jobs.length, 21);
  assert.ok(!ex.jobs.includes("glue"));
});

test("an executor never has more tasks in flight than its maxInFlight", async () => {
  const { g, keys } = graph(50);
  const ex = inProcess(3);
  await compute(g, keys, { scheduler: ex });
  assert.equal(ex.peak, 3);
});

test("ready tasks are submitted in the graph's priority order", async () => {
  // two independent chains; order() runs each chain to its end before starting the next
  const nodes = [
    new Task("a0", fill, [2, 1]),
    new Task("a1", add, [ref("a0")]),
    new Task("b0", fill, [2, 2]),
    new Task("b1", add, [ref("b0")]),
    new Task("sum", add, [ref("a1"), ref("b1")]),
  ];
  const ex = inProcess(1);
  await compute(Graph.fromNodes("p", nodes), ["sum"], { scheduler: ex });
  const a = ex.jobs.indexOf("a0");
  assert.equal(ex.jobs[a + 1], "a1");
  assert.equal(ex.jobs.at(-1), "sum");
});

test("a task failing on an executor fails the compute with a TaskError naming its key and op", async () => {
  const g = Graph.fromNodes("f", [new DataNode("x", 3), new Task("bad", boom, [ref("x")])]);
  await assert.rejects(compute(g, ["bad"], { scheduler: inProcess(2) }), (e: unknown) => {
    assert.ok(e instanceof TaskError);
    assert.equal(e.key, "bad");
    assert.match(e.op, /ops\.js#boom$/);
    return true;
  });
});

test("a scheduler that is neither a name nor an executor is a RangeError", async () => {
  const { g, keys } = graph(1);
  await assert.rejects(compute(g, keys, { scheduler: { kind: "nope" } as never }), RangeError);
});

test("an executor's result decodes to the value the task returned", async () => {
  const g = Graph.fromNodes("one", [new Task("f", fill, [3, 1.5])]);
  let seen: unknown;
  const ex: Executor = {
    kind: "executor",
    maxInFlight: 1,
    async open() {
      return {
        async submit(job: TaskJob) {
          const bytes = await runTask(job.payload);
          seen = await decodeResult(bytes);
          return bytes;
        },
        async close() {},
      };
    },
  };
  const [v] = await compute(g, ["f"], { scheduler: ex });
  assert.deepEqual(v, new Float64Array([1.5, 1.5, 1.5]));
  assert.deepEqual(seen, v);
});
