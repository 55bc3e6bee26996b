/** An inclusive byte range of a file, as in `Content-Range: bytes start-end/size`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header against a file of `size` bytes (RFC 9110 §14.1.2).
 *
 * Returns the one range to serve, `"unsatisfiable"` (answer 416), or `undefined` when the
 * header should be ignored and the whole file served: no header, another unit, a malformed
 * value, or several ranges (a server may ignore a multi-range request, and zarr readers
 * never send one).
 *
 * @example
 * ```ts
 * parseRange("bytes=0-99", 1000);   // { start: 0, end: 99 }
 * parseRange("bytes=-100", 1000);   // { start: 900, end: 999 }
 * parseRange("bytes=1000-", 1000);  // "unsatisfiable"
 * ```
 */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (match === null) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    // Suffix range: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Number(last);
  return { start, end: Math.min(end, size - 1) };
}
