import { isAscii, isUtf8 } from "node:buffer";

/** Strings held as UTF-8 bytes: string i is `bytes[starts[i], ends[i])`. */
interface Part {
  readonly bytes: Uint8Array;
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
  /** Every byte is below 0x80: each string is its bytes read as latin1. */
  readonly ascii: boolean;
}

/**
 * Bytes of a part read as one latin1 string at a time: small enough for V8's young generation
 * (a string over 128 KiB goes to freshly mapped pages), large enough for one call per many items.
 */
const LATIN1_WINDOW = 32 * 1024;

/**
 * Strings kept as their UTF-8 bytes, checked, until they are asked for. Tens of thousands of
 * JS strings made at once (the obs names of a big AnnData store) survive the young
 * generation's collections and are copied by each of them; kept packed, they cost a buffer
 * until {@link toArray} or {@link get} makes them.
 *
 * @example
 * ```ts
 * const names = PackedStrings.of(["AAAC-1", "AAAG-1"]);
 * names.length; // 2
 * names.toArray(); // ["AAAC-1", "AAAG-1"]
 * ```
 */
export class PackedStrings {
  readonly length: number;
  readonly #parts: readonly Part[];
  /** `#firsts[k]`: the index of part k's first string. */
  readonly #firsts: Float64Array;

  private constructor(parts: readonly Part[]) {
    this.#parts = parts;
    this.#firsts = new Float64Array(parts.length + 1);
    for (let k = 0; k < parts.length; k++) this.#firsts[k + 1] = this.#firsts[k]! + parts[k]!.ends.length;
    this.length = this.#firsts[parts.length]!;
  }

  /**
   * The strings at `bytes[starts[i], ends[i])`, the bytes copied. A {@link RangeError} when a
   * range is reversed or leaves the bytes, or a string is not valid UTF-8 (as Python's decode:
   * never U+FFFD in the data).
   */
  static fromUtf8(bytes: Uint8Array, starts: Uint32Array, ends: Uint32Array): PackedStrings {
    if (starts.length !== ends.length) throw new RangeError(`Expected as many starts as ends, got ${starts.length} and ${ends.length}`);
    for (let i = 0; i < ends.length; i++) {
      if (!(starts[i]! <= ends[i]! && ends[i]! <= bytes.length)) {
        throw new RangeError(`String ${i} is bytes [${starts[i]}, ${ends[i]}), outside [0, ${bytes.length}]`);
      }
    }
    return PackedStrings.#checked(bytes.slice(), starts.slice(), ends.slice());
  }

  /**
   * The strings of a chunk in numcodecs' VLenUTF8 layout: a little-endian uint32 count, then
   * each string's uint32 byte length and UTF-8 bytes. A {@link RangeError} when the count or
   * a length runs past the chunk, or a string is not valid UTF-8.
   */
  static fromVlenUtf8(chunk: Uint8Array): PackedStrings {
    if (chunk.byteLength < 4) throw new RangeError(`Expected a VLenUTF8 chunk of at least 4 bytes, got ${chunk.byteLength}`);
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const count = view.getUint32(0, true);
    // every item takes at least its 4-byte length: a larger count is a lie, not an allocation
    if (count > (chunk.byteLength - 4) / 4) throw new RangeError(`VLenUTF8 chunk of ${chunk.byteLength} bytes cannot hold the ${count} items it counts`);
    const starts = new Uint32Array(count);
    const ends = new Uint32Array(count);
    const size = chunk.byteLength;
    let pos = 4;
    for (let i = 0; i < count; i++) {
      if (pos + 4 > size) throw new RangeError(`VLenUTF8 chunk ends inside item ${i} of ${count}`);
      const end = pos + 4 + view.getUint32(pos, true);
      if (end > size) throw new RangeError(`VLenUTF8 item ${i} runs past the chunk's end`);
      // relative to the bytes after the count, which are kept
      starts[i] = pos;
      ends[i] = end - 4;
      pos = end;
    }
    try {
      return PackedStrings.#checked(chunk.slice(4, pos), starts, ends);
    } catch (cause) {
      throw new RangeError(`VLenUTF8 item ${(cause as { item?: number }).item} is not valid UTF-8`, { cause });
    }
  }

  /** Strings at ranges known to lie in `bytes`, which are now theirs: their UTF-8 checked. */
  static #checked(bytes: Uint8Array, starts: Uint32Array, ends: Uint32Array): PackedStrings {
    // what lies between the strings (vlen-utf8's length prefixes) is ASCII too when they are short
    let ascii = isAscii(bytes);
    if (!ascii) {
      ascii = true;
      for (let i = 0; i < ends.length; i++) {
        const s = bytes.subarray(starts[i]!, ends[i]!);
        if (isAscii(s)) continue;
        ascii = false;
        if (!isUtf8(s)) throw Object.assign(new RangeError(`String ${i} is not valid UTF-8`), { item: i });
      }
    }
    return new PackedStrings([{ bytes, starts, ends, ascii }]);
  }

  /** `values` packed. */
  static of(values: readonly string[]): PackedStrings {
    const parts = values.map((s) => Buffer.from(s, "utf8"));
    const starts = new Uint32Array(values.length);
    const ends = new Uint32Array(values.length);
    let at = 0;
    parts.forEach((p, i) => {
      starts[i] = at;
      ends[i] = at += p.length;
    });
    return PackedStrings.fromUtf8(Buffer.concat(parts), starts, ends);
  }

  /** The strings of `list`, one after another (their bytes shared, not copied). */
  static concat(list: readonly PackedStrings[]): PackedStrings {
    return new PackedStrings(list.flatMap((p) => p.#parts));
  }

  /** Strings `[begin, end)` (clamped to the length), their bytes shared. */
  slice(begin = 0, end = this.length): PackedStrings {
    const b = Math.max(0, Math.min(begin, this.length));
    const e = Math.max(b, Math.min(end, this.length));
    const parts: Part[] = [];
    for (let k = 0; k < this.#parts.length; k++) {
      const first = this.#firsts[k]!;
      const from = Math.max(b, first) - first;
      const to = Math.min(e, this.#firsts[k + 1]!) - first;
      if (from >= to) continue;
      const p = this.#parts[k]!;
      parts.push({ bytes: p.bytes, starts: p.starts.subarray(from, to), ends: p.ends.subarray(from, to), ascii: p.ascii });
    }
    return new PackedStrings(parts);
  }

  /** String `i` (undefined outside `[0, length)`). */
  get(i: number): string | undefined {
    if (!(Number.isInteger(i) && i >= 0 && i < this.length)) return undefined;
    let k = 0;
    while (this.#firsts[k + 1]! <= i) k++;
    const { bytes, starts, ends } = this.#parts[k]!;
    const j = i - this.#firsts[k]!;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8", starts[j]!, ends[j]!);
  }

  /** Every string, made now. */
  toArray(): string[] {
    const out = new Array<string>(this.length);
    let i = 0;
    for (const { bytes, starts, ends, ascii } of this.#parts) {
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      let window = "";
      let windowStart = 0;
      let windowEnd = 0;
      for (let j = 0; j < ends.length; j++) {
        const start = starts[j]!;
        const end = ends[j]!;
        let plain = ascii;
        if (!plain) {
          plain = true;
          for (let b = start; b < end; b++) {
            if (bytes[b]! >= 0x80) {
              plain = false;
              break;
            }
          }
        }
        if (!plain) {
          out[i++] = buf.toString("utf8", start, end);
          continue;
        }
        // ASCII strings are slices of a latin1 window: one call into C++ per many strings
        if (end > windowEnd || start < windowStart) {
          windowStart = start;
          windowEnd = Math.min(bytes.length, Math.max(end, start + LATIN1_WINDOW));
          window = buf.toString("latin1", windowStart, windowEnd);
        }
        out[i++] = window.slice(start - windowStart, end - windowStart);
      }
    }
    return out;
  }
}
