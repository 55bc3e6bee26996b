import { allocate, type DataType, type NDArray } from "./dtype.js";
import { BlockShapeError } from "./errors.js";
import { cStrides, copyIndexed } from "./ops/copy-indexed.js";
import { PackedStrings } from "./packed-strings.js";

/**
 * One C-order array put together from an array's blocks (`chunks` the per-axis block sizes,
 * blocks numbered in row-major block order, placed in any order). A block whose shape is not
 * its chunk's is refused with a {@link BlockShapeError}.
 *
 * @example
 * ```ts
 * const a = new BlockAssembler([[2, 2], [3]], "float32");
 * a.place(1, key1, block1);
 * a.place(0, key0, block0);
 * a.result(); // shape [4, 3]
 * ```
 */
export class BlockAssembler {
  readonly shape: number[];
  readonly #chunks: readonly (readonly number[])[];
  readonly #dtype: DataType;
  /** Per axis, the offset of each block along it. */
  readonly #starts: number[][];
  readonly #strides: number[];
  readonly #placed: Uint8Array;
  #count = 0;
  #out: NDArray["data"] | undefined;
  /** A single block, returned as it is. */
  #only: NDArray | undefined;
  /** 1-d blocks of {@link PackedStrings} (`decodeStringsPacked`), joined when all are in. */
  #packed: PackedStrings[] | undefined;

  constructor(chunks: readonly (readonly number[])[], dtype: DataType) {
    this.#chunks = chunks;
    this.#dtype = dtype;
    this.shape = chunks.map((c) => c.reduce((a, b) => a + b, 0));
    this.#strides = cStrides(this.shape);
    this.#starts = chunks.map((c) => {
      const s: number[] = [];
      let at = 0;
      for (const n of c) {
        s.push(at);
        at += n;
      }
      return s;
    });
    this.#placed = new Uint8Array(chunks.reduce((a, c) => a * c.length, 1));
  }

  /** Copy `block` (block `index` in row-major block order, task `key`) into place; a block placed twice is ignored. */
  place(index: number, key: string, block: NDArray): void {
    if (this.#placed[index] !== 0) return;
    const expected = this.#blockShape(index);
    const shape = block.shape;
    let ok = shape.length === expected.length && block.data.length === expected.reduce((a, b) => a * b, 1);
    for (let k = 0; ok && k < shape.length; k++) ok = shape[k] === expected[k];
    if (!ok) throw new BlockShapeError(key, shape, expected);
    if (this.#placed.length === 1) {
      this.#only = block;
    } else if ((block.data as unknown) instanceof PackedStrings) {
      if (this.#chunks.length !== 1) throw new RangeError(`Expected packed strings in 1-d blocks, got block ${key} of shape [${shape.join(", ")}]`);
      (this.#packed ??= [])[index] = block.data as unknown as PackedStrings;
    } else {
      this.#out ??= allocate(
        this.#dtype,
        this.shape.reduce((a, b) => a * b, 1),
      );
      let base = 0;
      let rest = index;
      for (let k = this.#chunks.length - 1; k >= 0; k--) {
        const n = this.#chunks[k]!.length;
        base += this.#starts[k]![rest % n]! * this.#strides[k]!;
        rest = Math.floor(rest / n);
      }
      if (this.#spansTrailingAxes(shape)) copyRun(block.data, this.#out, base);
      else copyIndexed(block.data, cStrides(shape), [], this.#out, this.#strides, [], shape, 0, base);
    }
    this.#placed[index] = 1;
    this.#count++;
  }

  /** The whole array; every block must be in. */
  result(): NDArray {
    if (this.#count !== this.#placed.length) throw new RangeError(`Expected all ${this.#placed.length} blocks to be placed, got ${this.#count}`);
    if (this.#packed !== undefined) {
      if (this.#out !== undefined) throw new RangeError("Expected every block as packed strings, got some as values");
      return { data: PackedStrings.concat(this.#packed) as unknown as NDArray["data"], shape: [...this.shape], dtype: this.#dtype };
    }
    const data = this.#only !== undefined ? this.#only.data : (this.#out ?? allocate(this.#dtype, 0));
    return { data, shape: [...this.shape], dtype: this.#dtype };
  }

  /** Whether a block of `shape` holds whole rows of every axis after the first: its values are one run of the result. */
  #spansTrailingAxes(shape: readonly number[]): boolean {
    for (let k = 1; k < shape.length; k++) if (shape[k] !== this.shape[k]) return false;
    return true;
  }

  #blockShape(index: number): number[] {
    const out = new globalThis.Array<number>(this.#chunks.length);
    let rest = index;
    for (let k = this.#chunks.length - 1; k >= 0; k--) {
      const c = this.#chunks[k]!;
      out[k] = c[rest % c.length]!;
      rest = Math.floor(rest / c.length);
    }
    return out;
  }
}

/** `src` copied into `dst` from position `at` on: one memcpy for typed arrays of one kind. */
function copyRun(src: NDArray["data"], dst: NDArray["data"], at: number): void {
  if (ArrayBuffer.isView(src) && ArrayBuffer.isView(dst) && Object.getPrototypeOf(src) === Object.getPrototypeOf(dst)) {
    (dst as Float64Array).set(src as Float64Array, at);
    return;
  }
  const s = src as ArrayLike<unknown>;
  const d = dst as unknown as unknown[];
  for (let i = 0; i < s.length; i++) d[at + i] = s[i];
}
