import { PackedStrings } from "@zask/array";
import { Categorical, isTypedArray } from "./categorical.js";
import { MaskedArray } from "./masked-array.js";
import { dtypeOf, type DataType, type NDArray, type TypedArray } from "./ndarray.js";

/** One column of a {@link DataFrame}. */
export type Column = TypedArray | string[] | Categorical | MaskedArray;

/** How a DataFrame is built. */
export interface DataFrameInit {
  /**
   * Row labels: strings, or {@link PackedStrings} (what `readZarr` gives), made into strings
   * when `index` is first read.
   */
  index: readonly string[] | PackedStrings;
  /**
   * Columns by name, in order; each as long as the index. A 1-d `{data, shape, dtype}` keeps
   * its dtype (so a `bool` column stays boolean on disk, where a bare Uint8Array is `uint8`).
   */
  columns?: Record<string, Column | NDArray> | ReadonlyMap<string, Column | NDArray>;
  /** The index's name (written as the index column's key). @default "_index" on disk */
  indexName?: string;
}

function columnLength(c: Column): number {
  return c.length;
}

/**
 * An eager table of named columns over a string index (obs, var): each column a typed array,
 * a `string[]`, a {@link Categorical} or a {@link MaskedArray}.
 *
 * @example
 * ```ts
 * const obs = new DataFrame({ index: ["c1", "c2"], columns: { n_genes: new Int32Array([10, 20]) } });
 * obs.get("n_genes"); // Int32Array [10, 20]
 * ```
 */
export class DataFrame {
  readonly indexName: string | undefined;
  #index: readonly string[] | PackedStrings;
  readonly #columns: Map<string, Column>;
  readonly #dtypes = new Map<string, DataType>();

  constructor(init: DataFrameInit) {
    if (!(Array.isArray(init?.index) || init?.index instanceof PackedStrings)) {
      throw new TypeError(`Expected \`index\` to be an array of strings, got \`${String(init?.index)}\` (${typeof init?.index})`);
    }
    this.#index = init.index;
    this.indexName = init.indexName;
    this.#columns = new Map();
    const given = init.columns instanceof Map ? [...init.columns] : Object.entries(init.columns ?? {});
    for (const [name, c] of given as [string, Column | NDArray][]) {
      if (typeof c === "object" && c !== null && "shape" in c && "data" in c && !(c instanceof Categorical) && !(c instanceof MaskedArray)) {
        if (c.shape.length !== 1) throw new RangeError(`Expected column \`${name}\` to be 1-d, got shape [${c.shape.join(", ")}]`);
        this.#columns.set(name, c.data);
        this.#dtypes.set(name, c.dtype);
      } else {
        this.#columns.set(name, c as Column);
      }
    }
    for (const [name, col] of this.#columns) {
      if (!(isTypedArray(col) || Array.isArray(col) || col instanceof Categorical || col instanceof MaskedArray)) {
        throw new TypeError(
          `Expected column \`${name}\` to be a typed array, string[], Categorical or MaskedArray, got \`${Object.prototype.toString.call(col)}\``,
        );
      }
      if (columnLength(col) !== this.nRows) {
        throw new RangeError(`Expected column \`${name}\` to have ${this.nRows} rows (the index length), got ${columnLength(col)}`);
      }
    }
  }

  /** Column names, in order. */
  get columns(): string[] {
    return [...this.#columns.keys()];
  }

  /** Row labels (an index read packed is made into strings now, once). */
  get index(): readonly string[] {
    const i = this.#index;
    if (i instanceof PackedStrings) return (this.#index = i.toArray());
    return i;
  }

  /** Number of rows (without making a packed index's strings). */
  get nRows(): number {
    return this.#index.length;
  }

  /** Whether the frame has column `name`. */
  has(name: string): boolean {
    return this.#columns.has(name);
  }

  /**
   * Column `name`. Throws a RangeError naming the columns when there is no such column.
   * Typed columns are typed arrays (`int64` as BigInt64Array, `bool` as 0/1 Uint8Array).
   * Name the kind you expect to get it typed: `var.get<BigInt64Array>("n_cells")` (unchecked).
   */
  get<C extends Column = Column>(name: string): C {
    const c = this.#columns.get(name);
    if (c === undefined) throw new RangeError(`Expected a column among [${this.columns.join(", ")}], got \`${name}\``);
    return c as C;
  }

  /**
   * The dtype of a plain column (`bool`, `int64`, `string`, …); `undefined` for categorical
   * and nullable columns.
   */
  dtype(name: string): DataType | undefined {
    const c = this.get(name);
    if (c instanceof Categorical || c instanceof MaskedArray) return undefined;
    return this.#dtypes.get(name) ?? dtypeOf(c);
  }

  /** A new frame with column `name` set (added at the end, or replaced in place). */
  with(name: string, column: Column | NDArray): DataFrame {
    const columns = new Map<string, Column | NDArray>();
    for (const [k, v] of this.#columns) {
      const dt = this.#dtypes.get(k);
      columns.set(k, dt === undefined ? v : { data: v as TypedArray, shape: [v.length], dtype: dt });
    }
    columns.set(name, column);
    return new DataFrame({ index: this.#index, columns, indexName: this.indexName });
  }

  /** `[name, column]` pairs in order. */
  entries(): IterableIterator<[string, Column]> {
    return this.#columns.entries();
  }

  toString(): string {
    return `DataFrame with ${this.nRows} rows × ${this.#columns.size} columns: ${this.columns.map((c) => `'${c}'`).join(", ")}`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
