import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTable } from "zask";

test("formatTable aligns text left and numbers right under a header rule", () => {
  const rows = [
    { query: "one gene", requests: 1, ms: 3.5 },
    { query: "59 genes", requests: 53, ms: undefined },
  ];
  const table = formatTable(rows, [
    { header: "query", cell: (r) => r.query },
    { header: "requests", cell: (r) => r.requests, align: "right" },
    { header: "ms", cell: (r) => r.ms, align: "right" },
  ]);
  assert.equal(table, ["query     requests   ms", "--------  --------  ---", "one gene         1  3.5", "59 genes        53    –"].join("\n"));
});
