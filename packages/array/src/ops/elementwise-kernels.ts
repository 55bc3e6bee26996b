// Element-wise kernels (worker ops, `@zask/array/ops#elementwise`, `#where`, `#astype`).
//
// Each (operation, dtypes, layout) gets its own loop, generated once with `new Function` and
// cached: a shared loop calling a per-op callback would go megamorphic and run several times
// slower, and writing 17 ops × 3 numeric domains × 2 layouts by hand is worse to maintain.
import { allocate, type ArrayData, type DataType, type NDArray, type TypedArray } from "../dtype.js";
import { broadcastShapes } from "../broadcast.js";
import { kindOf } from "../promote.js";

/** A kernel operand: a block, or a scalar already cast by the graph builder. */
export type KernelOperand = NDArray | number | bigint | boolean;

// "cmp": comparisons read their operands as they are, so mixed kinds compare exactly
type Domain = "num" | "int" | "big" | "bool" | "cmp";

function domainOf(dtype: DataType): Domain {
  const k = kindOf(dtype);
  if (k === "string") throw new TypeError("Expected a numeric dtype, got `string`");
  if (k === "float") return "num";
  if (k === "bool") return "bool";
  return dtype.endsWith("64") ? "big" : "int";
}

/** An expression that converts operand `v` of domain `from` into `to`'s arithmetic. */
function convert(v: string, from: Domain, to: Domain): string {
  if (to === "big") return from === "big" ? v : `BigInt(${v})`;
  if (from === "big") return to === "bool" ? `(${v} != 0n ? 1 : 0)` : `Number(${v})`;
  if (to === "bool") return from === "bool" ? v : `(${v} != 0 ? 1 : 0)`;
  return v;
}

/** The expression for `name` over converted operands `x0`, `x1`, computing in domain `d`. */
function expression(name: string, d: Domain): string {
  switch (name) {
    case "add":
      return d === "bool" ? "(x0 | x1)" : "(x0 + x1)";
    case "sub":
      return "(x0 - x1)";
    case "mul":
      if (d === "bool") return "(x0 & x1)";
      return d === "int" ? "Math.imul(x0, x1)" : "(x0 * x1)";
    case "div":
      return "(x0 / x1)";
    case "pow":
      return d === "num" ? "H.fpow(x0, x1)" : d === "big" ? "H.bpow(x0, x1)" : "H.ipow(x0, x1)";
    case "neg":
      return "(-x0)";
    case "abs":
      return d === "big" ? "(x0 < 0n ? -x0 : x0)" : d === "bool" ? "x0" : "Math.abs(x0)";
    case "sqrt":
      return "Math.sqrt(x0)";
    case "exp":
      return "Math.exp(x0)";
    case "log":
      return "Math.log(x0)";
    case "log1p":
      return "Math.log1p(x0)";
    case "gt":
      return "(x0 > x1 ? 1 : 0)";
    case "lt":
      return "(x0 < x1 ? 1 : 0)";
    case "ge":
      return "(x0 >= x1 ? 1 : 0)";
    case "le":
      return "(x0 <= x1 ? 1 : 0)";
    case "eq":
      return "(x0 == x1 ? 1 : 0)";
    case "ne":
      return "(x0 != x1 ? 1 : 0)";
    case "where":
      return "(x0 != 0 ? x1 : x2)";
    case "astype":
      return "x0";
  }
  throw new RangeError(`Expected an elementwise op name, got \`${name}\``);
}

const comparisons = new Set(["gt", "lt", "ge", "le", "eq", "ne"]);
const floatOps = new Set(["div", "sqrt", "exp", "log", "log1p"]);

/** C's pow, which differs from JS's `**` on `1 ** NaN` and `(-1) ** ±Infinity` (both 1 in C). */
function fpow(x: number, y: number): number {
  if (x === 1 || (x === -1 && (y === Infinity || y === -Infinity))) return 1;
  return x ** y;
}

function ipow(x: number, y: number): number {
  if (y < 0) throw new RangeError("Integers to negative integer powers are not allowed");
  let r = 1;
  let b = x | 0;
  let e = y;
  while (e > 0) {
    if (e & 1) r = Math.imul(r, b);
    b = Math.imul(b, b);
    e >>>= 1;
  }
  return r;
}

function bpow(x: bigint, y: bigint): bigint {
  if (y < 0n) throw new RangeError("Integers to negative integer powers are not allowed");
  let r = 1n;
  let b = BigInt.asUintN(64, x);
  let e = y;
  while (e > 0n) {
    if (e & 1n) r = BigInt.asUintN(64, r * b);
    b = BigInt.asUintN(64, b * b);
    e >>= 1n;
  }
  return r;
}

const INT64_MIN = -(1n << 63n);

/** Float → 64-bit integer as numpy does on x86: truncation; NaN and out-of-range give INT64_MIN. */
function toBig(x: number): bigint {
  return x > -(2 ** 63) && x < 2 ** 63 ? BigInt(Math.trunc(x)) : INT64_MIN;
}

/**
 * A 64-bit integer as the nearest float32 (ties to even), rounded once: through float64 first,
 * a value past 2^53 would be rounded twice and could land one float32 step off numpy's.
 */
function bigToF32(v: bigint): number {
  if (v >= -(2n ** 53n) && v <= 2n ** 53n) return Number(v);
  const a = v < 0n ? -v : v;
  const drop = a.toString(2).length - 24;
  const shift = BigInt(drop);
  let q = a >> shift;
  const rest = a - (q << shift);
  const half = 1n << (shift - 1n);
  if (rest > half || (rest === half && (q & 1n) === 1n)) q += 1n;
  const out = Number(q) * 2 ** drop;
  return v < 0n ? -out : out;
}

const helpers = { fpow, ipow, bpow, toBig, bigToF32 };

type Kernel = (out: TypedArray, ops: unknown[], shape: number[], strides: number[][], h: typeof helpers) => void;
const cache = new Map<string, Kernel>();

/** The domain the inputs of `name` are cast to, given the output dtype. */
function computeDomain(name: string, outDtype: DataType): Domain {
  if (comparisons.has(name)) return "cmp";
  if (name === "astype") return domainOf(outDtype);
  if (floatOps.has(name)) return "num";
  return domainOf(outDtype);
}

function operandSource(i: number, strided: boolean): string {
  return strided ? `a${i}[p${i} + j * t${i}]` : `a${i}[i]`;
}

function build(name: string, outDtype: DataType, inDtypes: DataType[], scalars: boolean[], strided: boolean): Kernel {
  const domain = computeDomain(name, outDtype);
  const n = inDtypes.length;
  let body = "";
  const lets: string[] = [];
  for (let i = 0; i < n; i++) {
    const from = domainOf(inDtypes[i]!);
    // where's condition is tested for truth in its own domain; comparisons take operands as they are
    const to = (name === "where" && i === 0) || domain === "cmp" ? from : domain;
    // float → 64-bit integer needs truncation before BigInt()
    let conv = from === "num" && to === "big" ? `H.toBig(v${i})` : convert(`v${i}`, from, to);
    if (from === "big" && to === "num" && outDtype === "float32") conv = `H.bigToF32(v${i})`;
    if (name === "astype" && from === "big" && to === "int") conv = `Number(BigInt.asIntN(32, v${i}))`;
    if (scalars[i]) {
      lets.push(`const s${i} = ops[${i}];`);
      body += `const x${i} = s${i};`;
    } else {
      lets.push(`const a${i} = ops[${i}];`);
      if (strided) lets.push(`const st${i} = strides[${i}]; const t${i} = st${i}[last]; let p${i} = 0;`);
      body += `const v${i} = ${operandSource(i, strided)}; const x${i} = ${conv};`;
    }
  }
  const expr = expression(name, domain);
  let src = `"use strict";\nconst nd = shape.length, last = nd - 1, inner = shape[last];\n${lets.join("\n")}\n`;
  if (!strided) {
    src += `const len = out.length;\nfor (let i = 0; i < len; i++) { ${body} out[i] = ${expr}; }\n`;
  } else {
    const adv = (k: string) => Array.from({ length: n }, (_, i) => (scalars[i] ? "" : k.replaceAll("#", String(i)))).join(" ");
    src += `const outer = inner === 0 ? 0 : out.length / inner;
const idx = new Array(nd).fill(0);
let o = 0;
for (let k = 0; k < outer; k++) {
  for (let j = 0; j < inner; j++) { ${body} out[o++] = ${expr}; }
  for (let d = last - 1; d >= 0; d--) {
    idx[d]++; ${adv("p# += st#[d];")}
    if (idx[d] < shape[d]) break;
    ${adv("p# -= st#[d] * shape[d];")} idx[d] = 0;
  }
}\n`;
  }
  return new Function("out", "ops", "shape", "strides", "H", src) as Kernel;
}

function isBlock(x: KernelOperand): x is NDArray {
  return typeof x === "object" && x !== null;
}

function stridesFor(shape: readonly number[], outShape: readonly number[]): number[] {
  const nd = outShape.length;
  const st = new Array<number>(nd).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const axis = nd - shape.length + i;
    st[axis] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  return st;
}

function run(name: string, outDtype: DataType, operands: readonly KernelOperand[], scalarDtypes: readonly DataType[]): NDArray {
  const blocks = operands.filter(isBlock);
  const outShape = broadcastShapes(...blocks.map((b) => b.shape));
  const size = outShape.reduce((a, b) => a * b, 1);
  const out = allocate(outDtype, size) as TypedArray;
  const scalars = operands.map((o) => !isBlock(o));
  const inDtypes = operands.map((o, i) => (isBlock(o) ? o.dtype : scalarDtypes[i]!));
  const values = operands.map((o) => (isBlock(o) ? o.data : typeof o === "boolean" ? (o ? 1 : 0) : o));
  const strided = blocks.some((b) => b.shape.length !== outShape.length || b.shape.some((n, i) => n !== outShape[i]));
  const key = `${name}|${outDtype}|${inDtypes.join(",")}|${scalars.map(Number).join("")}|${strided ? "s" : "f"}`;
  let kernel = cache.get(key);
  if (kernel === undefined) {
    kernel = build(name, outDtype, inDtypes, scalars, strided);
    cache.set(key, kernel);
  }
  if (size > 0) {
    const shape = outShape.length === 0 ? [1] : outShape;
    const strides = operands.map((o) => (isBlock(o) ? stridesFor(o.shape, shape) : []));
    kernel(out, values, shape, strides, helpers);
  }
  return { data: out as ArrayData, shape: outShape, dtype: outDtype };
}

/** dtype a scalar operand is read as inside a kernel (its value was cast by the graph builder). */
function scalarDtype(x: KernelOperand): DataType {
  if (typeof x === "bigint") return "int64";
  if (typeof x === "boolean") return "bool";
  return "float64";
}

/**
 * Apply elementwise op `name` to blocks (or scalars), broadcasting the blocks, writing an
 * array of `outDtype`. Inputs are cast to `outDtype`'s arithmetic (floats, 32-bit
 * integers, 64-bit integers as bigints, booleans), except for comparisons, which compare
 * exactly; integer results wrap around as numpy's do.
 *
 * @example
 * ```ts
 * elementwise("add", "float64", { data: new Float64Array([1, 2]), shape: [2], dtype: "float64" }, 1);
 * // { data: Float64Array [2, 3], shape: [2], dtype: "float64" }
 * ```
 */
export function elementwise(name: string, outDtype: DataType, ...operands: KernelOperand[]): NDArray {
  return run(name, outDtype, operands, operands.map(scalarDtype));
}

/**
 * `cond ? x : y` elementwise with broadcasting; `x` and `y` are cast to `outDtype`.
 *
 * @example
 * ```ts
 * where("float64", { data: new Uint8Array([1, 0]), shape: [2], dtype: "bool" }, 1, 2); // [1, 2]
 * ```
 */
export function where(outDtype: DataType, cond: KernelOperand, x: KernelOperand, y: KernelOperand): NDArray {
  return run("where", outDtype, [cond, x, y], [cond, x, y].map(scalarDtype));
}

/**
 * Cast a block to `dtype` as numpy's `astype` does (floats truncate toward zero into
 * integers, integers wrap, anything non-zero is `true`).
 *
 * @example
 * ```ts
 * astype({ data: new Float64Array([1.7, -1.7]), shape: [2], dtype: "float64" }, "int32"); // [1, -1]
 * ```
 */
export function astype(x: NDArray, dtype: DataType): NDArray {
  if (x.dtype === dtype) return x;
  return run("astype", dtype, [x], [x.dtype]);
}
