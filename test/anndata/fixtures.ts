// Shared helpers of the anndata tests: fixture paths, expected values, a real HTTP server.
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { serveFixtures, type FixtureServer } from "../helpers/fixture-server.ts";

export type { FixtureServer };

export const FIXTURES = fileURLToPath(new URL("../fixtures/anndata/", import.meta.url));
export const DENSE_C5 = path.join(FIXTURES, "pbmc-like.dense.c5.zarr");
export const DENSE_C25 = path.join(FIXTURES, "pbmc-like.dense.c25.zarr");
export const CSR = path.join(FIXTURES, "pbmc-like.csr.zarr");

type ColumnExpect =
  | { kind: "categorical"; codes: number[]; categories: string[]; ordered: boolean }
  | { kind: "nullable-integer" | "nullable-boolean"; values: (number | boolean | null)[] }
  | { kind: "string"; values: string[] }
  | { kind: string; values: (number | boolean)[] };

export interface Expected {
  shape: [number, number];
  obsNames: string[];
  varNames: string[];
  obs: { columns: string[]; data: Record<string, ColumnExpect> };
  var: { columns: string[]; data: Record<string, ColumnExpect> };
  X: { dtype: string; file: string };
  counts: { dtype: string; file: string };
  obsm: Record<string, { dtype: string; shape: number[]; file: string }>;
  varm: Record<string, { dtype: string; shape: number[]; file: string }>;
  obsp: Record<string, { format: string; shape: number[]; dtype: string; indptr: number[]; indices: number[]; data: string }>;
  uns: Record<string, unknown>;
}

export const expected: Expected = JSON.parse(await readFile(path.join(FIXTURES, "pbmc-like.expected.json"), "utf8"));

/** A raw little-endian file written by generate.py, as a typed array of `dtype`. */
export async function rawValues(file: string, dtype: string): Promise<Float32Array | Float64Array> {
  const buf = await readFile(path.join(FIXTURES, file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  if (dtype === "float32") return new Float32Array(ab);
  if (dtype === "float64") return new Float64Array(ab);
  throw new Error(`no reader for ${dtype}`);
}

/** A copy of a fixture store in a fresh temporary directory (for tests that damage it). */
export async function copyFixture(src: string): Promise<{ dir: string; store: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "zask-anndata-"));
  const store = path.join(dir, path.basename(src));
  await cp(src, store, { recursive: true });
  return { dir, store, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "zask-anndata-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A static file server over `root` (see test/helpers/fixture-server.ts). */
export function serve(root: string): Promise<FixtureServer> {
  return serveFixtures(root);
}

/** Edge-case stores written by test/fixtures/anndata-edge/generate.py. */
export const EDGE = fileURLToPath(new URL("../fixtures/anndata-edge/", import.meta.url));
export const edge = (name: string): string => path.join(EDGE, name);
