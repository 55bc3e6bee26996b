import assert from "node:assert/strict";
import { it } from "node:test";
import { NumericScalar } from "@zask/anndata";

it("a NumericScalar converts to a number where one is expected and checks its range", () => {
  const s = new NumericScalar(2.5, "float32");
  assert.equal(+s * 2, 5);
  assert.equal(String(new NumericScalar(2n ** 63n + 5n, "uint64")), "9223372036854775813");
  assert.equal(JSON.stringify({ s, big: new NumericScalar(2n ** 63n + 5n, "uint64") }), '{"s":2.5,"big":"9223372036854775813"}');
  assert.throws(() => new NumericScalar(300, "uint8"), RangeError);
  assert.throws(() => new NumericScalar(0.5, "int32"), RangeError);
  assert.throws(() => new NumericScalar(1, "string" as never), RangeError);
});
