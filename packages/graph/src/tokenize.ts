import { createHash, type Hash } from "node:crypto";
import { Ref, isOpRef } from "./spec.js";

/**
 * An object that knows its own token (for example a store: its URL). Tokenize calls it
 * instead of hashing the object's fields.
 *
 * @example
 * ```ts
 * class HttpStore { constructor(readonly url: string) {} [tokenSymbol]() { return this.url; } }
 * ```
 */
export const tokenSymbol: unique symbol = Symbol.for("zask.token");

/** An object that supplies its own token. */
export interface Tokenizable {
  [tokenSymbol](): string;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 0;

/**
 * A deterministic token of `values`: equal inputs give equal tokens, so identical work gets
 * identical keys and deduplicates (dask's `tokenize`). Typed arrays hash their bytes; plain
 * objects their sorted entries; functions their identity (closures with equal source may differ); an object with a `[tokenSymbol]()` method its own token; any
 * other object (class instances without one) a per-process identity, which never collides.
 *
 * @example
 * ```ts
 * tokenize("ones", [10, 10], "float32") === tokenize("ones", [10, 10], "float32"); // true
 * ```
 */
export function tokenize(...values: unknown[]): string {
  const h = createHash("sha1");
  feed(h, values);
  return h.digest("hex").slice(0, 16);
}

function feed(h: Hash, x: unknown): void {
  switch (typeof x) {
    case "string":
      h.update("s" + x.length + ":" + x);
      return;
    case "number":
    case "boolean":
    case "undefined":
      h.update((typeof x)[0] + String(x) + ";");
      return;
    case "bigint":
      h.update("n" + x.toString() + ";");
      return;
    case "function":
      // By identity, not by source: two closures with the same text may capture different
      // values, and equal tokens would merge their (different) work.
      h.update("f" + (x.name || "") + ":" + identityOf(x) + ";");
      return;
    case "symbol":
      h.update("y" + String(x.description));
      return;
  }
  if (x === null) {
    h.update("null;");
    return;
  }
  const o = x as object;
  if (tokenSymbol in o && typeof (o as Tokenizable)[tokenSymbol] === "function") {
    h.update("t" + (o as Tokenizable)[tokenSymbol]() + ";");
  } else if (ArrayBuffer.isView(o)) {
    h.update("v" + o.constructor.name + o.byteLength + ":");
    h.update(new Uint8Array(o.buffer, o.byteOffset, o.byteLength));
  } else if (o instanceof ArrayBuffer) {
    h.update("b" + o.byteLength + ":");
    h.update(new Uint8Array(o));
  } else if (Array.isArray(o)) {
    h.update("[" + o.length);
    for (const v of o) feed(h, v);
    h.update("]");
  } else if (o instanceof Ref) {
    h.update("r" + o.key + ";");
  } else if (isOpRef(o)) {
    h.update("o" + o.module + "#" + o.name + "@" + o.lane + ";");
  } else if (Object.getPrototypeOf(o) === Object.prototype || Object.getPrototypeOf(o) === null) {
    const keys = Object.keys(o).sort();
    h.update("{" + keys.length);
    for (const k of keys) {
      h.update(k + "=");
      feed(h, (o as Record<string, unknown>)[k]);
    }
    h.update("}");
  } else {
    h.update("i" + identityOf(o) + ";");
  }
}

function identityOf(o: object): string {
  let id = identities.get(o);
  if (id === undefined) identities.set(o, (id = nextIdentity++));
  return process.pid + ":" + id;
}
