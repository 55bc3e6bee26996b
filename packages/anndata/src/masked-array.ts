import type { TypedArray } from "./ndarray.js";

/** The kinds of nullable column of the on-disk spec. */
export type MaskedKind = "nullable-integer" | "nullable-boolean" | "nullable-string-array";

/**
 * A column with missing values (pandas' IntegerArray, BooleanArray, StringArray): `values`
 * plus a `mask` (1 = missing). Iterating gives the values with `null` where masked.
 *
 * @example
 * ```ts
 * const m = new MaskedArray("nullable-integer", new Int32Array([1, 0, 3]), new Uint8Array([0, 1, 0]));
 * [...m]; // [1, null, 3]
 * ```
 */
export class MaskedArray implements Iterable<number | bigint | boolean | string | null> {
  readonly kind: MaskedKind;
  /** The values (those under the mask are meaningless). Booleans as 0/1 bytes. */
  readonly values: TypedArray | string[];
  /** 1 where the value is missing. */
  readonly mask: Uint8Array;
  /** For nullable strings: the `na-value` attribute ("NA" or "NaN"). */
  readonly naValue: string | undefined;

  constructor(kind: MaskedKind, values: TypedArray | string[], mask?: Uint8Array, naValue?: string) {
    if (mask !== undefined && mask.length !== values.length) {
      throw new RangeError(`Expected \`mask\` of length ${values.length}, got ${mask.length}`);
    }
    this.kind = kind;
    this.values = values;
    this.mask = mask ?? new Uint8Array(values.length);
    this.naValue = naValue;
  }

  /** Build from values with `null` for missing. */
  static from(kind: MaskedKind, values: readonly (number | bigint | boolean | string | null | undefined)[]): MaskedArray {
    const mask = Uint8Array.from(values, (v) => (v === null || v === undefined ? 1 : 0));
    if (kind === "nullable-string-array")
      return new MaskedArray(
        kind,
        values.map((v) => (v == null ? "" : String(v))),
        mask,
        "NA",
      );
    if (kind === "nullable-boolean")
      return new MaskedArray(
        kind,
        Uint8Array.from(values, (v) => (v ? 1 : 0)),
        mask,
      );
    const big = values.some((v) => typeof v === "bigint");
    return new MaskedArray(
      kind,
      big
        ? BigInt64Array.from(values, (v) => BigInt(v == null ? 0 : (v as number | bigint)))
        : BigInt64Array.from(values, (v) => BigInt(v == null ? 0 : Math.trunc(Number(v)))),
      mask,
    );
  }

  get length(): number {
    return this.values.length;
  }

  /** The value at `i`, `null` where masked; integers as numbers when they fit exactly. */
  at(i: number): number | bigint | boolean | string | null {
    if (this.mask[i]) return null;
    const v = this.values[i]!;
    if (this.kind === "nullable-boolean") return v !== 0;
    if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    return v;
  }

  *[Symbol.iterator](): Iterator<number | bigint | boolean | string | null> {
    for (let i = 0; i < this.values.length; i++) yield this.at(i);
  }
}
