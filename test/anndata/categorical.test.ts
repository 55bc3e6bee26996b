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

test("a Categorical's categoriesDtype is the given one, else its categories' own; one that would change them is refused", () => {
  const codes = new Int8Array([0, 1, -1]);
  assert.equal(new Categorical(codes, ["a", "b"]).categoriesDtype, "string");
  assert.equal(new Categorical(codes, [true, false]).categoriesDtype, "bool");
  assert.equal(new Categorical(codes, [1.5, 2]).categoriesDtype, "float64");
  assert.equal(new Categorical(codes, [1n, 2n]).categoriesDtype, "int64");
  assert.equal(new Categorical(codes, [2n ** 64n - 1n, 5n]).categoriesDtype, "uint64");
  assert.equal(new Categorical(new Int8Array([-1]), [], false, "int64").categoriesDtype, "int64");
  assert.equal(new Categorical(codes, [3, 7], false, "int8").categoriesDtype, "int8");
  assert.throws(() => new Categorical(codes, ["a", 1] as never[]), /of one kind .*string and number/);
  assert.throws(() => new Categorical(codes, [1, 2], false, "string"), /dtype string holds, got float64/);
  assert.throws(() => new Categorical(codes, [3, 300], false, "int8"), /int8 holds exactly, got `300` at 1/);
  assert.throws(() => new Categorical(codes, [-1n, 2n], false, "uint64"), /uint64 holds exactly, got `-1` at 0/);
  assert.throws(() => new Categorical(codes, [0.1, 2], false, "float32"), /float32 holds exactly/);
});
