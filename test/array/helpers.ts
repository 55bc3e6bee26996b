// Shared test helpers: fixture paths, the numpy expectations, comparisons.
import { readFileSync } from "node:fs";
import type { AsyncReadable } from "@zask/array";
import { fileURLToPath } from "node:url";
import { slice, type NDArray, type Selector } from "@zask/array";

export const FIXTURES = fileURLToPath(new URL("../fixtures/array/", import.meta.url));

export interface ExpectedSelection {
  selectors: unknown[];
  shape: number[];
  data: unknown[];
}
export interface ExpectedStore {
  shape: number[];
  dtype: string;
  data: unknown[];
  selections: ExpectedSelection[];
}
export const expected = JSON.parse(readFileSync(FIXTURES + "expected.json", "utf8")) as {
  stores: Record<string, ExpectedStore>;
  ops: Record<string, { shape: number[]; data: unknown[] }>;
};

/** A selector as the generator wrote it (JSON) → a zask selector. */
export function toSelector(s: unknown): Selector {
  if (s === null || typeof s === "number") return s as Selector;
  const o = s as { slice?: (number | null)[]; mask?: boolean[]; index?: number[] };
  if (o.slice) return slice(o.slice[0] ?? null, o.slice[1] ?? null, o.slice[2] ?? null);
  if (o.mask) return o.mask;
  return o.index!;
}

/** Values in the generator's JSON form (64-bit integers as strings, bools as 0/1). */
export function plain(r: NDArray): unknown[] {
  return Array.from(r.data as ArrayLike<unknown>, (v) => (typeof v === "bigint" ? String(v) : v));
}

export function describe(selectors: unknown[]): string {
  return JSON.stringify(selectors);
}

/** A Map as an async zarrita store (zarrita reads a Map synchronously; zask's stores are async). */
export function mapStore(map: Map<string, Uint8Array>): AsyncReadable {
  return { get: async (key) => map.get(key) };
}

export { prng, Rng } from "../helpers/random.ts";
