import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";

const bin = join(dirname(createRequire(import.meta.url).resolve("zask")), "bin.js");

test("zask serve DIR serves files and logs each request on stderr until SIGTERM", async () => {
  const dir = await mkdtemp(join(tmpdir(), "zask-bin-"));
  await writeFile(join(dir, "chunk"), "abcdef");
  const child = spawn(process.execPath, [bin, "serve", dir, "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stderr.on("data", (text: string) => {
        stderr += text;
        const match = /port (\d+) \(/.exec(stderr);
        if (match) resolve(Number(match[1]));
      });
      child.once("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const res = await fetch(`http://127.0.0.1:${port}/chunk`, { headers: { Range: "bytes=1-2" } });
    assert.equal(await res.text(), "bc");
    const logged = new Promise<void>((resolve) => {
      const check = (): void => {
        if (stderr.includes('"GET /chunk HTTP/1.1" 206 2')) resolve();
      };
      child.stderr.on("data", check);
      check();
    });
    await logged;
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
});

test("zask without a known command prints usage and fails", async () => {
  const child = spawn(process.execPath, [bin, "frobnicate"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (text) => (stderr += text));
  const code = await new Promise((resolve) => child.once("exit", resolve));
  assert.equal(code, 1);
  assert.match(stderr, /unknown command "frobnicate"[\s\S]*Usage: zask/);
});
