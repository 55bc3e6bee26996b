import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zarr from "zarrita";
import { readDispatched, readElem, readZarr, UnsupportedEncodingError } from "@zask/anndata";
import { edge } from "./fixtures.ts";
import { pythonJson, skipPython } from "./python.ts";

const STORE = edge("version-bad.zarr");
const isVersionError = (e: unknown) =>
  e instanceof UnsupportedEncodingError &&
  e.path === "/uns/params" &&
  e.encodingType === "dict" &&
  e.encodingVersion === "9.9.9" &&
  e.knownVersions?.[0] === "0.1.0" &&
  /9\.9\.9/.test(e.message) &&
  /uns\/params/.test(e.message);

describe("encoding-version", () => {
  it("an element whose encoding-version zask does not know is refused with UnsupportedEncodingError naming it, lazily and eagerly", async () => {
    await assert.rejects(readZarr(STORE), isVersionError);
    await assert.rejects(readZarr(STORE, { lazy: false }), isVersionError);
  });

  it("the refusal comes before a readDispatched callback or readElem sees the element, as anndata's registry", async () => {
    const seen: string[] = [];
    await assert.rejects(
      readDispatched(STORE, (read, name, elem) => {
        seen.push(name);
        return read(elem);
      }),
      isVersionError,
    );
    assert.ok(!seen.includes("/uns/params"));
    const root = await zarr.open(new (await import("@zarrita/storage/fs")).default(STORE), { kind: "group" });
    await assert.rejects(readElem(await zarr.open(root.resolve("uns/params"))), isVersionError);
  });

  it("Python anndata refuses the same store", { skip: skipPython }, async () => {
    const got = await pythonJson(
      "import json, sys, anndata\ntry:\n    anndata.read_zarr(sys.argv[1]); print(json.dumps('read'))\nexcept Exception as e:\n    print(json.dumps(type(e).__name__))",
      STORE,
    );
    assert.notEqual(got, "read");
  });
});
