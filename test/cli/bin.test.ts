import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

// the committed bin entry npm links at install time (it loads dist/bin.js)
const bin = join(dirname(createRequire(import.meta.url).resolve("zask")), "..", "bin", "zask.js");

/** Run the CLI to its end: exit code, stdout, stderr. */
async function run(args: string[], cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"], cwd });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (text) => (stdout += text));
  child.stderr.on("data", (text) => (stderr += text));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, stdout, stderr };
}

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

test("zask without a known command prints usage and fails with exit code 2", async () => {
  const { code, stderr } = await run(["frobnicate"]);
  assert.equal(code, 2);
  assert.match(stderr, /unknown command "frobnicate"[\s\S]*Usage: zask/);
});

test("every subcommand answers --help with its own usage and options", async () => {
  for (const [command, option] of [
    ["serve", "--quiet"],
    ["demo", "--dir"],
    ["inspect", "--json"],
  ] as const) {
    const { code, stdout } = await run([command, "--help"]);
    assert.equal(code, 0, command);
    assert.match(stdout, new RegExp(`^Usage: zask ${command}`), command);
    assert.ok(stdout.includes(option), `${command} --help mentions ${option}`);
  }
});

test("zask --version prints the package's version", async () => {
  const { version } = JSON.parse(await readFile(new URL("../../packages/cli/package.json", import.meta.url), "utf8")) as { version: string };
  const { code, stdout } = await run(["--version"]);
  assert.equal(code, 0);
  assert.equal(stdout, `${version}\n`);
});

test("a bad option value or unknown option is refused with what was wrong and the command's usage", async () => {
  const port = await run(["serve", "--port", "abc"]);
  assert.equal(port.code, 2);
  assert.match(port.stderr, /^zask serve: Expected `--port` to be an integer from 0 to 65535, got `abc`\n\nUsage: zask serve/);
  const unknown = await run(["inspect", "--frob", "x"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^zask inspect: .*--frob[\s\S]*Usage: zask inspect/);
});

test("zask serve without a directory serves the current one", async () => {
  const dir = await mkdtemp(join(tmpdir(), "zask-bin-"));
  await writeFile(join(dir, "here.txt"), "cwd");
  const child = spawn(process.execPath, [bin, "serve", "--port", "0", "--quiet"], { stdio: ["ignore", "ignore", "pipe"], cwd: dir });
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
    const res = await fetch(`http://127.0.0.1:${port}/here.txt`);
    assert.equal(await res.text(), "cwd");
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
});

test("zask inspect --json prints the repr and the elements as JSON", async () => {
  const store = fileURLToPath(new URL("../fixtures/anndata/", import.meta.url));
  const name = (await readdir(store)).find((f) => f.endsWith(".zarr"));
  assert.ok(name !== undefined);
  const { code, stdout, stderr } = await run(["inspect", "--json", join(store, name)]);
  assert.equal(code, 0, stderr);
  const parsed = JSON.parse(stdout) as { repr: string; elements: { path: string }[] };
  assert.match(parsed.repr, /AnnData object/);
  assert.ok(parsed.elements.some((e) => e.path === "/"));
});

test("zask --help and usage errors load no package beyond the CLI; inspect loads the reader", async () => {
  // each command imports its module when it runs (bin.ts), so a help costs no array package
  const dir = await mkdtemp(join(tmpdir(), "zask-trace-"));
  const trace = new URL("./fixtures/trace-imports.mjs", import.meta.url).href;
  const loaded = async (args: string[], name: string): Promise<string[]> => {
    const file = join(dir, name);
    await writeFile(file, "");
    const child = spawn(process.execPath, ["--import", trace, bin, ...args], { stdio: "ignore", env: { ...process.env, ZASK_TRACE_IMPORTS: file } });
    await new Promise((resolve) => child.once("exit", resolve));
    return (await readFile(file, "utf8")).split("\n").filter((u) => /\/packages\/(anndata|array|scheduler|graph)\//.test(u));
  };
  try {
    assert.deepEqual(await loaded(["--help"], "help"), []);
    assert.deepEqual(await loaded(["inspect", "--frob", "x"], "usage"), []);
    const store = fileURLToPath(new URL("../fixtures/anndata/", import.meta.url));
    const name = (await readdir(store)).find((f) => f.endsWith(".zarr"));
    assert.ok(name !== undefined);
    const inspected = await loaded(["inspect", join(store, name)], "inspect");
    assert.ok(
      inspected.some((u) => u.includes("/packages/anndata/")),
      "the trace sees the reader when a command needs it",
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
