import { dtypeOf, typedArrayOf, type TypedArray } from "./ndarray.js";
import { indicesProblem, indptrProblem, type DataType } from "@zask/array";

/** The two compressed sparse formats of the spec. */
export type SparseFormat = "csr" | "csc";

/**
 * An eager compressed sparse matrix (scipy's csr_matrix / csc_matrix): for CSR, row `i`'s
 * nonzeros are `data[indptr[i]:indptr[i+1]]` at columns `indices[...]`; CSC swaps rows and columns.
 * The constructor checks the structure (indptr from 0 to nnz, never decreasing; indices within
 * the minor axis) and throws a RangeError otherwise. `dtype` is the values' dtype: the data
 * array's by default, given where it says more (`bool` values are held in a `Uint8Array`).
 *
 * @example
 * ```ts
 * const m = new SparseMatrix("csr", [2, 3], new Int32Array([0, 1, 2]), new Int32Array([2, 0]), new Float32Array([5, 7]));
 * m.toDense(); // Float32Array [0, 0, 5, 7, 0, 0]
 * ```
 */
export class SparseMatrix {
  readonly format: SparseFormat;
  readonly shape: readonly [number, number];
  readonly indptr: TypedArray;
  readonly indices: TypedArray;
  readonly data: TypedArray;
  /** The dtype of `data`'s values. */
  readonly dtype: Exclude<DataType, "string">;

  constructor(format: SparseFormat, shape: readonly [number, number], indptr: TypedArray, indices: TypedArray, data: TypedArray, dtype?: DataType) {
    if (format !== "csr" && format !== "csc") throw new RangeError(`Expected \`format\` "csr" or "csc", got \`${String(format)}\``);
    const held = dtypeOf(data) as Exclude<DataType, "string">;
    const given = dtype ?? held;
    if (given === "string" || !(data instanceof typedArrayOf(given))) {
      throw new RangeError(`Expected \`data\` of dtype ${String(given)}, got a ${data.constructor.name}`);
    }
    const major = format === "csr" ? shape[0] : shape[1];
    if (indptr.length !== major + 1) throw new RangeError(`Expected \`indptr\` of length ${major + 1}, got ${indptr.length}`);
    if (indices.length !== data.length) throw new RangeError(`Expected \`indices\` and \`data\` of equal length, got ${indices.length} and ${data.length}`);
    const problem = indptrProblem(indptr, major, data.length) ?? indicesProblem(indices, format === "csr" ? shape[1] : shape[0]);
    if (problem !== undefined) throw new RangeError(`Expected a well-formed ${format} matrix: ${problem}`);
    this.format = format;
    this.shape = [shape[0], shape[1]];
    this.indptr = indptr;
    this.indices = indices;
    this.data = data;
    this.dtype = given;
  }

  /** Number of stored values. */
  get nnz(): number {
    return this.data.length;
  }

  /** Build a CSR or CSC matrix from a dense C-order array (of `dtype`, by default its typed array's). */
  static fromDense(format: SparseFormat, data: TypedArray, shape: readonly [number, number], dtype?: DataType): SparseMatrix {
    const [rows, cols] = shape;
    const [major, minor] = format === "csr" ? [rows, cols] : [cols, rows];
    const indptr = new Int32Array(major + 1);
    const idx: number[] = [];
    const vals: (number | bigint)[] = [];
    for (let a = 0; a < major; a++) {
      for (let b = 0; b < minor; b++) {
        const v = format === "csr" ? data[a * cols + b]! : data[b * cols + a]!;
        if (v !== 0 && v !== 0n) {
          idx.push(b);
          vals.push(v);
        }
      }
      indptr[a + 1] = idx.length;
    }
    const Ctor = data.constructor as { new (n: number): TypedArray };
    const out = new Ctor(vals.length);
    vals.forEach((v, i) => (out[i] = v as never));
    return new SparseMatrix(format, shape, indptr, Int32Array.from(idx), out, dtype);
  }

  /** The dense C-order values. */
  toDense(): TypedArray {
    const [rows, cols] = this.shape;
    const Ctor = this.data.constructor as { new (n: number): TypedArray };
    const out = new Ctor(rows * cols);
    const major = this.format === "csr" ? rows : cols;
    for (let a = 0; a < major; a++) {
      for (let p = Number(this.indptr[a]); p < Number(this.indptr[a + 1]); p++) {
        const b = Number(this.indices[p]);
        out[this.format === "csr" ? a * cols + b : b * cols + a] = this.data[p] as never;
      }
    }
    return out;
  }

  toString(): string {
    return `<${this.shape[0]}x${this.shape[1]} sparse matrix of ${this.dtype} with ${this.nnz} stored elements in ${this.format === "csr" ? "Compressed Sparse Row" : "Compressed Sparse Column"} format>`;
  }
}
