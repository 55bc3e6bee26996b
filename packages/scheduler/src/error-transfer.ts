/**
 * Errors that cross a thread (worker pool) or process boundary keep their class. A structured
 * clone turns every subclass into a plain `Error` and drops its fields, so a `ChunkDecodeError`
 * thrown on a worker would reach the caller as an untyped error: the worker sends an error as
 * plain data ({@link errorToPlain}) and the receiver rebuilds it with the class registered
 * under its name ({@link registerErrorClass}), fields and cause chain included.
 */

/** An error as plain, structured-cloneable data. */
export interface PlainError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** The error's own fields that are plain data (`url`, `path`, `chunkKey`, `status`, …). */
  readonly fields: Readonly<Record<string, unknown>>;
  readonly cause: PlainError | { readonly value: unknown } | undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: any constructor whose instances are errors
type ErrorClass = abstract new (...args: any[]) => Error;

const classes = new Map<string, ErrorClass>();
const MAX_DEPTH = 8;

/**
 * Rebuild errors named `name` as instances of `cls` when they cross a boundary. A package
 * registers its error classes once, where it defines them.
 *
 * @example
 * ```ts
 * class MyError extends Error { override name = "MyError" as const; }
 * registerErrorClass("MyError", MyError);
 * ```
 */
export function registerErrorClass(name: string, cls: ErrorClass): void {
  classes.set(name, cls);
}

/** `e` as plain data that survives a structured clone or JSON. */
export function errorToPlain(e: unknown, depth = 0): PlainError {
  if (!(e instanceof Error)) return { name: "Error", message: String(e), stack: undefined, fields: {}, cause: undefined };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === "name" || k === "message" || k === "stack" || k === "cause") continue;
    if (isPlain(v)) fields[k] = v;
  }
  let cause: PlainError["cause"];
  if (e.cause !== undefined && depth < MAX_DEPTH)
    cause = e.cause instanceof Error ? errorToPlain(e.cause, depth + 1) : isPlain(e.cause) ? { value: e.cause } : undefined;
  return { name: e.name, message: e.message, stack: e.stack, fields, cause };
}

/** The error `p` describes, as an instance of the class registered under its name (else `Error`). */
export function errorFromPlain(p: PlainError): Error {
  const cls = classes.get(p.name);
  const e: Error = cls === undefined ? new Error(p.message) : (Object.create(cls.prototype) as Error);
  const define = (key: string, value: unknown) =>
    Object.defineProperty(e, key, { value, writable: true, configurable: true, enumerable: key !== "stack" && key !== "message" && key !== "cause" });
  define("name", p.name);
  define("message", p.message);
  if (p.stack !== undefined) define("stack", p.stack);
  for (const [k, v] of Object.entries(p.fields)) define(k, v);
  if (p.cause !== undefined) define("cause", "value" in p.cause ? p.cause.value : errorFromPlain(p.cause));
  return e;
}

function isPlain(v: unknown, depth = 0): boolean {
  if (v === null || v === undefined) return true;
  const t = typeof v;
  if (t === "string" || t === "number" || t === "boolean" || t === "bigint") return true;
  if (depth < 4 && Array.isArray(v)) return v.every((x) => isPlain(x, depth + 1));
  return false;
}
