// A randomized differential test of zask's zarr WRITERS (fixed seeds): random dense arrays (1-d to
// 3-d, odd and zero-length axes, every numeric dtype and bool, extremes, NaN with payloads, -0.0),
// built lazily (fromTypedArray, then a rechunk/slice/transpose/elementwise), written by `toZarr`
// as zarr v2 (random chunks and compressors), zarr v3 and sharded zarr v3 (random shard shapes,
// ones that do not divide the array, "auto"), then re-read from those stores and written again
// (a sharded source through its read sessions), some over an earlier array of another format.
// Each written array is read back by zask (fromZarr), by zarrita, and (with /usr/bin/python3) by
// zarr-python 2.13 (v2) or writer_differential.py's own numcodecs/numpy reader (v3), and compared
// bit for bit with the source (NaN-aware, the sign of zero kept); its metadata, its files and
// every shard's index (offsets, lengths, crc32c) are checked as the other readers need them.
// Then random AnnData writes: sparse CSR/CSC X (eager and lazy) and dense X through
// writeDispatched with random chunks, compressors and (v3) shards, read back by zask and anndata.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { FileSystemStore } from "@zarrita/storage";
import { AnnData, type Compressor, readZarr, SparseMatrix, writeDispatched } from "@zask/anndata";
import { type Array as LazyArray, type CompressorConfig, type DataType, fromTypedArray, fromZarr, type ToZarrOptions, slice, type Selector } from "@zask/array";
import * as zarr from "zarrita";
import { tempDir } from "../anndata/fixtures.ts";
import { PYTHON, pythonJson, skipPython } from "../anndata/python.ts";
import { Rng } from "./helpers.ts";

/** Every store of the file, kept until Python has read them (the last describe). */
const { dir: ROOT, cleanup } = await tempDir();
after(() => cleanup());

const SCRIPT = fileURLToPath(new URL("./writer_differential.py", import.meta.url));
const SEEDS = [7, 1234, 90001];
const CASES_PER_SEED = 14;

type Num = Exclude<DataType, "string">;
const DTYPES: Num[] = ["float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"];
type Typed = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;
const CTOR: Record<Num, { new (n: number): Typed; BYTES_PER_ELEMENT: number }> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};
const V2_DTYPE: Record<Num, string> = {
  bool: "|b1",
  int8: "|i1",
  int16: "<i2",
  int32: "<i4",
  int64: "<i8",
  uint8: "|u1",
  uint16: "<u2",
  uint32: "<u4",
  uint64: "<u8",
  float32: "<f4",
  float64: "<f8",
};
const isFloat = (d: Num) => d === "float32" || d === "float64";

/** A dense value in C order: what the written array must hold. */
interface Dense {
  data: Typed;
  shape: number[];
  dtype: Num;
}

// ---------------------------------------------------------------------------------------------
// Random arrays

function randomShape(r: Rng): number[] {
  const ndim = r.int(1, 3);
  const cap = [0, 60, 17, 9][ndim]!;
  for (;;) {
    const shape = Array.from({ length: ndim }, () => (r.chance(0.06) ? 0 : r.chance(0.15) ? 1 : r.int(2, cap)));
    if (shape.reduce((a, b) => a * b, 1) <= 1500) return shape;
  }
}

/** Extremes (and NaNs with other payloads, written as bits) per dtype. */
function specials(dtype: Num): (number | bigint | { bits: bigint })[] {
  switch (dtype) {
    case "float32":
      return [
        0,
        -0,
        NaN,
        Infinity,
        -Infinity,
        3.4028234663852886e38,
        -3.4028234663852886e38,
        1.401298464324817e-45,
        -1.1754943508222875e-38,
        1,
        -1,
        { bits: 0x7f800001n },
        { bits: 0xffc00000n },
        { bits: 0x7fffffffn },
      ];
    case "float64":
      return [
        0,
        -0,
        NaN,
        Infinity,
        -Infinity,
        Number.MAX_VALUE,
        -Number.MAX_VALUE,
        5e-324,
        -2.2250738585072014e-308,
        1,
        -1,
        { bits: 0x7ff0000000000001n },
        { bits: 0xfff8000000000000n },
      ];
    case "int8":
      return [-128, 127, 0, -1, 1];
    case "int16":
      return [-32768, 32767, 0, -1];
    case "int32":
      return [-(2 ** 31), 2 ** 31 - 1, 0, -1];
    case "int64":
      return [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n];
    case "uint8":
      return [0, 255, 1, 128];
    case "uint16":
      return [0, 65535, 32768];
    case "uint32":
      return [0, 2 ** 32 - 1, 2 ** 31];
    case "uint64":
      return [0n, 2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n];
    case "bool":
      return [0, 1];
  }
}

function randomScalar(r: Rng, dtype: Num): number | bigint {
  switch (dtype) {
    case "float32":
      return Math.fround((r.next() - 0.5) * 10 ** r.int(-8, 8));
    case "float64":
      return (r.next() - 0.5) * 10 ** r.int(-30, 30);
    case "int8":
      return r.int(-128, 127);
    case "int16":
      return r.int(-32768, 32767);
    case "int32":
      return r.u32() | 0;
    case "uint8":
      return r.int(0, 255);
    case "uint16":
      return r.int(0, 65535);
    case "uint32":
      return r.u32();
    case "int64":
      return BigInt.asIntN(64, (BigInt(r.u32()) << 32n) | BigInt(r.u32()));
    case "uint64":
      return (BigInt(r.u32()) << 32n) | BigInt(r.u32());
    case "bool":
      return r.int(0, 1);
  }
}

type Pattern = "mixed" | "sparse" | "zeros" | "negzero";
function randomValues(r: Rng, dtype: Num, n: number, pattern: Pattern): Typed {
  const out = new CTOR[dtype](n);
  const bits = dtype === "float32" ? new Uint32Array(out.buffer) : dtype === "float64" ? new BigUint64Array(out.buffer) : undefined;
  const sp = specials(dtype);
  const zero = typeof sp[2] === "bigint" ? 0n : 0;
  for (let i = 0; i < n; i++) {
    let v: number | bigint | { bits: bigint };
    if (pattern === "zeros") v = zero;
    else if (pattern === "negzero") v = isFloat(dtype) ? (r.chance(0.9) ? -0 : 0) : zero;
    else if (pattern === "sparse" && r.chance(0.85)) v = isFloat(dtype) && r.chance(0.2) ? -0 : zero;
    else v = r.chance(0.25) ? r.pick(sp) : randomScalar(r, dtype);
    if (typeof v === "object") {
      if (bits instanceof Uint32Array) bits[i] = Number(v.bits);
      else bits![i] = v.bits;
    } else (out as unknown as (number | bigint)[])[i] = v;
  }
  return out;
}

function randomChunks(r: Rng, shape: readonly number[]): number[] {
  return shape.map((n) => (n === 0 ? r.int(1, 3) : r.chance(0.1) ? -1 : r.int(1, Math.max(1, n + (r.chance(0.2) ? 3 : 0)))));
}

// ---------------------------------------------------------------------------------------------
// Reference operations on Dense values (the expectation of a lazy graph)

const cStrides = (shape: readonly number[]) => {
  const s = shape.map(() => 1);
  for (let k = shape.length - 2; k >= 0; k--) s[k] = s[k + 1]! * shape[k + 1]!;
  return s;
};

/** positions[k]: the input positions of output axis k; `drop[k]`: axis k was an integer index. */
function gatherDense(x: Dense, positions: number[][], drop: boolean[]): Dense {
  const outShapeFull = positions.map((p) => p.length);
  const n = outShapeFull.reduce((a, b) => a * b, 1);
  const out = new CTOR[x.dtype](n);
  const ist = cStrides(x.shape);
  const idx = outShapeFull.map(() => 0);
  for (let t = 0; t < n; t++) {
    let src = 0;
    for (let k = 0; k < idx.length; k++) src += positions[k]![idx[k]!]! * ist[k]!;
    (out as unknown as unknown[])[t] = (x.data as unknown as unknown[])[src];
    for (let k = idx.length - 1; k >= 0; k--) {
      if (++idx[k]! < outShapeFull[k]!) break;
      idx[k] = 0;
    }
  }
  return { data: out, shape: outShapeFull.filter((_, k) => !drop[k]), dtype: x.dtype };
}

function transposeDense(x: Dense, perm: number[]): Dense {
  const shape = perm.map((p) => x.shape[p]!);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new CTOR[x.dtype](n);
  const ist = cStrides(x.shape);
  const idx = shape.map(() => 0);
  for (let t = 0; t < n; t++) {
    let src = 0;
    for (let k = 0; k < idx.length; k++) src += idx[k]! * ist[perm[k]!]!;
    (out as unknown as unknown[])[t] = (x.data as unknown as unknown[])[src];
    for (let k = idx.length - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return { data: out, shape, dtype: x.dtype };
}

/** One random lazy step, with the reference result; `desc` says what it was. */
function randomStep(r: Rng, x: LazyArray, e: Dense): { x: LazyArray; e: Dense; desc: string } {
  const kind = r.pick(["rechunk", "slice", "slice", "transpose", "mul1", "none"] as const);
  if (kind === "rechunk") {
    const c = randomChunks(r, e.shape);
    return { x: x.rechunk(c), e, desc: `rechunk(${JSON.stringify(c)})` };
  }
  if (kind === "transpose" && e.shape.length > 1) {
    const perm = e.shape.map((_, k) => k);
    for (let k = perm.length - 1; k > 0; k--) {
      const j = r.int(0, k);
      [perm[k], perm[j]] = [perm[j]!, perm[k]!];
    }
    return { x: x.transpose(perm), e: transposeDense(e, perm), desc: `transpose(${JSON.stringify(perm)})` };
  }
  if (kind === "mul1" && e.dtype !== "bool") return { x: x.mul(1), e, desc: "mul(1)" };
  if (kind === "slice") {
    const sels: Selector[] = [];
    const positions: number[][] = [];
    const drop: boolean[] = [];
    const descs: string[] = [];
    const canDrop = e.shape.length > 1;
    e.shape.forEach((n) => {
      if (canDrop && n > 0 && !drop.includes(true) && r.chance(0.12)) {
        const i = r.int(0, n - 1);
        sels.push(i);
        positions.push([i]);
        drop.push(true);
        descs.push(String(i));
        return;
      }
      drop.push(false);
      if (n > 0 && r.chance(0.2)) {
        // negative step: from `start` down to (not including) `stop`, or to the beginning
        const start = r.int(0, n - 1);
        const step = -r.int(1, 3);
        const stop = r.chance(0.5) ? null : r.int(0, start);
        const p: number[] = [];
        for (let i = start; stop === null ? i >= 0 : i > stop; i += step) p.push(i);
        sels.push(slice(start, stop, step));
        positions.push(p);
        descs.push(`${start}:${stop ?? ""}:${step}`);
        return;
      }
      const start = r.int(0, n);
      const stop = r.int(start, n);
      const step = r.int(1, 3);
      const p: number[] = [];
      for (let i = start; i < stop; i += step) p.push(i);
      sels.push(slice(start, stop, step));
      positions.push(p);
      descs.push(`${start}:${stop}:${step}`);
    });
    return { x: x.slice(...sels), e: gatherDense(e, positions, drop), desc: `[${descs.join(", ")}]` };
  }
  return { x, e, desc: "" };
}

// ---------------------------------------------------------------------------------------------
// Comparison

function bytesOf(d: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

function show(b: Uint8Array, at: number, size: number, dtype: Num): string {
  const v = new DataView(b.buffer, b.byteOffset + at * size, size);
  const hex = Array.from(bytesOf(v), (x) => x.toString(16).padStart(2, "0")).join("");
  const value = (): number | bigint => {
    switch (dtype) {
      case "float32":
        return v.getFloat32(0, true);
      case "float64":
        return v.getFloat64(0, true);
      case "int8":
        return v.getInt8(0);
      case "int16":
        return v.getInt16(0, true);
      case "int32":
        return v.getInt32(0, true);
      case "int64":
        return v.getBigInt64(0, true);
      case "uint16":
        return v.getUint16(0, true);
      case "uint32":
        return v.getUint32(0, true);
      case "uint64":
        return v.getBigUint64(0, true);
      default:
        return v.getUint8(0);
    }
  };
  const x = value();
  return `${Object.is(x, -0) ? "-0" : String(x)} (0x${hex})`;
}

/** Undefined when `got` holds `e`'s values bit for bit (NaNs of any payload equal); else where and how they differ. */
function differs(e: Dense, got: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number; length: number } | undefined): string | undefined {
  if (got === undefined || got.buffer === undefined) return "no typed data";
  const size = CTOR[e.dtype].BYTES_PER_ELEMENT;
  const a = bytesOf(e.data);
  const b = bytesOf(got);
  if (b.byteLength !== a.byteLength) return `${b.byteLength} bytes, expected ${a.byteLength}`;
  const va = new DataView(a.buffer, a.byteOffset, a.byteLength);
  const vb = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < e.data.length; i++) {
    if (e.dtype === "float32" && Number.isNaN(va.getFloat32(4 * i, true)) && Number.isNaN(vb.getFloat32(4 * i, true))) continue;
    if (e.dtype === "float64" && Number.isNaN(va.getFloat64(8 * i, true)) && Number.isNaN(vb.getFloat64(8 * i, true))) continue;
    let same = true;
    for (let j = 0; j < size; j++) if (a[i * size + j] !== b[i * size + j]) same = false;
    if (!same) {
      bad++;
      if (first < 0) first = i;
    }
  }
  return bad === 0
    ? undefined
    : `${bad} of ${e.data.length} values differ, first at flat index ${first}: ${show(b, first, size, e.dtype)}, expected ${show(a, first, size, e.dtype)}`;
}

/** `e`'s bytes with every NaN as numpy's canonical NaN, in hex (what writer_differential.py answers). */
function canonicalHex(e: Dense): string {
  const b = bytesOf(e.data).slice();
  const v = new DataView(b.buffer);
  if (e.dtype === "float32") for (let i = 0; i < e.data.length; i++) if (Number.isNaN(v.getFloat32(4 * i, true))) v.setUint32(4 * i, 0x7fc00000, true);
  if (e.dtype === "float64")
    for (let i = 0; i < e.data.length; i++) if (Number.isNaN(v.getFloat64(8 * i, true))) v.setBigUint64(8 * i, 0x7ff8000000000000n, true);
  return Buffer.from(b).toString("hex");
}

// ---------------------------------------------------------------------------------------------
// Store checks

const CRC32C = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC32C[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function listFiles(dir: string, base = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const rel = base === "" ? name : `${base}/${name}`;
    if (statSync(path.join(dir, name)).isDirectory()) out.push(...listFiles(path.join(dir, name), rel));
    else out.push(rel);
  }
  return out.sort();
}

const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));

/** What a write was asked for, and what the array written must be. */
interface Write {
  label: string;
  format: 2 | 3;
  /** chunks as given to toZarr */
  chunks: number[];
  compressor: CompressorConfig | null | undefined;
  shards?: number[] | "auto";
  path: string;
  /** the format of an array written at the same place first (then `overwrite: true`) */
  over?: 2 | 3;
  /** `">"`: written big endian (`toZarr`'s `byteOrder`) */
  byteOrder?: ">";
}

/** Whether a write stores `dtype` big endian (bytes swapped only for items wider than a byte). */
const bigEndian = (w: { byteOrder?: ">" }, dtype: Num): boolean => w.byteOrder === ">" && CTOR[dtype].BYTES_PER_ELEMENT > 1;
/** numpy's dtype string of a write's array. */
const v2DtypeOf = (w: { byteOrder?: ">" }, dtype: Num): string => (bigEndian(w, dtype) ? V2_DTYPE[dtype].replace("<", ">") : V2_DTYPE[dtype]);

/** A compressor as written: defaults filled in (zlib/gzip level 1, as numcodecs). */
const fullCompressor = (c: CompressorConfig | null | undefined): Record<string, unknown> | null => {
  if (c === undefined) return { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1, blocksize: 0 };
  if (c === null) return null;
  if (c.id === "blosc") return { id: "blosc", cname: c.cname ?? "lz4", clevel: c.clevel ?? 5, shuffle: c.shuffle ?? 1, blocksize: c.blocksize ?? 0 };
  return { id: c.id, level: c.level ?? 1 };
};

/** Inner chunks zask writes for a requested `chunks` (regular; at most the axis, at least 1). */
const effectiveChunks = (req: readonly number[], shape: readonly number[]) => req.map((c, k) => Math.max(1, c === -1 ? shape[k]! : Math.min(c, shape[k]!)));

/**
 * Problems of the store's files: metadata, chunk keys inside the grid, shard indexes. Chunk
 * files of an array with no elements go to `strays` (checked by the test at the end).
 */
function checkStore(root: string, w: Write, e: Dense, innerOut: number[], gridOut: number[], strays: string[], exactMeta = true): string[] {
  const problems: string[] = [];
  const outside = e.data.length === 0 ? strays : problems;
  const dir = path.join(root, w.path);
  const files = listFiles(dir);
  const inner = innerOut;
  if (w.format === 2) {
    const meta = JSON.parse(readFileSync(path.join(dir, ".zarray"), "utf8"));
    const want = {
      chunks: inner,
      compressor: fullCompressor(w.compressor),
      dimension_separator: ".",
      dtype: v2DtypeOf(w, e.dtype),
      fill_value: e.dtype === "bool" ? false : 0,
      filters: null,
      order: "C",
      shape: e.shape,
      zarr_format: 2,
    };
    try {
      assert.deepEqual(exactMeta ? meta : { ...want, ...pick(meta, ["chunks", "compressor", "dtype", "fill_value", "filters", "order", "shape"]) }, want);
    } catch {
      problems.push(`.zarray ${JSON.stringify(meta)}, expected ${JSON.stringify(want)}`);
    }
    const grid = e.shape.map((n, k) => Math.ceil(n / inner[k]!));
    for (const f of files) {
      if (f === ".zarray" || f === ".zattrs") continue;
      if (!exactMeta && f === ".zgroup") continue;
      const idx = f.split(".").map(Number);
      if (idx.length !== e.shape.length || idx.some((i, k) => !Number.isInteger(i) || i < 0 || i >= grid[k]!))
        outside.push(`file ${f} is not a chunk of the grid ${JSON.stringify(grid)}`);
    }
    // zask writes every chunk of a v2 array (zarr-python 2.13's default, write_empty_chunks=True)
    const nChunks = grid.reduce((a, b) => a * b, 1);
    if (e.data.length > 0 && files.length - 2 !== nChunks) problems.push(`${files.length - 2} chunk files, the grid has ${nChunks}`);
  } else {
    const meta = JSON.parse(readFileSync(path.join(dir, "zarr.json"), "utf8"));
    const size = CTOR[e.dtype].BYTES_PER_ELEMENT;
    const c = fullCompressor(w.compressor);
    const shuffle = c?.["shuffle"] as number | undefined;
    const codecs = [
      { name: "bytes", configuration: { endian: bigEndian(w, e.dtype) ? "big" : "little" } },
      ...(c === null
        ? []
        : c["id"] === "gzip"
          ? [{ name: "gzip", configuration: { level: c["level"] } }]
          : [
              {
                name: "blosc",
                configuration: {
                  cname: c["cname"],
                  clevel: c["clevel"],
                  shuffle: ["noshuffle", "shuffle", "bitshuffle"][shuffle!],
                  typesize: size,
                  blocksize: c["blocksize"],
                },
              },
            ]),
    ];
    const want = {
      zarr_format: 3,
      node_type: "array",
      shape: e.shape,
      data_type: e.dtype,
      chunk_grid: { name: "regular", configuration: { chunk_shape: gridOut } },
      chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
      fill_value: e.dtype === "bool" ? false : 0,
      codecs:
        w.shards === undefined
          ? codecs
          : [
              {
                name: "sharding_indexed",
                configuration: {
                  chunk_shape: inner,
                  codecs,
                  index_codecs: [{ name: "bytes", configuration: { endian: "little" } }, { name: "crc32c" }],
                  index_location: "end",
                },
              },
            ],
      attributes: {},
      storage_transformers: [],
    };
    try {
      assert.deepEqual(exactMeta ? meta : { ...want, ...pick(meta, ["shape", "data_type", "chunk_grid", "chunk_key_encoding", "fill_value", "codecs"]) }, want);
    } catch {
      problems.push(`zarr.json ${JSON.stringify(meta)}, expected ${JSON.stringify(want)}`);
    }
    const grid = e.shape.map((n, k) => Math.ceil(n / gridOut[k]!));
    const per = gridOut.map((g, k) => g / inner[k]!);
    const nInner = per.reduce((a, b) => a * b, 1);
    for (const f of files) {
      if (f === "zarr.json") continue;
      const parts = f.split("/");
      const idx = parts.slice(1).map(Number);
      if (parts[0] !== "c" || idx.length !== e.shape.length || idx.some((i, k) => !Number.isInteger(i) || i < 0 || i >= grid[k]!)) {
        outside.push(`file ${f} is not a chunk of the grid ${JSON.stringify(grid)}`);
        continue;
      }
      if (w.shards === undefined) continue;
      const blob = new Uint8Array(readFileSync(path.join(dir, f)));
      const indexSize = 16 * nInner + 4;
      if (blob.byteLength < indexSize) {
        problems.push(`shard ${f}: ${blob.byteLength} bytes, its index alone is ${indexSize}`);
        continue;
      }
      const dataLen = blob.byteLength - indexSize;
      const view = new DataView(blob.buffer, blob.byteOffset + dataLen, indexSize);
      const stored = view.getUint32(16 * nInner, true);
      const computed = crc32c(blob.subarray(dataLen, dataLen + 16 * nInner));
      if (stored !== computed) problems.push(`shard ${f}: index crc32c ${stored.toString(16)}, computed ${computed.toString(16)}`);
      const ranges: [number, number][] = [];
      const at = per.map(() => 0);
      for (let i = 0; i < nInner; i++) {
        const off = view.getBigUint64(16 * i, true);
        const nb = view.getBigUint64(16 * i + 8, true);
        const origin = at.map((a, k) => idx[k]! * gridOut[k]! + a * inner[k]!);
        const outside = origin.some((o, k) => o >= e.shape[k]!);
        if (off === 2n ** 64n - 1n && nb === 2n ** 64n - 1n) {
          // an empty inner chunk: the fill value
        } else if (off === 2n ** 64n - 1n || nb === 2n ** 64n - 1n) problems.push(`shard ${f}: entry ${i} half empty (${off}, ${nb})`);
        else if (outside) problems.push(`shard ${f}: entry ${i} at ${JSON.stringify(origin)} lies outside the array but holds ${nb} bytes`);
        else if (off + nb > BigInt(dataLen)) problems.push(`shard ${f}: entry ${i} (${off}, ${nb}) runs past the data (${dataLen} bytes)`);
        else ranges.push([Number(off), Number(nb)]);
        for (let k = at.length - 1; k >= 0; k--) {
          if (++at[k]! < per[k]!) break;
          at[k] = 0;
        }
      }
      ranges.sort((p, q) => p[0] - q[0]);
      let end = 0;
      for (const [off, nb] of ranges) {
        if (off < end) problems.push(`shard ${f}: inner chunks overlap at byte ${off}`);
        end = Math.max(end, off + nb);
      }
      if (ranges.reduce((a, [, nb]) => a + nb, 0) !== dataLen)
        problems.push(`shard ${f}: inner chunks hold ${ranges.reduce((a, [, nb]) => a + nb, 0)} of its ${dataLen} data bytes`);
    }
  }
  return problems;
}

async function readZarrita(root: string, w: Write, values: boolean): Promise<{ data: unknown; shape: number[]; chunks: number[]; dtype: string }> {
  const store = new FileSystemStore(root);
  const loc = w.path === "" ? zarr.root(store) : zarr.root(store).resolve(w.path);
  const arr = w.format === 2 ? await zarr.open.v2(loc, { kind: "array" }) : await zarr.open.v3(loc, { kind: "array" });
  if (!values) return { data: undefined, shape: arr.shape, chunks: arr.chunks, dtype: arr.dtype };
  const got = await zarr.get(arr);
  const c = got.stride.map((_, k) => got.shape.slice(k + 1).reduce((a, b) => a * b, 1));
  if (JSON.stringify(got.stride) !== JSON.stringify(c)) throw new Error(`zarrita answered strides ${JSON.stringify(got.stride)}, not C order`);
  return { data: got.data, shape: got.shape, chunks: arr.chunks, dtype: arr.dtype };
}

// ---------------------------------------------------------------------------------------------
// Cases

function randomCompressor(r: Rng, format: 2 | 3): CompressorConfig | null | undefined {
  const kind = r.pick(
    format === 2 ? (["blosc", "blosc", "zlib", "gzip", "none", "default"] as const) : (["blosc", "blosc", "gzip", "none", "default"] as const),
  );
  if (kind === "default") return undefined;
  if (kind === "none") return null;
  if (kind === "blosc") {
    const c: { id: "blosc"; cname?: string; clevel?: number; shuffle?: number; blocksize?: number } = { id: "blosc" };
    if (r.chance(0.8)) c.cname = r.pick(["lz4", "lz4hc", "zstd", "zlib", "blosclz"]);
    if (r.chance(0.8)) c.clevel = r.int(0, 9);
    if (r.chance(0.8)) c.shuffle = r.int(0, 2);
    if (r.chance(0.2)) c.blocksize = r.pick([0, 256, 4096]);
    return c;
  }
  return r.chance(0.7) ? { id: kind, level: r.int(0, 9) } : { id: kind };
}

function randomShards(r: Rng, inner: readonly number[]): number[] | "auto" {
  return r.chance(0.2) ? "auto" : inner.map((c) => c * r.int(1, 3));
}

interface Case {
  id: string;
  desc: string;
  build: () => LazyArray;
  expected: Dense;
  writes: (Write & { from?: number })[];
}

function makeCase(seed: number, k: number): Case {
  const r = new Rng(seed * 1000 + k);
  // floats twice as often: NaN payloads, -0.0 and extremes are where writers go wrong
  const dtype = r.pick([...DTYPES, "float32", "float64", "float32"] as const);
  const shape = randomShape(r);
  const pattern = r.pick(["mixed", "mixed", "mixed", "sparse", "zeros", "negzero"] as const);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = randomValues(r, dtype, n, pattern);
  const sourceChunks = shape.map((d) => r.int(1, Math.max(1, d)));
  let e: Dense = { data, shape, dtype };
  const steps: string[] = [];
  let lazy = fromTypedArray(data, shape, { chunks: sourceChunks, dtype });
  for (let s = r.int(0, 2); s > 0; s--) {
    const step = randomStep(r, lazy, e);
    steps.push(step.desc);
    lazy = step.x;
    e = step.e;
  }
  const build = () => lazy;
  const writes: (Write & { from?: number })[] = [];
  const p = () => (r.chance(0.3) ? r.pick(["a", "x/y", "deep/er/arr"]) : "");
  // an array of the same format already there (replaced with `overwrite: true`); the sources of
  // the re-reads (writes 0 and 2) never: over another format, see the tests after the random ones
  const over = (format: 2 | 3): { over?: 2 | 3 } => (r.chance(0.3) ? { over: format } : {});
  writes.push({ label: "v2", format: 2, chunks: randomChunks(r, e.shape), compressor: randomCompressor(r, 2), path: p() });
  writes.push({ label: "v3", format: 3, chunks: randomChunks(r, e.shape), compressor: randomCompressor(r, 3), path: p(), ...over(3) });
  {
    const chunks = randomChunks(r, e.shape);
    writes.push({
      label: "v3-sharded",
      format: 3,
      chunks,
      compressor: randomCompressor(r, 3),
      shards: randomShards(r, effectiveChunks(chunks, e.shape)),
      path: p(),
    });
  }
  {
    // the v2 array read back lazily and written sharded; the sharded one read back and written as v2
    const chunks = randomChunks(r, e.shape);
    writes.push({
      label: "v2→v3-sharded",
      from: 0,
      format: 3,
      chunks,
      compressor: randomCompressor(r, 3),
      shards: randomShards(r, effectiveChunks(chunks, e.shape)),
      path: p(),
      ...over(3),
    });
    writes.push({ label: "v3-sharded→v2", from: 2, format: 2, chunks: randomChunks(r, e.shape), compressor: randomCompressor(r, 2), path: p(), ...over(2) });
  }
  // a third of the writes big endian, drawn apart so the rest of each case stays as it was
  const order = new Rng(seed * 7919 + k);
  for (const w of writes) if (order.chance(1 / 3)) w.byteOrder = ">";
  const desc = `${dtype} ${JSON.stringify(shape)} ${pattern}, fromTypedArray chunks ${JSON.stringify(sourceChunks)}${steps.map((s) => (s ? ` → ${s}` : "")).join("")}`;
  return { id: `seed ${seed} case ${k}`, desc, build, expected: e, writes };
}

/** Chunk files outside the grid of arrays with no elements (checked by the test at the end). */
const strays: string[] = [];
const pythonQueue: {
  path: string;
  format: 2 | 3;
  expected: Dense;
  inner: number[];
  compressor: Record<string, unknown> | null;
  dtype: string;
  what: string;
}[] = [];

describe("zask's zarr writers against zask, zarrita and Python readers (random arrays)", () => {
  const root = ROOT;

  for (const seed of SEEDS) {
    for (let k = 0; k < CASES_PER_SEED; k++) {
      const c = makeCase(seed, k);
      it(`${c.id}: ${c.desc}`, async () => {
        const problems: string[] = [];
        const e = c.expected;
        const places: string[] = [];
        for (const [wi, w] of c.writes.entries()) {
          const where = path.join(root, `s${seed}-c${k}-w${wi}.zarr`);
          places.push(where);
          const what = `${w.label} ${JSON.stringify({ chunks: w.chunks, compressor: w.compressor, shards: w.shards, path: w.path, over: w.over, byteOrder: w.byteOrder })}`;
          const inner = effectiveChunks(w.chunks, e.shape);
          try {
            let x: LazyArray;
            if (w.from === undefined) x = c.build();
            else {
              const src = c.writes[w.from]!;
              x = await fromZarr(places[w.from]!, { path: src.path });
            }
            if (w.over !== undefined) {
              // an array already there (another array of the same shape and dtype), replaced
              await fromTypedArray(randomValues(new Rng(seed + k + wi), e.dtype, e.data.length, "mixed"), e.shape, { dtype: e.dtype }).toZarr(where, {
                path: w.path,
                format: w.over,
                chunks: e.shape.map((n) => Math.max(1, Math.ceil(n / 2))),
                progress: false,
              });
            }
            const options: ToZarrOptions = {
              path: w.path,
              format: w.format,
              chunks: w.chunks,
              progress: false,
              ...(w.compressor === undefined ? {} : { compressor: w.compressor }),
              ...(w.shards === undefined ? {} : { shards: w.shards }),
              ...(w.over === undefined ? {} : { overwrite: true }),
              ...(w.byteOrder === undefined ? {} : { byteOrder: w.byteOrder }),
            };
            const result = await x.toZarr(where, options);
            const meta = JSON.parse(readFileSync(path.join(where, w.path, w.format === 2 ? ".zarray" : "zarr.json"), "utf8"));
            const gridOut: number[] = w.format === 2 ? meta.chunks : meta.chunk_grid.configuration.chunk_shape;
            if (w.shards === "auto" && gridOut.some((g, i) => g % inner[i]! !== 0))
              problems.push(`${what}: auto shards ${JSON.stringify(gridOut)} are not multiples of ${JSON.stringify(inner)}`);
            if (Array.isArray(w.shards) || w.shards === undefined) {
              const wantGrid = w.shards ?? inner;
              if (JSON.stringify(gridOut) !== JSON.stringify(wantGrid))
                problems.push(`${what}: chunk grid ${JSON.stringify(gridOut)}, expected ${JSON.stringify(wantGrid)}`);
            }
            const tasks = e.shape.some((n) => n === 0) ? undefined : e.shape.reduce((a, n, i) => a * Math.ceil(n / gridOut[i]!), 1);
            if (tasks !== undefined && result.chunks !== tasks) problems.push(`${what}: toZarr reports ${result.chunks} chunks written, the grid has ${tasks}`);
            const strayFiles: string[] = [];
            for (const p of checkStore(where, w, e, inner, gridOut, strayFiles)) problems.push(`${what}: ${p}`);
            for (const p of strayFiles) strays.push(`${c.id} ${what}: ${p}`);
            const empty = e.data.length === 0;
            // zask
            const back = await fromZarr(where, { path: w.path });
            if (JSON.stringify(back.shape) !== JSON.stringify(e.shape)) problems.push(`${what}: zask reads shape ${JSON.stringify(back.shape)}`);
            if (back.dtype !== e.dtype) problems.push(`${what}: zask reads dtype ${back.dtype}`);
            const innerRead = back.chunks.map((cs) => cs[0] ?? 0);
            if (e.shape.every((n) => n > 0) && JSON.stringify(innerRead) !== JSON.stringify(inner))
              problems.push(`${what}: zask reads chunks ${JSON.stringify(innerRead)}`);
            // (a sharded array with no elements is read as one without blocks, so without shards)
            if (w.shards !== undefined && !empty && JSON.stringify(back.shards) !== JSON.stringify(gridOut))
              problems.push(`${what}: zask reads shards ${JSON.stringify(back.shards)}`);
            const got = await back.compute({ progress: false });
            const d1 = differs(e, got.data as Typed);
            if (d1 !== undefined) problems.push(`${what}: zask fromZarr: ${d1}`);
            // zarrita (whose get throws "Input contains an empty iterator" for an array with no elements)
            const z = await readZarrita(where, w, !empty);
            if (JSON.stringify(z.shape) !== JSON.stringify(e.shape)) problems.push(`${what}: zarrita reads shape ${JSON.stringify(z.shape)}`);
            if (z.dtype !== e.dtype) problems.push(`${what}: zarrita reads dtype ${z.dtype}`);
            if (JSON.stringify(z.chunks) !== JSON.stringify(inner)) problems.push(`${what}: zarrita reads chunks ${JSON.stringify(z.chunks)}`);
            const d2 = empty ? undefined : differs(e, z.data as Typed);
            if (d2 !== undefined) problems.push(`${what}: zarrita: ${d2}`);
            pythonQueue.push({
              path: path.join(where, w.path),
              format: w.format,
              expected: e,
              inner,
              compressor: fullCompressor(w.compressor),
              dtype: v2DtypeOf(w, e.dtype),
              what: `${c.id} ${what}`,
            });
          } catch (err) {
            problems.push(`${what}: threw ${(err as Error).stack?.split("\n").slice(0, 3).join(" | ")}`);
          }
        }
        assert.deepEqual(problems, [], `${c.id}: ${c.desc}`);
      });
    }
  }

  it("an array with no elements is written without chunk files outside its (empty) grid, as zarr-python writes it", () => {
    assert.deepEqual(strays, []);
  });
});

describe("toZarr over an array of the other zarr format", () => {
  const root = ROOT;
  const first = () => fromTypedArray(Float32Array.of(1, 2, 3, 4), [4]);
  const second = () => fromTypedArray(Float32Array.of(5, 6, 7, 8), [4]);
  for (const [from, to] of [
    [2, 3],
    [3, 2],
  ] as const) {
    it(`with overwrite: true, a v${to} write replaces a v${from} array: no file of the old one is left, and zask and zarrita read the new values`, async () => {
      const where = path.join(root, `v${from}-then-v${to}.zarr`);
      await first().toZarr(where, { format: from, progress: false });
      await second().toZarr(where, { format: to, overwrite: true, progress: false });
      const got = Array.from((await (await fromZarr(where)).compute({ progress: false })).data as Float32Array);
      // a reader that looks for zarr.json first (zarr-python 3; zarrita's open.v3)
      const v3first = await zarr.open.v3(zarr.root(new FileSystemStore(where)), { kind: "array" }).then(
        async (a) => Array.from((await zarr.get(a)).data as Float32Array),
        () => "no v3 array",
      );
      assert.deepEqual(
        { files: listFiles(where), zask: got, v3first },
        { files: to === 2 ? [".zarray", ".zattrs", "0"] : ["c/0", "zarr.json"], zask: [5, 6, 7, 8], v3first: to === 2 ? "no v3 array" : [5, 6, 7, 8] },
      );
    });
  }

  it("without overwrite, a v3 write where a v2 array is refuses, as a write over an array of its own format does", async () => {
    const where = path.join(root, "v2-then-v3-no-overwrite.zarr");
    await first().toZarr(where, { format: 2, progress: false });
    await assert.rejects(second().toZarr(where, { format: 3, progress: false }), /an array is already there/);
  });

  it("shards that are multiples of the chunks asked for are accepted when the chunks are larger than an axis", async () => {
    const where = path.join(root, "clamped.zarr");
    await fromTypedArray(Float32Array.of(1, 2), [2]).toZarr(where, { format: 3, chunks: [3], shards: [9], progress: false });
    assert.deepEqual(Array.from((await (await fromZarr(where)).compute({ progress: false })).data as Float32Array), [1, 2]);
  });
});

// ---------------------------------------------------------------------------------------------
// AnnData: sparse X written with writeDispatched (random chunks for its 1-d parts, v2 and v3)

const SPARSE_DTYPES: Num[] = ["float32", "float64", "int32", "int64", "int16", "uint8", "uint64", "bool"];

interface SparseCase {
  id: string;
  desc: string;
  m: SparseMatrix;
  /** the stores written, in order: eager v2, eager v3 (sharded parts asked for), lazy v2 → v3, lazy v3 → v2 */
  writes: { label: string; format: 2 | 3; chunk: number | null; shard?: number; compressor: Compressor | null | undefined; from?: number }[];
}

function makeSparseCase(seed: number, k: number): SparseCase {
  const r = new Rng(seed * 7919 + k);
  const format = r.pick(["csr", "csc"] as const);
  const shape: [number, number] = [r.chance(0.08) ? 0 : r.int(1, 40), r.chance(0.08) ? 0 : r.int(1, 30)];
  const dtype = r.pick(SPARSE_DTYPES);
  const [major, minor] = format === "csr" ? shape : [shape[1], shape[0]];
  const density = r.pick([0, 0.05, 0.3, 0.9]);
  const idx: number[] = [];
  const ptr = [0];
  for (let i = 0; i < major; i++) {
    for (let j = 0; j < minor; j++) if (r.chance(density)) idx.push(j);
    ptr.push(idx.length);
  }
  const wide = r.chance(0.3);
  const indptr = wide ? BigInt64Array.from(ptr, (v) => BigInt(v)) : Int32Array.from(ptr);
  const indices = wide ? BigInt64Array.from(idx, (v) => BigInt(v)) : Int32Array.from(idx);
  const data = randomValues(r, dtype, idx.length, r.pick(["mixed", "mixed", "sparse"] as const));
  const m = new SparseMatrix(format, shape, indptr, indices, data, dtype);
  const chunk = () => (r.chance(0.15) ? null : r.int(1, Math.max(1, idx.length + 2)));
  const comp = (): Compressor | null | undefined => {
    const c = randomCompressor(r, 3);
    return c === undefined || c === null
      ? c
      : c.id === "blosc"
        ? { id: "blosc", cname: (c.cname ?? "lz4") as "lz4", clevel: c.clevel ?? 5, shuffle: (c.shuffle ?? 1) as 1 }
        : c;
  };
  const c1 = chunk();
  const c3 = chunk();
  return {
    id: `sparse seed ${seed} case ${k}`,
    desc: `${format} ${dtype} ${JSON.stringify(shape)} nnz ${idx.length}, ${wide ? "int64" : "int32"} indices`,
    m,
    writes: [
      { label: "v2", format: 2, chunk: chunk(), compressor: comp() },
      { label: "v3+shards", format: 3, chunk: c1, shard: c1 === null ? undefined : c1 * r.int(1, 3), compressor: comp() },
      { label: "lazy v2→v3+shards", format: 3, chunk: c3, shard: c3 === null ? undefined : c3 * r.int(1, 3), compressor: comp(), from: 0 },
      { label: "lazy v3→v2", format: 2, chunk: chunk(), compressor: comp(), from: 1 },
    ],
  };
}

/** Sparse parts written without the shards asked for (the test after the random sparse ones). */
const droppedShards: string[] = [];
const sparseQueue: { path: string; what: string; m: SparseMatrix; chunk: number }[] = [];

function sparseDiffers(e: SparseMatrix, got: SparseMatrix): string[] {
  const out: string[] = [];
  if (got.format !== e.format) out.push(`format ${got.format}`);
  if (JSON.stringify(got.shape) !== JSON.stringify(e.shape)) out.push(`shape ${JSON.stringify(got.shape)}`);
  if (got.dtype !== e.dtype) out.push(`dtype ${got.dtype}`);
  const ints = (a: ArrayLike<number | bigint>) => Array.from(a, (v) => Number(v));
  if (JSON.stringify(ints(got.indptr)) !== JSON.stringify(ints(e.indptr))) out.push("indptr differs");
  if (JSON.stringify(ints(got.indices)) !== JSON.stringify(ints(e.indices))) out.push("indices differ");
  if (got.indices.BYTES_PER_ELEMENT !== e.indices.BYTES_PER_ELEMENT)
    out.push(`indices are ${got.indices.constructor.name}, written from ${e.indices.constructor.name}`);
  const d = differs({ data: e.data as Typed, shape: [e.data.length], dtype: e.dtype }, got.data as Typed);
  if (d !== undefined) out.push(`data: ${d}`);
  return out;
}

describe("writeDispatched: random sparse X, v2 and v3, eager and lazy, against zask and anndata", () => {
  const root = ROOT;

  for (const seed of SEEDS) {
    for (let k = 0; k < 5; k++) {
      const c = makeSparseCase(seed, k);
      it(`${c.id}: ${c.desc}`, async () => {
        const problems: string[] = [];
        const places: string[] = [];
        for (const [wi, w] of c.writes.entries()) {
          const where = path.join(root, `sp${seed}-${k}-${wi}.zarr`);
          places.push(where);
          const what = `${w.label} ${JSON.stringify({ chunk: w.chunk, shard: w.shard, compressor: w.compressor })}`;
          try {
            const X = w.from === undefined ? c.m : (await readZarr(places[w.from]!)).X;
            const adata = new AnnData({ X: X as SparseMatrix });
            await writeDispatched(
              where,
              "/",
              adata,
              (write, store, key, elem, options) =>
                write(store, key, elem, key === "/X" ? { ...options, chunks: [w.chunk], ...(w.shard === undefined ? {} : { shards: [w.shard] }) } : options),
              { format: w.format, ...(w.compressor === undefined ? {} : { compressor: w.compressor }) },
            );
            const nnz = c.m.data.length;
            const wantChunk = w.chunk === null ? Math.max(nnz, 1) : Math.min(w.chunk, Math.max(nnz, 1));
            for (const part of ["data", "indices"]) {
              const file = path.join(where, "X", part, w.format === 2 ? ".zarray" : "zarr.json");
              const meta = JSON.parse(readFileSync(file, "utf8"));
              const grid = w.format === 2 ? meta.chunks : meta.chunk_grid.configuration.chunk_shape;
              const codec0 = w.format === 3 ? meta.codecs[0] : undefined;
              const inner = codec0?.name === "sharding_indexed" ? codec0.configuration.chunk_shape : grid;
              if (JSON.stringify(inner) !== JSON.stringify([wantChunk]))
                problems.push(`${what}: X/${part} chunks ${JSON.stringify(inner)}, expected [${wantChunk}]`);
              if (w.shard !== undefined) {
                // as asked, unless the part is shorter than a chunk: then its chunk is its length,
                // and its shard the smallest multiple of that holding the shard asked
                const wantShard = wantChunk * Math.ceil(w.shard / wantChunk);
                if (codec0?.name !== "sharding_indexed" || JSON.stringify(grid) !== JSON.stringify([wantShard])) {
                  droppedShards.push(
                    `${c.id} ${what}: X/${part} asked for shards [${wantShard}], written ${codec0?.name === "sharding_indexed" ? `with shards ${JSON.stringify(grid)}` : "unsharded"}`,
                  );
                }
              }
            }
            const back = (await readZarr(where)).X as unknown as { computeSparse(o?: object): Promise<SparseMatrix> };
            for (const p of sparseDiffers(c.m, await back.computeSparse({ progress: false }))) problems.push(`${what}: zask reads ${p}`);
            if (w.format === 2) sparseQueue.push({ path: where, what: `${c.id} ${what}`, m: c.m, chunk: wantChunk });
          } catch (err) {
            problems.push(`${what}: threw ${(err as Error).stack?.split("\n").slice(0, 3).join(" | ")}`);
          }
        }
        assert.deepEqual(problems, [], `${c.id}: ${c.desc}`);
      });
    }
  }

  it("shards asked for a sparse element apply to its 1-d parts, as its chunks do (anndata passes both to data, indices and indptr)", () => {
    assert.deepEqual(droppedShards, []);
  });

  it("anndata 0.8 reads every v2 store with the same X: format, shape, dtypes and values", { skip: skipPython }, async () => {
    assert.ok(sparseQueue.length > 0);
    const code = `
import json, sys, anndata, zarr, numpy as np
out = []
for p in json.loads(sys.argv[1]):
    a = anndata.read_zarr(p)
    X = a.X
    def hx(v):
        v = np.ascontiguousarray(v)
        if v.dtype.kind == "f":
            v = v.copy(); v[np.isnan(v)] = np.nan
        return v.astype(v.dtype.newbyteorder("<")).tobytes().hex()
    out.append({"format": X.format, "shape": list(X.shape), "dtype": X.dtype.str, "indices": X.indices.dtype.str, "indptr": X.indptr.dtype.str,
                "data_hex": hx(X.data), "indices_list": [int(i) for i in X.indices], "indptr_list": [int(i) for i in X.indptr],
                "chunks": list(zarr.open_group(p, mode="r")["X/data"].chunks)})
print(json.dumps(out))
`;
    const answers = (await pythonJson(code, JSON.stringify(sparseQueue.map((q) => q.path)))) as {
      format: string;
      shape: number[];
      dtype: string;
      indices: string;
      indptr: string;
      data_hex: string;
      indices_list: number[];
      indptr_list: number[];
      chunks: number[];
    }[];
    const problems: string[] = [];
    sparseQueue.forEach((q, i) => {
      const a = answers[i]!;
      const e = q.m;
      const want = {
        format: e.format,
        shape: [...e.shape],
        dtype: V2_DTYPE[e.dtype],
        indices: e.indices.BYTES_PER_ELEMENT === 8 ? "<i8" : "<i4",
        indptr: e.indptr.BYTES_PER_ELEMENT === 8 ? "<i8" : "<i4",
        data_hex: canonicalHex({ data: e.data as Typed, shape: [e.data.length], dtype: e.dtype }),
        indices_list: Array.from(e.indices as ArrayLike<number | bigint>, Number),
        indptr_list: Array.from(e.indptr as ArrayLike<number | bigint>, Number),
        chunks: [q.chunk],
      };
      for (const key of Object.keys(want) as (keyof typeof want)[]) {
        if (JSON.stringify(a[key]) !== JSON.stringify(want[key]))
          problems.push(`${q.what}: anndata's ${key} ${JSON.stringify(a[key]).slice(0, 120)}, expected ${JSON.stringify(want[key]).slice(0, 120)}`);
      }
    });
    assert.deepEqual(problems, []);
  });
});

// ---------------------------------------------------------------------------------------------
// AnnData: an eager dense X written by writeDispatched (zask's own zarr writer, not toZarr)

describe("writeDispatched: random eager dense X with random chunks and shards, against zask, zarrita and Python", () => {
  const root = ROOT;

  for (const seed of SEEDS) {
    for (let k = 0; k < 4; k++) {
      const r = new Rng(seed * 31 + k);
      const dtype = r.pick(DTYPES);
      const shape = [r.chance(0.08) ? 0 : r.int(1, 30), r.chance(0.08) ? 0 : r.int(1, 25)];
      const pattern = r.pick(["mixed", "mixed", "sparse", "negzero"] as const);
      const e: Dense = { data: randomValues(r, dtype, shape[0]! * shape[1]!, pattern), shape, dtype };
      const chunksOf = () => shape.map((n) => (r.chance(0.1) ? -1 : r.int(1, n + 3)));
      const eff = (c: number[]) => c.map((x, i) => (x === -1 ? Math.max(shape[i]!, 1) : x));
      const writes: Write[] = [
        { label: "X v2", format: 2, chunks: chunksOf(), compressor: randomCompressor(r, 2), path: "X" },
        { label: "X v3", format: 3, chunks: chunksOf(), compressor: randomCompressor(r, 3), path: "X" },
      ];
      const c3 = chunksOf();
      writes.push({
        label: "X v3 sharded",
        format: 3,
        chunks: c3,
        compressor: randomCompressor(r, 3),
        shards: r.chance(0.2) ? "auto" : eff(c3).map((c) => c * r.int(1, 3)),
        path: "X",
      });
      it(`dense seed ${seed} case ${k}: ${dtype} ${JSON.stringify(shape)} ${pattern}`, async () => {
        const problems: string[] = [];
        for (const [wi, w] of writes.entries()) {
          const where = path.join(root, `dx${seed}-${k}-${wi}.zarr`);
          const what = `${w.label} ${JSON.stringify({ chunks: w.chunks, compressor: w.compressor, shards: w.shards })}`;
          try {
            const compressor =
              w.compressor === undefined || w.compressor === null || w.compressor.id !== "blosc" ? w.compressor : { ...w.compressor, blocksize: undefined };
            await writeDispatched(
              where,
              "/",
              new AnnData({ X: { data: e.data, shape, dtype } }),
              (write, store, key, elem, options) =>
                write(store, key, elem, key === "/X" ? { ...options, chunks: w.chunks, ...(w.shards === undefined ? {} : { shards: w.shards }) } : options),
              { format: w.format, ...(compressor === undefined ? {} : { compressor: compressor as Compressor | null }) },
            );
            const meta = JSON.parse(readFileSync(path.join(where, "X", w.format === 2 ? ".zarray" : "zarr.json"), "utf8"));
            const gridOut: number[] = w.format === 2 ? meta.chunks : meta.chunk_grid.configuration.chunk_shape;
            const inner = w.shards === undefined ? gridOut : eff(w.chunks);
            if (w.shards === undefined && JSON.stringify(gridOut) !== JSON.stringify(eff(w.chunks)))
              problems.push(`${what}: chunks ${JSON.stringify(gridOut)}`);
            if (Array.isArray(w.shards) && JSON.stringify(gridOut) !== JSON.stringify(w.shards)) problems.push(`${what}: shards ${JSON.stringify(gridOut)}`);
            const wNoBlocksize = { ...w, compressor: compressor as CompressorConfig | null | undefined };
            for (const p of checkStore(where, wNoBlocksize, e, inner, gridOut, strays, false)) problems.push(`${what}: ${p}`);
            const back = (await readZarr(where)).X as LazyArray;
            const got = await back.compute({ progress: false });
            const d1 = differs(e, got.data as Typed);
            if (d1 !== undefined) problems.push(`${what}: zask readZarr: ${d1}`);
            if (e.data.length > 0) {
              const z = await readZarrita(where, wNoBlocksize, true);
              const d2 = differs(e, z.data as Typed);
              if (d2 !== undefined) problems.push(`${what}: zarrita: ${d2}`);
            }
            pythonQueue.push({
              path: path.join(where, "X"),
              format: w.format,
              expected: e,
              inner,
              compressor: fullCompressor(wNoBlocksize.compressor),
              dtype: V2_DTYPE[e.dtype],
              what: `dense seed ${seed} case ${k} ${what}`,
            });
          } catch (err) {
            problems.push(`${what}: threw ${(err as Error).stack?.split("\n").slice(0, 3).join(" | ")}`);
          }
        }
        assert.deepEqual(problems, []);
      });
    }
  }
});

describe("Python reads every array written above", () => {
  const root = ROOT;
  it("zask wrote, with the same values (zarr-python 2.13 for v2, numcodecs + numpy for v3)", { skip: skipPython }, async () => {
    assert.ok(pythonQueue.length > 0);
    const list = path.join(root, "python-list.json");
    writeFileSync(list, JSON.stringify(pythonQueue.map((q) => ({ path: q.path, format: q.format }))));
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, list], { maxBuffer: 1 << 28 });
    const answers = JSON.parse(stdout.trim().split("\n").pop()!) as {
      error?: string;
      shape: number[];
      dtype: string;
      chunks: number[];
      fill_value: unknown;
      compressor?: unknown;
      order?: string;
      filters?: unknown;
      hex: string;
      problems: string[];
    }[];
    const problems: string[] = [];
    pythonQueue.forEach((q, i) => {
      const a = answers[i]!;
      if (a.error !== undefined) return problems.push(`${q.what}: Python: ${a.error}`);
      const e = q.expected;
      for (const p of a.problems) problems.push(`${q.what}: Python: ${p}`);
      if (JSON.stringify(a.shape) !== JSON.stringify(e.shape)) problems.push(`${q.what}: Python shape ${JSON.stringify(a.shape)}`);
      if (a.dtype !== (q.format === 2 ? q.dtype : V2_DTYPE[e.dtype])) problems.push(`${q.what}: Python dtype ${a.dtype}`);
      if (JSON.stringify(a.chunks) !== JSON.stringify(q.inner)) problems.push(`${q.what}: Python chunks ${JSON.stringify(a.chunks)}`);
      if (a.fill_value !== (e.dtype === "bool" ? false : 0)) problems.push(`${q.what}: Python fill_value ${JSON.stringify(a.fill_value)}`);
      if (q.format === 2) {
        try {
          assert.deepEqual(a.compressor, q.compressor);
        } catch {
          problems.push(`${q.what}: Python compressor ${JSON.stringify(a.compressor)}, expected ${JSON.stringify(q.compressor)}`);
        }
        if (a.order !== "C" || a.filters !== null) problems.push(`${q.what}: Python order ${a.order}, filters ${JSON.stringify(a.filters)}`);
      }
      const want = canonicalHex(e);
      if (a.hex !== want) {
        const size = CTOR[e.dtype].BYTES_PER_ELEMENT * 2;
        let at = 0;
        while (at < want.length && a.hex.slice(at, at + size) === want.slice(at, at + size)) at += size;
        problems.push(
          `${q.what}: Python values differ, first at flat index ${at / size}: 0x${a.hex.slice(at, at + size)}, expected 0x${want.slice(at, at + size)}`,
        );
      }
      return undefined;
    });
    assert.deepEqual(problems, []);
  });
});
