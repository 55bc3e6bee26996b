import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { openStore, readDispatched } from "@zask/anndata";
import { DENSE_C5, FIXTURES, serve } from "../anndata/fixtures.ts";

test("after an open, counters.requests is what the server saw and counters.reads adds the metadata answered from memory", async () => {
  const server = await serve(FIXTURES);
  try {
    const { store, root, consolidated } = await openStore(`${server.url}/${path.basename(DENSE_C5)}`);
    assert.ok(consolidated);
    // read the whole hierarchy eagerly except X, as an open does
    await readDispatched(root, (read, key, elem, spec) => (key === "/X" ? null : read(elem)));
    assert.equal(store.counters.requests, server.requests.length);
    assert.ok(store.counters.reads > store.counters.requests, `${store.counters.reads} reads > ${store.counters.requests} requests`);
  } finally {
    await server.close();
  }
});
