import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { measureRequests, serve } from "zask";
import type { FileServer } from "zask";

let dir: string;
let server: FileServer;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zask-measure-"));
  for (let i = 0; i < 10; i++) await writeFile(join(dir, `c${i}`), "y".repeat(100 * (i + 1)));
  server = await serve(dir, { port: 0, log: false });
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test("measureRequests counts exactly the requests and bytes of each run", async () => {
  for (let round = 0; round < 5; round++) {
    const run = await measureRequests(server, () =>
      Promise.all(Array.from({ length: 10 }, (_, i) => fetch(new URL(`c${i}`, server.url)).then((r) => r.text()))),
    );
    assert.equal(run.requests, 10);
    assert.equal(run.bytes, 100 * 55);
    assert.equal(run.value.length, 10);
    assert.equal(new Set(run.events.map((e) => e.url)).size, 10);
  }
  const none = await measureRequests(server, () => 42);
  assert.deepEqual([none.value, none.requests, none.bytes], [42, 0, 0]);
});

test("measureRequests rejects with the function's error and stops listening", async () => {
  await assert.rejects(
    measureRequests(server, () => Promise.reject(new Error("boom"))),
    /boom/,
  );
  assert.equal(server.server.listenerCount("request"), 1);
});
