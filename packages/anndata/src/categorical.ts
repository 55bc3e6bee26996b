import { inspect } from "node:util";
import { typedArrayFrom, type DataType, type TypedArray } from "./ndarray.js";

/** Integer codes of a {@link Categorical}. */
export type CategoricalCodes = Int8Array | Int16Array | Int32Array | BigInt64Array;

/**
 * The dtype categories are stored as when none is given: strings as strings, booleans as
 * bool, bigints as int64 (uint64 past its range), numbers as float64; `undefined` when the
 * categories mix kinds, which no store can hold.
 */
export function categoriesDtypeOf(categories: readonly unknown[]): DataType | undefined {
  const kinds = new Set(categories.map((c) => typeof c));
  if (kinds.size === 0 || (kinds.size === 1 && kinds.has("string"))) return "string";
  if (kinds.size !== 1) return undefined;
  if (kinds.has("boolean")) return "bool";
  if (kinds.has("number")) return "float64";
  if (!kinds.has("bigint")) return undefined;
  return (categories as bigint[]).some((c) => c > 0x7fffffffffffffffn) ? "uint64" : "int64";
}

/**
 * A categorical column (pandas' Categorical): integer `codes` into `categories`; code −1 is
 * missing. Iterating gives the values (`null` where missing). `categoriesDtype` is the dtype the
 * categories are stored as: the one read from a store, or {@link categoriesDtypeOf} theirs.
 *
 * @example
 * ```ts
 * const c = new Categorical(new Int8Array([0, 1, -1]), ["B cells", "T cells"]);
 * [...c]; // ["B cells", "T cells", null]
 * ```
 */
export class Categorical<T extends string | number | bigint | boolean = string | number | bigint | boolean> implements Iterable<T | null> {
  readonly codes: CategoricalCodes;
  readonly categories: readonly T[];
  readonly ordered: boolean;
  /** The dtype the categories are stored as. */
  readonly categoriesDtype: DataType;

  constructor(codes: CategoricalCodes, categories: readonly T[], ordered = false, categoriesDtype?: DataType) {
    this.codes = codes;
    this.categories = categories;
    this.ordered = ordered;
    const inferred = categoriesDtypeOf(categories);
    if (inferred === undefined)
      throw new TypeError(
        `Expected categories of one kind (strings, numbers, bigints or booleans), got ${[...new Set(categories.map((c) => typeof c))].join(" and ")}`,
      );
    const given = categoriesDtype ?? inferred;
    if (categories.length > 0 && !holds(given, inferred)) throw new TypeError(`Expected categories that dtype ${given} holds, got ${inferred} ones`);
    if (given !== "string" && given !== "bool") {
      // a category the dtype would change (wrap, round) is refused rather than stored changed
      const stored = typedArrayFrom(given, categories as readonly (number | bigint)[]);
      const i = categories.findIndex((c, k) => stored[k] !== c);
      if (i >= 0) throw new RangeError(`Expected categories that ${given} holds exactly, got \`${String(categories[i])}\` at ${i}`);
    }
    this.categoriesDtype = given;
    for (const c of codes) {
      const n = Number(c);
      if (n < -1 || n >= categories.length) {
        throw new RangeError(`Expected categorical codes in [-1, ${categories.length}), got \`${n}\``);
      }
    }
  }

  /** Build from values; categories are the distinct non-null values in order of first appearance. */
  static fromValues<T extends string | number | bigint | boolean>(
    values: Iterable<T | null | undefined>,
    options: { categories?: readonly T[]; ordered?: boolean } = {},
  ): Categorical<T> {
    const vals = [...values];
    const categories = options.categories ? [...options.categories] : [...new Set(vals.filter((v): v is T => v !== null && v !== undefined))];
    const index = new Map(categories.map((c, i) => [c, i]));
    const Codes = categories.length < 128 ? Int8Array : categories.length < 32768 ? Int16Array : Int32Array;
    const codes = new Codes(vals.length);
    vals.forEach((v, i) => {
      const code = v === null || v === undefined ? -1 : index.get(v);
      if (code === undefined) throw new RangeError(`Expected a value among the categories, got \`${String(v)}\``);
      codes[i] = code;
    });
    return new Categorical<T>(codes, categories, options.ordered ?? false);
  }

  get length(): number {
    return this.codes.length;
  }

  /** The value at row `i`, or `null` where the code is −1. */
  at(i: number): T | null {
    const code = Number(this.codes[i]);
    return code < 0 ? null : this.categories[code]!;
  }

  *[Symbol.iterator](): Iterator<T | null> {
    for (let i = 0; i < this.codes.length; i++) yield this.at(i);
  }

  /**
   * pandas' repr: the values (the first and last 5 past 10 rows, `NaN` where missing), then the
   * categories, `<` between them when ordered.
   *
   * @example
   * ```ts
   * String(new Categorical(new Int8Array([0, 1, -1]), ["B cells", "T cells"]));
   * // ['B cells', 'T cells', NaN]
   * // Categories (2, object): ['B cells', 'T cells']
   * ```
   */
  toString(): string {
    const show = (v: T | null): string => (v === null ? "NaN" : typeof v === "string" ? `'${v}'` : String(v));
    const n = this.length;
    const rows = n > 10 ? [0, 1, 2, 3, 4, -1, n - 5, n - 4, n - 3, n - 2, n - 1] : Array.from({ length: n }, (_, i) => i);
    const lines = [`[${rows.map((i) => (i < 0 ? "..." : show(this.at(i)))).join(", ")}]`];
    if (n > 10) lines.push(`Length: ${n}`);
    const cats = this.categories;
    const shown = cats.length > 10 ? [...cats.slice(0, 5).map(show), "...", ...cats.slice(-5).map(show)] : cats.map(show);
    lines.push(`Categories (${cats.length}, ${categoriesKind(cats)}): [${shown.join(this.ordered ? " < " : ", ")}]`);
    return lines.join("\n");
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** The numpy kind pandas names for categories. */
function categoriesKind(cats: readonly unknown[]): string {
  if (cats.length === 0 || typeof cats[0] === "string") return "object";
  if (typeof cats[0] === "bigint") return "int64";
  if (typeof cats[0] === "boolean") return "bool";
  return cats.every((c) => Number.isInteger(c)) ? "int64" : "float64";
}

/** Whether a value is a typed array (not a DataView). */
export function isTypedArray(x: unknown): x is TypedArray {
  return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

/** Whether categories whose own dtype is `own` ({@link categoriesDtypeOf}) can be stored as `dtype`. */
function holds(dtype: DataType, own: DataType): boolean {
  if (own === "string" || own === "bool") return dtype === own;
  if (own === "int64" || own === "uint64") return dtype === "int64" || dtype === "uint64";
  return dtype !== "string" && dtype !== "bool" && dtype !== "int64" && dtype !== "uint64";
}
