import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";
import { Array as LazyArray, ones } from "@zask/array";
import { isArray, makeArray } from "../../packages/array/dist/array-factory.js";

const dist = new URL("../../packages/array/dist/", import.meta.url);

/** The relative modules a built module imports or re-exports at run time (type-only imports are gone from the JS). */
function runtimeImports(file: string): string[] {
  const js = readFileSync(new URL(file, dist), "utf8");
  const out: string[] = [];
  for (const m of js.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.\/[^"]+)";/gms)) out.push(m[1]!.slice(2));
  for (const m of js.matchAll(/^import\s+"(\.\/[^"]+)";/gm)) out.push(m[1]!.slice(2));
  return out;
}

test("no module that array.js loads imports array.js back at run time", () => {
  const seen = new Set<string>();
  const stack = runtimeImports("array.js");
  const cycles: string[] = [];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const deps = runtimeImports(f);
    if (deps.includes("array.js")) cycles.push(f);
    stack.push(...deps.filter((d) => d !== "array.js"));
  }
  assert.ok(seen.has("elementwise.js") && seen.has("reductions.js"), "array.js loads its method modules");
  assert.deepEqual(cycles, []);
});

test("graph builders and per-chunk kernels do not share a file name", () => {
  const src = new URL("../../packages/array/src/", import.meta.url);
  const builders = new Set(readdirSync(src).filter((f) => f.endsWith(".ts")));
  const kernels = readdirSync(new URL("ops/", src)).filter((f) => f.endsWith(".ts") && f !== "index.ts" && f !== "zarr.ts");
  assert.ok(kernels.length > 0);
  assert.deepEqual(
    kernels.filter((f) => builders.has(f)),
    [],
  );
});

test("builders make instances of the installed Array class", () => {
  const x = ones([4], { chunks: 2 });
  assert.ok(x instanceof LazyArray);
  assert.ok(isArray(x));
  assert.ok(!isArray({ graph: x.graph, name: x.name, chunks: x.chunks, dtype: x.dtype }));
  const y = makeArray(x.graph, x.name, x.chunks, x.dtype);
  assert.ok(y instanceof LazyArray);
  assert.deepEqual(y.shape, [4]);
});
