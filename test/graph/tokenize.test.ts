import { test } from "node:test";
import assert from "node:assert/strict";
import { op, ref, tokenSymbol, tokenize } from "@zask/graph";

test("equal inputs give equal tokens and different inputs different ones", () => {
  assert.equal(tokenize("ones", [10, 10], "float32"), tokenize("ones", [10, 10], "float32"));
  assert.notEqual(tokenize("ones", [10, 10], "float32"), tokenize("ones", [10, 11], "float32"));
  assert.notEqual(tokenize("1"), tokenize(1));
  assert.notEqual(tokenize(["a", "b"]), tokenize(["ab"]));
});

test("plain objects hash by sorted entries, typed arrays by bytes", () => {
  assert.equal(tokenize({ a: 1, b: 2 }), tokenize({ b: 2, a: 1 }));
  assert.equal(tokenize(new Float32Array([1, 2])), tokenize(new Float32Array([1, 2])));
  assert.notEqual(tokenize(new Float32Array([1, 2])), tokenize(new Float32Array([1, 3])));
  assert.notEqual(tokenize(new Float32Array([1])), tokenize(new Int32Array(new Float32Array([1]).buffer)));
});

test("refs, op refs and self-tokenizing objects hash by what they name", () => {
  assert.equal(tokenize(ref("a")), tokenize(ref("a")));
  assert.equal(tokenize(op("m", "f")), tokenize(op("m", "f")));
  assert.notEqual(tokenize(op("m", "f")), tokenize(op("m", "f", { lane: "io" })));
  const store = (url: string) => ({ [tokenSymbol]: () => url });
  assert.equal(tokenize(store("http://h/a")), tokenize(store("http://h/a")));
  assert.notEqual(tokenize(store("http://h/a")), tokenize(store("http://h/b")));
});

test("other class instances hash by identity", () => {
  class Thing {}
  const t = new Thing();
  assert.equal(tokenize(t), tokenize(t));
  assert.notEqual(tokenize(new Thing()), tokenize(new Thing()));
});

test("closures with the same source but different captured values get different tokens", () => {
  const make = (k: number) => (x: number) => x * k;
  assert.notEqual(tokenize(make(2)), tokenize(make(3)));
  const f = make(2);
  assert.equal(tokenize(f), tokenize(f));
});
