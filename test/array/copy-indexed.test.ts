import assert from "node:assert/strict";
import { test } from "node:test";
import { assemble, getitem } from "@zask/array/ops";

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
