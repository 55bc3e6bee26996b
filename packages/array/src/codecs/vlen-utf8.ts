import * as zarr from "zarrita";
import { PackedStrings } from "../packed-strings.js";

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

/**
 * Decode numcodecs' VLenUTF8 layout (see {@link encodeVlenUtf8}) into strings. zarrita's own
 * decoder copies every string's bytes into a fresh ArrayBuffer and calls TextDecoder on each
 * (a call into C++ per string, most of an open's CPU); {@link PackedStrings} reads ASCII
 * strings (nearly all obs/var names) as slices of a latin1 window.
 *
 * @example
 * ```ts
 * decodeVlenUtf8(encodeVlenUtf8(["a", "é"])); // ["a", "é"]
 * ```
 */
export function decodeVlenUtf8(bytes: Uint8Array): string[] {
  return PackedStrings.fromVlenUtf8(bytes, { copy: false }).toArray();
}

/** zarrita's codec interface for vlen-utf8 (decode only, as zarrita's): strings ({@link decodeVlenUtf8}), or with `pack` {@link PackedStrings}. */
function vlenCodec(pack: boolean) {
  return class VlenUtf8 {
    readonly kind = "array_to_bytes";
    readonly #shape: number[];
    readonly #stride: number[];
    constructor(shape: number[]) {
      this.#shape = shape;
      this.#stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    }
    static fromConfig(_config: unknown, meta: { shape: number[] }): VlenUtf8 {
      return new VlenUtf8(meta.shape);
    }
    encode(): never {
      throw new Error("vlen-utf8 chunks are encoded with encodeVlenUtf8 by the writers, not through zarrita");
    }
    decode(bytes: Uint8Array): { data: string[] | PackedStrings; shape: number[]; stride: number[] } {
      return { data: pack ? PackedStrings.fromVlenUtf8(bytes, { copy: false }) : decodeVlenUtf8(bytes), shape: this.#shape, stride: this.#stride };
    }
  };
}

let registered = false;

/**
 * Make zarrita decode vlen-utf8 chunks with {@link decodeVlenUtf8} (once per process; zarrita's
 * codec registry is global). Same values as zarrita's decoder, several times faster. Also
 * registers `zask.packed-vlen-utf8`, the same layout read into {@link PackedStrings}, which
 * `decodeStringsPacked` swaps in for vlen-utf8.
 *
 * @example
 * ```ts
 * useFastVlenUtf8(); // then zarr.get on a string array decodes with decodeVlenUtf8
 * ```
 */
export function useFastVlenUtf8(): void {
  if (registered) return;
  registered = true;
  const fast = vlenCodec(false);
  const packed = vlenCodec(true);
  const load = () => Promise.resolve(fast as never);
  const loadPacked = () => Promise.resolve(packed as never);
  zarr.registry.set("vlen-utf8", load);
  zarr.registry.set("numcodecs.vlen-utf8", load);
  zarr.registry.set("zask.packed-vlen-utf8", loadPacked);
  zarr.registry.set("numcodecs.zask.packed-vlen-utf8", loadPacked);
}
