/** A column of `formatTable`: the header and where to find the cell in a row. */
export interface Column<Row> {
  header: string;
  cell: (row: Row) => string | number | undefined;
  /** @default "right" for numbers, "left" otherwise (decided per cell) */
  align?: "left" | "right";
}

/**
 * Lays out rows as an aligned plain-text table with a header rule, for the terminal
 * (the demo's closing table, inspect's element list). `undefined` cells print as `–`.
 *
 * @example
 * ```ts
 * formatTable([{ query: "one gene", requests: 1 }], [
 *   { header: "query", cell: (r) => r.query },
 *   { header: "requests", cell: (r) => r.requests },
 * ]);
 * // query     requests
 * // --------  --------
 * // one gene         1
 * ```
 */
export function formatTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const cells = rows.map((row) => columns.map((c) => c.cell(row)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => text(r[i]).length)));
  const pad = (value: string | number | undefined, i: number): string => {
    const width = widths[i] ?? 0;
    const align = columns[i]?.align ?? (typeof value === "number" ? "right" : "left");
    return align === "right" ? text(value).padStart(width) : text(value).padEnd(width);
  };
  const lines = [
    columns.map((c, i) => (c.align === "right" ? c.header.padStart(widths[i] ?? 0) : c.header.padEnd(widths[i] ?? 0))).join("  "),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...cells.map((r) => r.map(pad).join("  ")),
  ];
  return lines.map((l) => l.trimEnd()).join("\n");
}

const text = (value: string | number | undefined): string => (value === undefined ? "–" : String(value));
