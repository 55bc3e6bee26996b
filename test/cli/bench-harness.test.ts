// The benchmark harness's server (benchmarks/lib/nginx.ts) counts requests from an access log
// cut by marker requests; the figures of `npm run bench` are only as good as this.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { NGINX, startLoggingServer } from "../../benchmarks/lib/nginx.ts";
import { median, timeRepeated } from "../../benchmarks/lib/stats.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zask-harness-"));
  await writeFile(join(dir, "chunk"), "x".repeat(1000));
});
after(() => rm(dir, { recursive: true, force: true }));

for (const prefer of ["zask", "nginx"] as const) {
  test(`the ${prefer} logging server counts each segment's requests and bytes between marks`, { skip: prefer === "nginx" && !existsSync(NGINX) }, async () => {
    const server = await startLoggingServer(dir, { prefer });
    try {
      assert.equal(server.kind, prefer);
      await server.mark("start");
      await Promise.all(Array.from({ length: 30 }, () => fetch(new URL("chunk", server.url)).then((r) => r.text())));
      const [first] = await server.mark("thirty");
      await (await fetch(new URL("chunk", server.url), { headers: { Range: "bytes=0-9" } })).text();
      await (await fetch(new URL("missing", server.url))).text();
      const [second] = await server.mark("two");
      assert.equal(first?.label, "thirty");
      assert.equal(first?.requests.length, 30);
      assert.equal(
        first?.requests.reduce((n, r) => n + r.bytes, 0),
        30_000,
      );
      assert.equal(second?.label, "two");
      assert.deepEqual(
        second?.requests.map((r) => [r.path, r.status]),
        [
          ["/chunk", 206],
          ["/missing", 404],
        ],
      );
      assert.equal(second?.requests[0]?.bytes, 10);
    } finally {
      await server.close();
    }
  });
}

test("median takes the middle value, or the mean of the middle two", () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), RangeError);
});

test("timeRepeated runs warmups untimed, then the timed runs with `between` after each", async () => {
  const calls: string[] = [];
  let n = 0;
  const timing = await timeRepeated(() => (calls.push(`run${n}`), n++), { repeats: 3, warmup: 1, between: (run) => calls.push(`mark${run}`) });
  assert.deepEqual(calls, ["run0", "run1", "mark0", "run2", "mark1", "run3", "mark2"]);
  assert.equal(timing.runsMs.length, 3);
  assert.equal(timing.value, 3);
});
