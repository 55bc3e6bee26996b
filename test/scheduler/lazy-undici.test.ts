import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { sep } from "node:path";
import { after, test } from "node:test";
import { IoLane, close } from "@zask/scheduler";
import { startServer } from "./fixtures/server.ts";

// undici is imported on the first request the direct HTTP/1.1 client does not send: a process
// that only reads plain-http stores never pays its import. This file imports nothing else that
// loads it (each test file runs in its own process).

const cache = createRequire(import.meta.url).cache;
const undiciLoaded = (): boolean => Object.keys(cache).some((k) => k.includes(`${sep}undici${sep}`));

after(() => close());

test("plain-http GETs leave undici unloaded; the first request that needs it loads it", async () => {
  const server = await startServer((_req, res) => res.end("ok"));
  try {
    const lane = new IoLane({ httpConcurrency: 4, retries: 0, retryDelay: 1, timeout: 5000 });
    const got = await Promise.all([1, 2, 3].map((k) => lane.fetch(`${server.url}/x${k}`)));
    assert.deepEqual(await Promise.all(got.map((r) => r.text())), ["ok", "ok", "ok"]);
    assert.equal(undiciLoaded(), false, "undici was imported for plain-http GETs");
    // a POST goes through undici; two at once share one import and one agent
    const posted = await Promise.all([1, 2].map((k) => lane.fetch(`${server.url}/p${k}`, { method: "POST", body: "x" })));
    assert.deepEqual(await Promise.all(posted.map((r) => r.text())), ["ok", "ok"]);
    assert.equal(undiciLoaded(), true);
  } finally {
    await server.close();
  }
});
