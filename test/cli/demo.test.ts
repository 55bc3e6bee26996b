import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { demo } from "zask";

test("the demo writes, serves and queries the stores, and each query costs what plan() said", async () => {
  const dir = await mkdtemp(join(tmpdir(), "zask-demo-test-"));
  const lines: string[] = [];
  try {
    const rows = await demo({ dir, shape: [200, 300], print: (line) => lines.push(line) });
    const text = lines.join("\n");
    assert.equal(rows.length, 9);
    for (const row of rows.filter((r) => r.query !== "open")) assert.equal(row.requests, row.planned, `${row.store} ${row.chunks} ${row.query}`);
    const [c5, c25, scaled] = [rows.slice(0, 3), rows.slice(3, 6), rows.slice(6, 9)];
    assert.deepEqual(
      c5.map((r) => r.chunks),
      ["[200, 5]", "[200, 5]", "[200, 5]"],
    );
    assert.equal(c5[1]?.requests, 1);
    assert.equal(c5[2]?.requests, 53);
    assert.ok((c25[2]?.requests ?? 59) < 53, "wider chunks need fewer requests");
    assert.deepEqual(
      scaled.map((r) => r.chunks),
      ["[200, 25]", "[200, 25]", "[200, 25]"],
    );
    assert.match(text, /"GET \/data\/pbmc3k_processed\.zarr\/X\/0\.0 HTTP\/1\.1" 200 \d+/);
    assert.match(text, /"GET \/data\/pbmc3k_scaled\.zarr\/layers\/scaled\/0\.0 HTTP\/1\.1" 200 \d+/);
    assert.match(text, /Count\s+60 chunks/); // X at [200, 5]: 300 / 5 chunks
    assert.match(text, /store\s+X chunks\s+query\s+requests\s+plan/);
    assert.ok(existsSync(join(dir, "data", "pbmc3k_scaled.zarr", ".zmetadata")));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
