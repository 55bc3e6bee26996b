import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { op } from "@zask/graph";
import { close } from "@zask/scheduler";
import { BlockShapeError, blockwise, fromTypedArray, mapBlocks, type NDArray } from "@zask/array";

const userOps = new URL("../fixtures/array-ops/ops.mjs", import.meta.url);

after(() => close());

describe("mapBlocks", () => {
  test("a plain function runs inline on every block, closures included", async () => {
    const x = fromTypedArray(
      Float64Array.from({ length: 10 }, (_, i) => i),
      [10],
      { chunks: [4] },
    );
    const offset = 100;
    const seen: number[][] = [];
    const y = mapBlocks(
      (b: NDArray) => {
        seen.push([...b.shape]);
        return { data: Float64Array.from(b.data as Float64Array, (v) => v + offset), shape: b.shape, dtype: "float64" };
      },
      [x],
    );
    const r = await y.compute({ scheduler: "threads" });
    assert.deepEqual([...r.data], [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
    assert.deepEqual(seen.sort(), [[2], [4], [4]]);
  });

  test("an op reference runs on the worker pool", async () => {
    const x = fromTypedArray(
      Float64Array.from({ length: 12 }, (_, i) => i),
      [3, 4],
      { chunks: [2, 2] },
    );
    const where = mapBlocks(op(userOps, "threadOf"), [x], {
      dtype: "float64",
      chunks: [
        [1, 1],
        [1, 1],
      ],
    });
    assert.deepEqual([...(await where.compute({ scheduler: "threads", inlineThreshold: 0 })).data], [1, 1, 1, 1]);
    const doubled = await mapBlocks(op(userOps, "double"), [x], { dtype: "float64" }).compute({ scheduler: "threads", inlineThreshold: 0 });
    assert.deepEqual(
      [...doubled.data],
      Array.from({ length: 12 }, (_, i) => 2 * i),
    );
  });

  test("several arrays broadcast and are brought to common chunks", async () => {
    const x = fromTypedArray(
      Float64Array.from({ length: 6 }, (_, i) => i),
      [2, 3],
      { chunks: [1, 2] },
    );
    const row = fromTypedArray(new Float64Array([10, 20, 30]), [3], { chunks: [1] });
    const shapes: string[] = [];
    const y = mapBlocks(
      (a: NDArray, b: NDArray) => {
        shapes.push(`${a.shape}|${b.shape}`);
        const out = new Float64Array(a.data.length);
        const w = a.shape[1]!;
        for (let i = 0; i < out.length; i++) out[i] = (a.data as Float64Array)[i]! + (b.data as Float64Array)[i % w]!;
        return { data: out, shape: a.shape, dtype: "float64" };
      },
      [x, row],
    );
    assert.deepEqual(y.chunks, [
      [1, 1],
      [1, 1, 1],
    ]);
    assert.deepEqual([...(await y.compute({ scheduler: "sync" })).data], [10, 21, 32, 13, 24, 35]);
    assert.ok(shapes.every((s) => s === "1,1|1"));
  });

  test("the chunks option declares blocks of another shape", async () => {
    const x = fromTypedArray(
      Float64Array.from({ length: 12 }, (_, i) => i),
      [12],
      { chunks: [5] },
    );
    const firsts = mapBlocks((b: NDArray) => ({ data: (b.data as Float64Array).slice(0, 1), shape: [1], dtype: "float64" }), [x], { chunks: [[1, 1, 1]] });
    assert.deepEqual([...firsts.shape], [3]);
    assert.deepEqual([...(await firsts.compute({ scheduler: "sync" })).data], [0, 5, 10]);
  });

  test("closures with the same source but different captured values make different layers", async () => {
    const x = fromTypedArray(new Float64Array([1, 2]), [2]);
    const plus = (k: number) => (b: NDArray) => ({ data: Float64Array.from(b.data as Float64Array, (v) => v + k), shape: b.shape, dtype: "float64" as const });
    const y1 = mapBlocks(plus(1), [x]);
    const y2 = mapBlocks(plus(2), [x]);
    assert.notEqual(y1.name, y2.name);
    const f = plus(3);
    assert.equal(mapBlocks(f, [x]).name, mapBlocks(f, [x]).name);
    assert.deepEqual([...(await y2.compute({ scheduler: "sync" })).data], [3, 4]);
  });

  test("bad arguments are TypeErrors and RangeErrors", () => {
    const x = fromTypedArray(new Float64Array(4), [4], { chunks: [2] });
    assert.throws(() => mapBlocks("double" as never, [x]), TypeError);
    assert.throws(() => mapBlocks(op(userOps, "double"), []), TypeError);
    assert.throws(() => mapBlocks(op(userOps, "double"), [x], { chunks: [[4]] }), RangeError);
    assert.throws(() => mapBlocks(op(userOps, "double"), [x], { dtype: "float16" as never }), TypeError);
  });
});

describe("blockwise", () => {
  test("a contracted index hands the op every block along it (block matrix product)", async () => {
    const a = Float64Array.from({ length: 4 * 6 }, (_, i) => (i % 7) - 3);
    const b = Float64Array.from({ length: 6 * 5 }, (_, i) => (i % 5) * 0.5);
    const x = fromTypedArray(a, [4, 6], { chunks: [2, 3] });
    const y = fromTypedArray(b, [6, 5], { chunks: [2, 2] }); // j chunks differ: unified to [2, 1, 1, 2]
    const z = blockwise(
      op(userOps, "matmulBlocks"),
      "ik",
      [
        [x, "ij"],
        [y, "jk"],
      ],
      { dtype: "float64" },
    );
    assert.deepEqual(z.chunks, [
      [2, 2],
      [2, 2, 1],
    ]);
    const expected: number[] = [];
    for (let i = 0; i < 4; i++)
      for (let k = 0; k < 5; k++) {
        let s = 0;
        for (let j = 0; j < 6; j++) s += a[i * 6 + j]! * b[j * 5 + k]!;
        expected.push(s);
      }
    const r = await z.compute({ scheduler: "threads", inlineThreshold: 0 });
    assert.deepEqual([...r.shape], [4, 5]);
    [...r.data].forEach((v, i) => assert.ok(Math.abs(Number(v) - expected[i]!) < 1e-12, `element ${i}`));
  });

  test("literals pass through and newAxes adds a one-block axis", async () => {
    const x = fromTypedArray(new Float64Array([1, 2, 3]), [3], { chunks: [2] });
    const z = blockwise(
      (b: NDArray, factor: number) => ({ data: Float64Array.from(b.data as Float64Array, (v) => v * factor), shape: [b.shape[0]!, 1], dtype: "float64" }),
      "ij",
      [
        [x, "i"],
        [10, null],
      ],
      { dtype: "float64", newAxes: { j: 1 } },
    );
    assert.deepEqual(z.chunks, [[2, 1], [1]]);
    assert.deepEqual([...(await z.compute({ scheduler: "sync" })).data], [10, 20, 30]);
  });

  test("an output symbol no input carries is a RangeError", () => {
    const x = fromTypedArray(new Float64Array(3), [3]);
    assert.throws(() => blockwise(op(userOps, "double"), "ij", [[x, "i"]], { dtype: "float64" }), RangeError);
  });
});

describe("assembling blocks", () => {
  test("a block whose shape is not its chunk's is refused with a BlockShapeError naming it", async () => {
    const x = fromTypedArray(
      Float64Array.from({ length: 10 }, (_, i) => i),
      [10],
      { chunks: [4] },
    );
    // the last block (2 values) comes back with 3: nothing may be assembled from it
    const y = mapBlocks(
      (b: NDArray) => ({ data: new Float64Array(b.shape[0] === 2 ? 3 : b.shape[0]!), shape: b.shape[0] === 2 ? [3] : b.shape, dtype: "float64" }),
      [x],
    );
    const err = await y.compute().then(
      () => undefined,
      (e: unknown) => e,
    );
    const cause = err instanceof BlockShapeError ? err : (err as { cause?: unknown } | undefined)?.cause;
    assert.ok(cause instanceof BlockShapeError, `expected a BlockShapeError, got ${String(err)}`);
    assert.equal(cause.key, y.key([2]));
    assert.deepEqual([cause.shape, cause.expected], [[3], [2]]);
    // a block whose values disagree with its own shape is refused too
    const z = mapBlocks((b: NDArray) => ({ data: new Float64Array(1), shape: b.shape, dtype: "float64" }), [x]);
    await assert.rejects(z.compute(), (e: unknown) => (e instanceof BlockShapeError ? e : (e as { cause?: unknown }).cause) instanceof BlockShapeError);
  });
});
