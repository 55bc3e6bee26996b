import { ZaskError } from "@zask/graph";
// The light entry point: worker threads load these errors without the whole scheduler.
import { registerErrorClass } from "@zask/scheduler/error-transfer";

/** Where an element lives: its path inside the store and, for remote or local stores, its URL. */
function where(path: string, url: string | undefined): string {
  return url === undefined ? `element ${path}` : `element ${path} (${url})`;
}

/**
 * A store could not be opened at all: nothing at the source, or its root metadata is unusable.
 *
 * @example
 * ```ts
 * try { await readZarr("http://127.0.0.1:8080/missing.zarr"); }
 * catch (e) { if (e instanceof StoreOpenError) console.error(e.url); }
 * ```
 */
export class StoreOpenError extends ZaskError {
  override name = "StoreOpenError" as const;
  /** The store's URL or path. */
  readonly url: string | undefined;
  constructor(message: string, url: string | undefined, options?: { cause?: unknown }) {
    super(`${message}${url === undefined ? "" : ` (${url})`}`, options);
    this.url = url;
  }
}

/**
 * The group at `path` is a zarr group but not an AnnData object (no `encoding-type: anndata`).
 *
 * @example
 * ```ts
 * await readZarr("plain-group.zarr").catch((e) => e instanceof NotAnnDataError); // true
 * ```
 */
export class NotAnnDataError extends ZaskError {
  override name = "NotAnnDataError" as const;
  readonly path: string;
  readonly url: string | undefined;
  /** The `encoding-type` found, if any. */
  readonly encodingType: string | undefined;
  constructor(path: string, url: string | undefined, encodingType: string | undefined) {
    super(
      `Expected ${where(path, url)} to be an AnnData group (encoding-type "anndata"), got ${
        encodingType === undefined ? "a group without encoding-type" : `encoding-type "${encodingType}"`
      }`,
    );
    this.path = path;
    this.url = url;
    this.encodingType = encodingType;
  }
}

/**
 * An element uses an encoding that zask does not read by default (awkward-array, rec-array, or
 * one it does not know): read it yourself with a `readDispatched` callback. Or a known encoding
 * in a version the spec does not define (`knownVersions` set), refused as anndata refuses it.
 *
 * @example
 * ```ts
 * await readZarr(store).catch((e) => e instanceof UnsupportedEncodingError && e.encodingType);
 * ```
 */
export class UnsupportedEncodingError extends ZaskError {
  override name = "UnsupportedEncodingError" as const;
  readonly path: string;
  readonly url: string | undefined;
  readonly encodingType: string;
  readonly encodingVersion: string;
  /** The versions of `encodingType` zask reads, when the type is known and only its version is not. */
  readonly knownVersions: readonly string[] | undefined;
  constructor(path: string, url: string | undefined, encodingType: string, encodingVersion: string, knownVersions?: readonly string[]) {
    super(
      knownVersions === undefined
        ? `Encoding "${encodingType}" (version ${encodingVersion || "none"}) of ${where(path, url)} is not supported; ` +
            "read it with a readDispatched callback that handles this encoding-type"
        : `Encoding "${encodingType}" version ${encodingVersion} of ${where(path, url)} is not supported ` +
            `(known versions: ${knownVersions.join(", ")}); it was written by a newer or a different anndata`,
    );
    this.knownVersions = knownVersions;
    this.path = path;
    this.url = url;
    this.encodingType = encodingType;
    this.encodingVersion = encodingVersion;
  }
}

/** What went wrong while reading an element. */
export type ElementReadFailure = "missing" | "metadata" | "chunk" | "codec" | "http" | "format";

/**
 * Reading one element failed: its metadata is missing or malformed, a chunk is truncated or
 * corrupt, a codec is unknown, or the server answered with an error. Names the element path
 * and URL; `cause` holds the underlying error.
 *
 * @example
 * ```ts
 * try { await readZarr(url); }
 * catch (e) { if (e instanceof ElementReadError) console.error(e.path, e.url, e.reason); }
 * ```
 */
export class ElementReadError extends ZaskError {
  override name = "ElementReadError" as const;
  readonly path: string;
  readonly url: string | undefined;
  readonly reason: ElementReadFailure;
  constructor(path: string, url: string | undefined, reason: ElementReadFailure, detail: string, options?: { cause?: unknown }) {
    super(`Could not read ${where(path, url)}: ${detail}`, options);
    this.path = path;
    this.url = url;
    this.reason = reason;
  }
}

/**
 * A write was refused or failed. `reason` `"exists"`: the destination already holds a store and
 * `overwrite` was not set (nothing was changed).
 *
 * @example
 * ```ts
 * await writeZarr(adata, "out.zarr").catch((e) => e instanceof ElementWriteError && e.reason === "exists");
 * ```
 */
export class ElementWriteError extends ZaskError {
  override name = "ElementWriteError" as const;
  readonly path: string;
  readonly url: string | undefined;
  readonly reason: "exists" | "value" | "store";
  constructor(path: string, url: string | undefined, reason: "exists" | "value" | "store", detail: string, options?: { cause?: unknown }) {
    super(`Could not write ${where(path, url)}: ${detail}`, options);
    this.path = path;
    this.url = url;
    this.reason = reason;
  }
}

// Rebuilt with their class when thrown on a worker thread or another process.
registerErrorClass("StoreOpenError", StoreOpenError);
registerErrorClass("NotAnnDataError", NotAnnDataError);
registerErrorClass("UnsupportedEncodingError", UnsupportedEncodingError);
registerErrorClass("ElementReadError", ElementReadError);
registerErrorClass("ElementWriteError", ElementWriteError);
