import { isAscii, isUtf8 } from "node:buffer";
import { SIZE_OF, type Sized } from "@zask/scheduler";

/**
 * Strings in numcodecs' VLenUTF8 layout after its count: each one's uint32 byte length, then
 * its UTF-8 bytes. String j is `bytes[start(j), ends[j])`, where start(0) = `first` and
 * start(j) = `ends[j - 1] + 4` (past the next length).
 */
interface Part {
  readonly bytes: Uint8Array;
  readonly first: number;
  readonly ends: Uint32Array;
  /** Every byte is below 0x80: each string is its bytes read as latin1. */
  readonly ascii: boolean;
}

/**
 * Bytes of a part read as one latin1 string at a time: small enough for V8's young generation
 * (a string over 128 KiB goes to freshly mapped pages), large enough for one call per many items.
 */
const LATIN1_WINDOW = 32 * 1024;

/** Options of {@link PackedStrings.fromVlenUtf8}. */
export interface FromVlenUtf8Options {
  /**
   * Copy the chunk's bytes. `false`: the strings view `chunk`, which then must not change
   * while they live (a chunk decompressed for them alone). @default true
   */
  copy?: boolean;
}

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
export class PackedStrings implements Sized {
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

  /** Bytes held: the UTF-8 bytes and string ends of every part, and the part index (for `sizeOf`). */
  [SIZE_OF](): number {
    let n = this.#firsts.byteLength;
    for (const p of this.#parts) n += p.bytes.byteLength + p.ends.byteLength;
    return n;
  }

  /**
   * The strings of a chunk in numcodecs' VLenUTF8 layout: a little-endian uint32 count, then
   * each string's uint32 byte length and UTF-8 bytes. A {@link RangeError} when the count or
   * a length runs past the chunk, or a string is not valid UTF-8 (as Python's decode: never
   * U+FFFD in the data). Nothing is allocated for a count the chunk cannot hold.
   */
  static fromVlenUtf8(chunk: Uint8Array, options: FromVlenUtf8Options = {}): PackedStrings {
    if (chunk.byteLength < 4) throw new RangeError(`Expected a VLenUTF8 chunk of at least 4 bytes, got ${chunk.byteLength}`);
    const count = readUint32(chunk, 0);
    // every item takes at least its 4-byte length: a larger count is a lie, not an allocation
    if (count > (chunk.byteLength - 4) / 4) throw new RangeError(`VLenUTF8 chunk of ${chunk.byteLength} bytes cannot hold the ${count} items it counts`);
    const ends = new Uint32Array(count);
    const stop = vlenEnds(chunk, ends);
    let bytes = chunk.subarray(4, stop);
    // the lengths between the strings are ASCII too when they are short
    let ascii = isAscii(bytes);
    if (!ascii) ascii = checkUtf8(bytes, ends);
    if (options.copy ?? true) bytes = bytes.slice();
    return new PackedStrings([{ bytes, first: 4, ends, ascii }]);
  }

  /** `values` packed. */
  static of(values: readonly string[]): PackedStrings {
    const encoded = values.map((s) => Buffer.from(s, "utf8"));
    const chunk = Buffer.alloc(4 + encoded.reduce((n, e) => n + 4 + e.length, 0));
    chunk.writeUInt32LE(values.length, 0);
    let at = 4;
    for (const e of encoded) {
      chunk.writeUInt32LE(e.length, at);
      chunk.set(e, at + 4);
      at += 4 + e.length;
    }
    return PackedStrings.fromVlenUtf8(chunk, { copy: false });
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
      const start = this.#firsts[k]!;
      const from = Math.max(b, start) - start;
      const to = Math.min(e, this.#firsts[k + 1]!) - start;
      if (from >= to) continue;
      const p = this.#parts[k]!;
      parts.push({ bytes: p.bytes, first: from === 0 ? p.first : p.ends[from - 1]! + 4, ends: p.ends.subarray(from, to), ascii: p.ascii });
    }
    return new PackedStrings(parts);
  }

  /** The same strings over a copy of their bytes. */
  copy(): PackedStrings {
    return new PackedStrings(this.#parts.map((p) => ({ ...p, bytes: p.bytes.slice() })));
  }

  /** Whether these strings' bytes lie in `buffer`. */
  views(buffer: ArrayBufferLike): boolean {
    return this.#parts.some((p) => p.bytes.buffer === buffer);
  }

  /** String `i` (undefined outside `[0, length)`). */
  get(i: number): string | undefined {
    if (!(Number.isInteger(i) && i >= 0 && i < this.length)) return undefined;
    let k = 0;
    while (this.#firsts[k + 1]! <= i) k++;
    const { bytes, first, ends } = this.#parts[k]!;
    const j = i - this.#firsts[k]!;
    const start = j === 0 ? first : ends[j - 1]! + 4;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8", start, ends[j]!);
  }

  /** Every string, made now. */
  toArray(): string[] {
    const out = new Array<string>(this.length);
    let at = 0;
    for (const part of this.#parts) at = makeStrings(part, out, at);
    return out;
  }
}

function readUint32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 2 ** 24;
}

/**
 * Fill `ends` with where each item of the vlen-utf8 `chunk` ends, counted from its byte 4;
 * returns the chunk position where the last one ends. A loop of its own, so that the optimized
 * code V8 makes for it while it runs is the whole function.
 */
function vlenEnds(chunk: Uint8Array, ends: Uint32Array): number {
  const count = ends.length;
  const size = chunk.length;
  let pos = 4;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > size) throw new RangeError(`VLenUTF8 chunk ends inside item ${i} of ${count}`);
    const end = pos + 4 + readUint32(chunk, pos);
    if (end > size) throw new RangeError(`VLenUTF8 item ${i} runs past the chunk's end`);
    ends[i] = end - 4;
    pos = end;
  }
  return pos;
}

/** Whether every string of `bytes` (laid out as a {@link Part} from 4) is ASCII; throws at the first that is not UTF-8. */
function checkUtf8(bytes: Uint8Array, ends: Uint32Array): boolean {
  let ascii = true;
  let start = 4;
  for (let i = 0; i < ends.length; i++) {
    const s = bytes.subarray(start, ends[i]!);
    start = ends[i]! + 4;
    if (isAscii(s)) continue;
    ascii = false;
    if (!isUtf8(s)) throw new RangeError(`VLenUTF8 item ${i} is not valid UTF-8`);
  }
  return ascii;
}

/** Make the strings of `part` into `out` from `at` on; returns where they end. */
function makeStrings({ bytes, first, ends, ascii }: Part, out: string[], at: number): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let window = "";
  let windowStart = 0;
  let windowEnd = 0;
  let i = at;
  let start = first;
  for (let j = 0; j < ends.length; j++) {
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
    } else {
      // ASCII strings are slices of a latin1 window: one call into C++ per many strings
      if (end > windowEnd || start < windowStart) {
        windowStart = start;
        windowEnd = Math.min(bytes.length, Math.max(end, start + LATIN1_WINDOW));
        window = buf.toString("latin1", windowStart, windowEnd);
      }
      out[i++] = window.slice(start - windowStart, end - windowStart);
    }
    start = end + 4;
  }
  return i;
}
