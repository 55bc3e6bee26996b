/**
 * Encode strings with numcodecs' VLenUTF8 layout, which zarrita can decode but not encode:
 * a little-endian uint32 count, then for each string its uint32 byte length and its UTF-8 bytes.
 *
 * @example
 * ```ts
 * encodeVlenUtf8(["a", "é"]); // Uint8Array [2,0,0,0, 1,0,0,0, 97, 2,0,0,0, 195,169]
 * ```
 */
export function encodeVlenUtf8(values: readonly string[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts = values.map((s) => encoder.encode(s));
  const total = 4 + parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, values.length, true);
  let pos = 4;
  for (const p of parts) {
    view.setUint32(pos, p.length, true);
    out.set(p, pos + 4);
    pos += 4 + p.length;
  }
  return out;
}
