import { Categorical, isTypedArray } from "./categorical.js";
import { MaskedArray } from "./masked-array.js";
import type { TypedArray } from "./ndarray.js";

/** One column of a {@link DataFrame}. */
export type Column = TypedArray | string[] | Categorical | MaskedArray;

/** How a DataFrame is built. */
export interface DataFrameInit {
  /** Row labels. */
  index: readonly string[];
  /** Columns by name, in order; each as long as the index. */
  columns?: Record<string, Column> | ReadonlyMap<string, Column>;
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
  readonly index: readonly string[];
  readonly indexName: string | undefined;
  readonly #columns: Map<string, Column>;

  constructor(init: DataFrameInit) {
    if (!Array.isArray(init?.index)) {
      throw new TypeError(`Expected \`index\` to be an array of strings, got \`${String(init?.index)}\` (${typeof init?.index})`);
    }
    this.index = init.index;
    this.indexName = init.indexName;
    this.#columns = new Map(init.columns instanceof Map ? init.columns : Object.entries(init.columns ?? {}));
    for (const [name, col] of this.#columns) {
      if (!(isTypedArray(col) || Array.isArray(col) || col instanceof Categorical || col instanceof MaskedArray)) {
        throw new TypeError(`Expected column \`${name}\` to be a typed array, string[], Categorical or MaskedArray, got \`${Object.prototype.toString.call(col)}\``);
      }
      if (columnLength(col) !== this.index.length) {
        throw new RangeError(`Expected column \`${name}\` to have ${this.index.length} rows (the index length), got ${columnLength(col)}`);
      }
    }
  }

  /** Column names, in order. */
  get columns(): string[] {
    return [...this.#columns.keys()];
  }

  /** Number of rows. */
  get nRows(): number {
    return this.index.length;
  }

  /** Whether the frame has column `name`. */
  has(name: string): boolean {
    return this.#columns.has(name);
  }

  /**
   * Column `name`. Throws a RangeError naming the columns when there is no such column.
   * Typed columns are typed arrays (`int64` as BigInt64Array, `bool` as 0/1 Uint8Array).
   */
  get(name: string): Column {
    const c = this.#columns.get(name);
    if (c === undefined) throw new RangeError(`Expected a column among [${this.columns.join(", ")}], got \`${name}\``);
    return c;
  }

  /** A new frame with column `name` set (added at the end, or replaced in place). */
  with(name: string, column: Column): DataFrame {
    const columns = new Map(this.#columns);
    columns.set(name, column);
    return new DataFrame({ index: this.index, columns, indexName: this.indexName });
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
