// Shared by the tests over test/fixtures/bad-stores: its path, its expected values, a server.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** test/fixtures/bad-stores/, written by its generate.py. */
export const BAD = fileURLToPath(new URL("../fixtures/bad-stores/", import.meta.url));

/** Per valid store: its shape and its values in C order (numpy's, flattened). */
export const badExpected = JSON.parse(readFileSync(BAD + "expected.json", "utf8")) as Record<string, { shape: number[]; dtype: string; data: number[] }>;

/** The error or one of its causes that satisfies `pick`, or undefined. */
export function findCause<T>(e: unknown, pick: (c: unknown) => c is T): T | undefined {
  let c: unknown = e;
  for (let depth = 0; c !== undefined && c !== null && depth < 10; depth++) {
    if (pick(c)) return c;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}
