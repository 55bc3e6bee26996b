import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdir, readdir, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { AnnData, DataFrame, ElementWriteError, readZarr, writeElem, writeZarr } from "@zask/anndata";
import { tempDir } from "./fixtures.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

function small(): AnnData {
  return new AnnData({
    X: { data: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3], dtype: "float32" },
    obs: new DataFrame({ index: ["a", "b"] }),
    var: new DataFrame({ index: ["x", "y", "z"] }),
  });
}

// A writer that stops for good once its staging directory holds X, so that it can be killed mid-write.
const STALLED_WRITER = `
import { AnnData, DataFrame, writeDispatched } from "@zask/anndata";
const adata = new AnnData({ X: { data: new Float32Array(6), shape: [2, 3], dtype: "float32" }, obs: new DataFrame({ index: ["a", "b"] }), var: new DataFrame({ index: ["x", "y", "z"] }) });
await writeDispatched(process.argv[1], "/", adata, async (write, store, key, elem, options) => {
  if (key === "/var") {
    console.log("staged");
    setInterval(() => {}, 60000);
    await new Promise(() => {});
  }
  return write(store, key, elem, options);
});
`;

/** Start a writer of `dest` in a child process and SIGKILL it mid-write; resolves with its pid. */
async function killedWriter(dest: string): Promise<number> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", STALLED_WRITER, dest], { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
  const timer = setTimeout(() => child.kill("SIGKILL"), 20000);
  try {
    let out = "";
    for await (const chunk of child.stdout) {
      out += String(chunk);
      if (out.includes("staged")) break;
    }
    assert.match(out, /staged/, "the writer did not reach its stall point");
    child.kill("SIGKILL");
    const [, signal] = await once(child, "exit");
    assert.equal(signal, "SIGKILL");
    return child.pid!;
  } finally {
    clearTimeout(timer);
  }
}

describe("write destinations", () => {
  it("a write killed with SIGKILL leaves its staging directory, and the next write to that destination reclaims it", async () => {
    const t = await tempDir();
    try {
      const dest = path.join(t.dir, "out.zarr");
      const pid = await killedWriter(dest);
      const left = await readdir(t.dir);
      assert.equal(left.length, 1);
      assert.match(left[0]!, new RegExp(`^out\\.zarr\\.zask-tmp-${pid}-`));
      await writeZarr(small(), dest);
      assert.deepEqual(await readdir(t.dir), ["out.zarr"]);
      assert.deepEqual((await readZarr(dest, { lazy: false })).obsNames, ["a", "b"]);
    } finally {
      await t.cleanup();
    }
  });

  it("staging of a live writer and of other destinations is left alone; a dead writer's set-aside old store is moved back", async () => {
    const t = await tempDir();
    const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      const exited = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
      await once(exited, "exit");
      const dest = path.join(t.dir, "out.zarr");
      const live = `out.zarr.zask-tmp-${sleeper.pid}-abc123`;
      const other = `other.zarr.zask-tmp-${exited.pid}-abc123`;
      const old = `out.zarr.zask-old-${exited.pid}-abc123`;
      for (const d of [live, other]) await mkdir(path.join(t.dir, d));
      // A commit killed between setting the old store aside and moving the new one in.
      await writeZarr(small(), path.join(t.dir, old));
      await assert.rejects(writeZarr(small(), dest), (e: unknown) => e instanceof ElementWriteError && e.reason === "exists");
      assert.deepEqual((await readdir(t.dir)).sort(), [live, other, "out.zarr"].sort());
    } finally {
      sleeper.kill("SIGKILL");
      await t.cleanup();
    }
  });

  it("a destination that cannot be created (its parent is a file: ENOTDIR, even as root) is an ElementWriteError naming it", async () => {
    const t = await tempDir();
    try {
      const file = path.join(t.dir, "a-file");
      await writeFile(file, "not a directory");
      const dest = path.join(file, "out.zarr");
      await assert.rejects(writeZarr(small(), dest), (e: unknown) => {
        assert.ok(e instanceof ElementWriteError, String(e));
        assert.equal(e.reason, "store");
        assert.ok(e.url?.endsWith("/a-file/out.zarr"), e.url);
        assert.match(e.message, /ENOTDIR/);
        return true;
      });
    } finally {
      await t.cleanup();
    }
  });

  it("writeElem into a store where the element cannot go is an ElementWriteError naming the element and the store", async () => {
    const t = await tempDir();
    try {
      const dest = path.join(t.dir, "out.zarr");
      await writeZarr(small(), dest);
      await writeFile(path.join(dest, "uns", "blocked"), "a file where a group must go");
      await assert.rejects(writeElem(dest, "/uns/blocked/leaf", "x"), (e: unknown) => {
        assert.ok(e instanceof ElementWriteError, String(e));
        assert.equal(e.reason, "store");
        assert.equal(e.path, "/uns/blocked/leaf");
        assert.ok(e.url?.endsWith("/out.zarr"), e.url);
        return true;
      });
    } finally {
      await t.cleanup();
    }
  });

  it("a read-only parent directory (EACCES) is an ElementWriteError naming the destination", {
    skip: process.getuid?.() === 0 ? "root ignores directory permissions" : false,
  }, async () => {
    const t = await tempDir();
    const ro = path.join(t.dir, "ro");
    await mkdir(ro);
    await chmod(ro, 0o555);
    try {
      await assert.rejects(
        writeZarr(small(), path.join(ro, "out.zarr")),
        (e: unknown) => e instanceof ElementWriteError && e.reason === "store" && /EACCES/.test(e.message) && e.url!.endsWith("/ro/out.zarr"),
      );
    } finally {
      await chmod(ro, 0o755);
      await t.cleanup();
    }
  });
});
