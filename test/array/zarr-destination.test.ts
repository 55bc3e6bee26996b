import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ZarrArrayError } from "../../packages/array/src/errors.ts";
import { openArrayDestination } from "../../packages/array/src/zarr-destination.ts";

const dir = mkdtempSync(join(tmpdir(), "zask-destination-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (s: string) => new TextEncoder().encode(s);
const layout = {
  marker: "meta.json",
  files: [
    ["meta.json", bytes("{array}")],
    ["attrs.json", bytes("{}")],
  ],
  group: ["group.json", bytes("{group}")],
} as const;

test("a new array in a directory gets its metadata files and a group file in each parent, existing group files kept", async () => {
  const root = join(dir, "fresh.zarr");
  await openArrayDestination(root, "", { ...layout, files: [] });
  writeFileSync(join(root, "group.json"), "{kept}");
  const d = await openArrayDestination(root, "/a/b/X/", layout);
  assert.equal(d.prefix, "a/b/X");
  assert.equal(d.key("0.0"), "a/b/X/0.0");
  assert.deepEqual(d.sink, { kind: "file", root });
  assert.equal(readFileSync(join(root, "group.json"), "utf8"), "{kept}");
  assert.equal(readFileSync(join(root, "a", "group.json"), "utf8"), "{group}");
  assert.equal(readFileSync(join(root, "a", "b", "group.json"), "utf8"), "{group}");
  assert.equal(readFileSync(join(root, "a", "b", "X", "meta.json"), "utf8"), "{array}");
  assert.equal(readFileSync(join(root, "a", "b", "X", "attrs.json"), "utf8"), "{}");
});

test("an array already at the path is refused with ZarrArrayError naming it, and removed whole with overwrite", async () => {
  const root = join(dir, "twice.zarr");
  await openArrayDestination(root, "X", layout);
  writeFileSync(join(root, "X", "0.0"), "old chunk");
  await assert.rejects(openArrayDestination(root, "X", layout), (e: unknown) => e instanceof ZarrArrayError && e.message.includes(join(root, "X")));
  await openArrayDestination(root, "X", layout, { overwrite: true });
  assert.equal(existsSync(join(root, "X", "0.0")), false);
  assert.equal(readFileSync(join(root, "X", "meta.json"), "utf8"), "{array}");
});

test("a writable store gets the same keys with a leading slash, and refuses an array already there", async () => {
  const store = new Map<string, Uint8Array>();
  const d = await openArrayDestination(store, "g/X", layout);
  assert.deepEqual([...store.keys()].sort(), ["/g/X/attrs.json", "/g/X/meta.json", "/g/group.json", "/group.json"]);
  assert.equal(d.sink.kind, "store");
  await assert.rejects(openArrayDestination(store, "g/X", layout), ZarrArrayError);
});

test("an HTTP destination or a value that is no store is refused with a TypeError before anything is written", async () => {
  await assert.rejects(openArrayDestination("http://127.0.0.1:9/x.zarr", "", layout), /HTTP stores are read-only/);
  await assert.rejects(openArrayDestination(new URL("https://example.org/x.zarr"), "", layout), /HTTP stores are read-only/);
  await assert.rejects(openArrayDestination(42 as never, "", layout), /Expected `dest` to be a local path or a writable zarrita store, got `42` \(number\)/);
});
