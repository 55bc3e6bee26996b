import * as zarr from "zarrita";
import { ElementReadError, type ElementReadFailure } from "./errors.js";
import { ZaskError } from "@zask/graph";
import { HttpError } from "@zask/scheduler";

/**
 * Turn whatever a store, zarrita or a codec threw into an {@link ElementReadError} naming the
 * element; zask's own errors pass through unchanged.
 */
export function toReadError(cause: unknown, elemPath: string, url: string | undefined, what = "element"): ElementReadError {
  if (cause instanceof ElementReadError) return cause;
  // the HTTP layer's message says what failed (status, DNS, refused, TLS, timeout, size) and where
  if (cause instanceof HttpError) return new ElementReadError(elemPath, url, "http", cause.message, { cause });
  if (cause instanceof ZaskError) throw cause;
  if (cause instanceof Error && cause.name === "AbortError") throw cause;
  let reason: ElementReadFailure = "chunk";
  let message = cause instanceof Error ? cause.message : String(cause);
  // zarrita's pipeline error says only which codec failed; what the codec found is its cause.
  const inner = cause instanceof Error ? (cause as { cause?: unknown }).cause : undefined;
  if (inner instanceof Error && !message.includes(inner.message)) message = `${message}: ${inner.message}`;
  if (cause instanceof zarr.NotFoundError) reason = "missing";
  else if (cause instanceof SyntaxError) reason = "metadata";
  else if (cause instanceof zarr.UnknownCodecError) reason = "codec";
  else if (cause instanceof zarr.InvalidMetadataError) reason = "metadata";
  else if (/Unexpected response status|fetch failed/i.test(message) || (cause instanceof Error && cause.name === "TimeoutError")) reason = "http";
  else if (cause instanceof zarr.CodecPipelineError) reason = "chunk";
  const detail =
    reason === "missing"
      ? `${what} not found`
      : reason === "metadata"
        ? `malformed ${what} metadata (${message})`
        : reason === "codec"
          ? `unknown codec (${message})`
          : reason === "http"
            ? `the server answered with an error (${message})`
            : `a chunk is truncated or corrupt (${message})`;
  return new ElementReadError(elemPath, url, reason, detail, { cause });
}

/**
 * zarrita reports a node whose metadata is malformed JSON, or names what it cannot read (a
 * float16 dtype), as "not found" (it tries the other zarr format next). Look at the raw
 * documents: if one exists but does not parse, or its array does not open, throw a metadata
 * error naming the node and why, instead of treating it as absent.
 */
export async function diagnoseMissing(store: zarr.Readable, nodePath: string, url: string | undefined): Promise<void> {
  const prefix = nodePath === "/" ? "" : nodePath;
  for (const doc of [".zarray", ".zgroup", ".zattrs", "zarr.json"]) {
    const bytes = await (store as zarr.AsyncReadable).get(`${prefix}/${doc}` as zarr.AbsolutePath);
    if (bytes === undefined) continue;
    try {
      JSON.parse(new TextDecoder().decode(bytes));
    } catch (cause) {
      throw new ElementReadError(nodePath, url, "metadata", `malformed ${doc} (${(cause as Error).message})`, { cause });
    }
    if (doc !== ".zarray" && doc !== "zarr.json") continue;
    // the array is there: opening it by its own format tells what zarrita refused (a float16 dtype)
    const loc = zarr.root(store).resolve(nodePath);
    try {
      await (doc === ".zarray" ? zarr.open.v2(loc, { kind: "array" }) : zarr.open.v3(loc));
    } catch (cause) {
      if (!(cause instanceof zarr.NotFoundError)) throw toReadError(cause, nodePath, url);
    }
  }
}
