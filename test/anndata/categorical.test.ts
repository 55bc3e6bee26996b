import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import { Categorical } from "@zask/anndata";

test("a Categorical prints its values and categories as pandas does", () => {
  const c = new Categorical(new Int8Array([0, 1, -1]), ["B cells", "T cells"]);
  assert.equal(String(c), "['B cells', 'T cells', NaN]\nCategories (2, object): ['B cells', 'T cells']");
  assert.equal(inspect(c), String(c));
});

test("a long or ordered Categorical prints its first and last rows, its length, and `<` between categories", () => {
  const c = Categorical.fromValues(
    Array.from({ length: 12 }, (_, i) => i % 3),
    { ordered: true },
  );
  assert.equal(String(c), "[0, 1, 2, 0, 1, ..., 1, 2, 0, 1, 2]\nLength: 12\nCategories (3, int64): [0 < 1 < 2]");
});
