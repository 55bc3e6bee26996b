import { constants } from "node:buffer";
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from "node:zlib";
import { HttpTransportError } from "../errors.js";

/**
 * Undo the Content-Encoding of a whole body (`gzip`, `x-gzip`, `deflate`, `br`, or a list of
 * them applied in order), decoding at most `maxBytes` so that a small compressed body cannot
 * grow without bound. zask asks for `identity`; this is for servers and proxies that compress
 * anyway. Throws a {@link HttpTransportError} naming the URL: `ZASK_HTTP_ENCODING` for another
 * encoding or a body that does not decode, `ZASK_HTTP_TOO_LARGE` past `maxBytes`.
 */
export function decodeContentEncoding(body: Uint8Array, encoding: string, url: string, maxBytes: number): Uint8Array {
  const codings = encoding
    .split(",")
    .map((c) => c.trim())
    .filter((c) => c !== "" && c !== "identity");
  let out = body;
  // the last coding listed was applied last
  for (const coding of codings.reverse()) out = decodeOne(out, coding, url, maxBytes);
  if (out === body) return body;
  // a view that spans its own buffer, as every body the transport returns
  if (out.byteOffset === 0 && out.byteLength === out.buffer.byteLength) return out;
  const own = new Uint8Array(out.byteLength);
  own.set(out);
  return own;
}

function decodeOne(body: Uint8Array, coding: string, url: string, maxBytes: number): Uint8Array {
  const options = { maxOutputLength: Math.max(1, Math.min(maxBytes, constants.MAX_LENGTH)) };
  try {
    switch (coding) {
      case "gzip":
      case "x-gzip":
        return gunzipSync(body, options);
      case "deflate":
        // RFC 9110 means zlib-wrapped deflate; some servers send it raw
        try {
          return inflateSync(body, options);
        } catch (e) {
          if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw e;
          return inflateRawSync(body, options);
        }
      case "br":
        return brotliDecompressSync(body, options);
    }
  } catch (cause) {
    if ((cause as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new HttpTransportError(
        "ZASK_HTTP_TOO_LARGE",
        url,
        `The body from ${url} decodes (${coding}) to more than the limit of ${maxBytes} bytes for this request`,
        { limit: maxBytes, cause },
      );
    }
    throw new HttpTransportError(
      "ZASK_HTTP_ENCODING",
      url,
      `The body from ${url} does not decode as its Content-Encoding ${JSON.stringify(coding)} says (${(cause as Error).message})`,
      { cause },
    );
  }
  throw new HttpTransportError(
    "ZASK_HTTP_ENCODING",
    url,
    `Unsupported Content-Encoding ${JSON.stringify(coding)} from ${url} (zask decodes gzip, deflate and br)`,
  );
}
