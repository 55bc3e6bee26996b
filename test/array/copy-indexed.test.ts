// The n-d copy under every selection and assembly (ops/copy-indexed.ts), through the ops that
// use it: its loops are specialised by element width, so each width is checked bit for bit.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assemble, getitem } from "@zask/array/ops";

describe("selections and assemblies copy every element width exactly", () => {
  const kinds = [
    ["int8", Int8Array],
    ["uint16", Uint16Array],
    ["float32", Float32Array],
    ["float64", Float64Array],
    ["int64", BigInt64Array],
  ] as const;

  for (const [dtype, C] of kinds) {
    test(`a column selection and a column assembly of ${dtype} keep each value's bits`, () => {
      const rows = 7;
      const cols = 5;
      const data = new C(rows * cols);
      const bytes = new Uint8Array(data.buffer);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) & 255;
      const block = { data, shape: [rows, cols], dtype } as never;
      const picked = [4, 0, 3];
      const got = getitem(block, [null, picked], [rows, picked.length]) as unknown as { data: InstanceType<typeof C> };
      const want = new C(rows * picked.length);
      for (let r = 0; r < rows; r++) for (let j = 0; j < picked.length; j++) want[r * picked.length + j] = data[r * cols + picked[j]!]!;
      assert.deepEqual(new Uint8Array(got.data.buffer, got.data.byteOffset, got.data.byteLength), new Uint8Array(want.buffer));
      // the selected columns next to the block again: narrow and wide pieces of one array
      const whole = assemble([got as never, block], [[rows], [picked.length, cols]], dtype) as unknown as { data: InstanceType<typeof C> };
      for (let r = 0; r < rows; r++) {
        const row = Array.from(whole.data.subarray(r * 8, r * 8 + 8) as ArrayLike<number | bigint>);
        const expect = [
          ...Array.from(want.subarray(r * 3, r * 3 + 3) as ArrayLike<number | bigint>),
          ...Array.from(data.subarray(r * cols, r * cols + cols) as ArrayLike<number | bigint>),
        ];
        assert.deepEqual(
          row.map((v) => (typeof v === "number" && Number.isNaN(v) ? "NaN" : v)),
          expect.map((v) => (typeof v === "number" && Number.isNaN(v) ? "NaN" : v)),
        );
      }
      assert.deepEqual(
        new Uint8Array(whole.data.buffer, whole.data.byteOffset + 3 * C.BYTES_PER_ELEMENT, cols * C.BYTES_PER_ELEMENT),
        new Uint8Array(data.buffer, 0, cols * C.BYTES_PER_ELEMENT),
      );
    });
  }
});

test("selecting float32 values keeps the bits of NaNs with payloads, signalling ones included", () => {
  const bits = new Uint32Array([0x7fa00001, 0xffc12345, 0x7f800001, 1, 2, 3]);
  const block = { data: new Float32Array(bits.buffer), shape: [2, 3], dtype: "float32" as const };
  const r = getitem(block, [null, [0, 1, 2]], [2, 3]);
  assert.deepEqual([...new Uint32Array((r.data as Float32Array).buffer)], [...bits]);
});

test("a few columns of a tall block are gathered as element-wise selection would", () => {
  const rows = 257;
  const cols = 40;
  const data = Int16Array.from({ length: rows * cols }, (_, i) => (i * 7919) % 32749);
  const picked = [39, 0, 17];
  const r = getitem({ data, shape: [rows, cols], dtype: "int16" }, [null, picked], [rows, picked.length]);
  const want = Int16Array.from({ length: rows * picked.length }, (_, i) => data[Math.floor(i / picked.length) * cols + picked[i % picked.length]!]!);
  assert.deepEqual(r.data, want);
});

test("blocks of a few columns assemble in C order, strings as well as numbers", () => {
  const chunks = [
    [3, 2],
    [2, 1],
  ];
  const numbers = [0, 1, 2, 3].map((b) => {
    const shape = [chunks[0]![b >> 1]!, chunks[1]![b & 1]!];
    return { data: Float64Array.from({ length: shape[0]! * shape[1]! }, (_, i) => b * 100 + i), shape, dtype: "float64" as const };
  });
  const n = assemble(numbers, chunks, "float64");
  assert.deepEqual([...(n.data as Float64Array)], [0, 1, 100, 2, 3, 101, 4, 5, 102, 200, 201, 300, 202, 203, 301]);
  const strings = numbers.map((b) => ({ data: Array.from(b.data as Float64Array, String), shape: b.shape, dtype: "string" as const }));
  assert.deepEqual(assemble(strings, chunks, "string").data, Array.from(n.data as Float64Array, String));
});

test("1-d blocks assemble end to end, strings, numbers and int64 alike, and a step selection of one axis keeps order", () => {
  const sizes = [3, 1, 4];
  const blocks = <T>(make: (i: number) => T) => {
    let at = 0;
    return sizes.map((n) => {
      const out = Array.from({ length: n }, (_, k) => make(at + k));
      at += n;
      return out;
    });
  };
  const want = Array.from({ length: 8 }, (_, i) => i * 3 + 1);
  const strings = blocks((i) => `s${want[i]}`).map((data) => ({ data, shape: [data.length], dtype: "string" as const }));
  assert.deepEqual(
    assemble(strings, [sizes], "string").data,
    want.map((v) => `s${v}`),
  );
  const floats = blocks((i) => want[i]!).map((data) => ({ data: Float32Array.from(data), shape: [data.length], dtype: "float32" as const }));
  assert.deepEqual([...(assemble(floats, [sizes], "float32").data as Float32Array)], want);
  const ints = blocks((i) => BigInt(want[i]!) - 2n ** 40n).map((data) => ({ data: BigInt64Array.from(data), shape: [data.length], dtype: "int64" as const }));
  assert.deepEqual(
    [...(assemble(ints, [sizes], "int64").data as BigInt64Array)],
    want.map((v) => BigInt(v) - 2n ** 40n),
  );
  const every = { data: Array.from({ length: 10 }, (_, i) => `v${i}`), shape: [10], dtype: "string" as const };
  assert.deepEqual(getitem(every, [{ start: 1, step: 3, count: 3 }], [3]).data, ["v1", "v4", "v7"]);
});

test("a wide selection of columns (copied row by row) and a narrow one (column by column) agree with element-wise picking", () => {
  const rows = 33;
  const cols = 48;
  for (const [dtype, make] of [
    ["uint8", (n: number) => new Uint8Array(n)],
    ["float64", (n: number) => new Float64Array(n)],
  ] as const) {
    const data = make(rows * cols);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
    for (const picked of [Array.from({ length: 20 }, (_, j) => 47 - 2 * j), [5, 44]]) {
      const r = getitem({ data, shape: [rows, cols], dtype } as never, [null, picked], [rows, picked.length]) as unknown as { data: Uint8Array | Float64Array };
      const want = make(rows * picked.length);
      for (let i = 0; i < want.length; i++) want[i] = data[Math.floor(i / picked.length) * cols + picked[i % picked.length]!]!;
      assert.deepEqual(r.data, want, `${dtype}, ${picked.length} columns`);
    }
  }
});
