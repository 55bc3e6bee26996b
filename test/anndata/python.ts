// Running the Python reference stack from the anndata tests (skipped when it is not installed).
import { execFile, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const PYTHON = "/usr/bin/python3";
const CHECK = fileURLToPath(new URL("./interop_check.py", import.meta.url));

function hasReferenceStack(): boolean {
  try {
    execFileSync(PYTHON, ["-c", "import anndata, zarr, scipy"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** `false`, or why the Python interop tests skip. */
export const skipPython: false | string = hasReferenceStack()
  ? false
  : "SKIPPED: /usr/bin/python3 lacks anndata/zarr (apt-get install python3-anndata python3-zarr; CI installs them)";

export interface Pair {
  written: string;
  reference: string;
  chunks?: Record<string, number[]>;
}

/** Python's verdict on each pair (interop_check.py), from one Python process. */
export async function pythonCompare(pairs: Pair[]): Promise<{ ok: boolean; problems: string[]; repr: string }[]> {
  const { stdout } = await promisify(execFile)(PYTHON, [CHECK, JSON.stringify(pairs)], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

/** Run a Python snippet (argv after it in `sys.argv[1:]`); its last stdout line parsed as JSON. */
export async function pythonJson(code: string, ...args: string[]): Promise<unknown> {
  const { stdout } = await promisify(execFile)(PYTHON, ["-c", code, ...args], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split("\n").pop()!);
}
