import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { fromTypedArray, slice, type Selector } from "@zask/array";

// The reference: Python's slice.indices and numpy's orthogonal selection, written out plainly.
function pyRange(start: number | null, stop: number | null, step: number, n: number): number[] {
  const norm = (v: number) => (v < 0 ? v + n : v);
  const out: number[] = [];
  if (step > 0) {
    let a = start === null ? 0 : Math.min(Math.max(norm(start), 0), n);
    const b = stop === null ? n : Math.min(Math.max(norm(stop), 0), n);
    for (; a < b; a += step) out.push(a);
  } else {
    let a = start === null ? n - 1 : Math.min(Math.max(norm(start), -1), n - 1);
    const b = stop === null ? -1 : Math.min(Math.max(norm(stop), -1), n - 1);
    for (; a > b; a += step) out.push(a);
  }
  return out;
}

type Sel =
  | { kind: "all" }
  | { kind: "int"; i: number }
  | { kind: "slice"; start: number | null; stop: number | null; step: number }
  | { kind: "mask"; m: boolean[] }
  | { kind: "list"; l: number[] };

function positions(s: Sel, n: number): number[] {
  switch (s.kind) {
    case "all":
      return Array.from({ length: n }, (_, i) => i);
    case "int":
      return [s.i < 0 ? s.i + n : s.i];
    case "slice":
      return pyRange(s.start, s.stop, s.step, n);
    case "mask":
      return s.m.flatMap((b, i) => (b ? [i] : []));
    case "list":
      return s.l.map((i) => (i < 0 ? i + n : i));
  }
}

function toSelector(s: Sel): Selector {
  switch (s.kind) {
    case "all":
      return null;
    case "int":
      return s.i;
    case "slice":
      return slice(s.start, s.stop, s.step);
    case "mask":
      return s.m;
    case "list":
      return s.l;
  }
}

const selFor = (n: number): fc.Arbitrary<Sel> =>
  fc.oneof(
    fc.constant<Sel>({ kind: "all" }),
    fc.integer({ min: -n, max: n - 1 }).map<Sel>((i) => ({ kind: "int", i })),
    fc
      .record({
        start: fc.option(fc.integer({ min: -n - 2, max: n + 2 })),
        stop: fc.option(fc.integer({ min: -n - 2, max: n + 2 })),
        step: fc.integer({ min: -4, max: 4 }).filter((s) => s !== 0),
      })
      .map<Sel>((r) => ({ kind: "slice", ...r })),
    fc.array(fc.boolean(), { minLength: n, maxLength: n }).map<Sel>((m) => ({ kind: "mask", m })),
    fc.array(fc.integer({ min: -n, max: n - 1 }), { maxLength: 2 * n }).map<Sel>((l) => ({ kind: "list", l })),
  );

const caseArb = fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 3 }).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    chunks: fc.tuple(...shape.map((n) => fc.integer({ min: 1, max: n }))),
    sels: fc.tuple(...shape.map((n) => selFor(n))),
  }),
);

test("any selection of any chunked array equals numpy's orthogonal selection (property)", async () => {
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ shape, chunks, sels }) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = Int32Array.from({ length: size }, (_, i) => i * 7 - 3);
      const x = fromTypedArray(data, shape, { chunks });
      const per = sels.map((s, k) => positions(s, shape[k]!));
      const outShape = per.filter((_, k) => sels[k]!.kind !== "int").map((p) => p.length);
      const want: number[] = [];
      const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
      const walk = (k: number, offset: number): void => {
        if (k === shape.length) {
          want.push(data[offset]!);
          return;
        }
        for (const p of per[k]!) walk(k + 1, offset + p * strides[k]!);
      };
      walk(0, 0);
      const y = x.slice(...sels.map(toSelector));
      assert.deepEqual(y.shape, outShape);
      const r = await y.compute({ scheduler: "sync" });
      assert.deepEqual(r.shape, outShape);
      assert.deepEqual(Array.from(r.data as Int32Array), want);
    }),
    { numRuns: 150 },
  );
});
