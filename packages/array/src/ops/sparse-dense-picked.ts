// The dense answer of a minor-axis selection written straight from the picked values of its
// chunk pairs (sparse-pick.ts), without gathering each block first.
import { allocate, type DataType, type NDArray, type TypedArray } from "../dtype.js";
import { clampBool, scatterInto, sparseConcat, type SparseFormat } from "./sparse-block.js";
import { sparseGatherPicked, type SparsePickedBlockLayout } from "./sparse-gather-picked.js";
import type { SparsePicked } from "./sparse-pick.js";

/**
 * inline op: the dense C-order answer of a picked read's blocks, each block's picked values
 * written straight into it (duplicate entries add up, as scipy's toarray), so no block is
 * gathered into a {@link SparseBlock} first. `blocks` are in major order, each with the picks
 * its gather would take.
 *
 * @example
 * ```ts
 * const layout = { format: "csr", starts: Float64Array.of(0), ends: Float64Array.of(3), minor: 2, dtype: "float32" } as const;
 * const pick = { base: 0, positions: Int32Array.of(2), indices: Int32Array.of(1), data: Float32Array.of(5) };
 * sparseDensePicked([[layout, [pick]]], "csr", [1, 2], "float32").data; // Float32Array [0, 5]
 * ```
 */
export function sparseDensePicked(
  blocks: readonly (readonly [SparsePickedBlockLayout, readonly SparsePicked[]])[],
  format: SparseFormat,
  shape: readonly [number, number],
  dtype: DataType,
): NDArray {
  const out = allocate(dtype, shape[0] * shape[1]) as TypedArray;
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    return sparseConcat(
      blocks.map(([layout, picks]) => sparseGatherPicked(layout, picks)),
      format,
      shape,
      dtype,
      true,
    ) as NDArray;
  }
  const cols = shape[1];
  let offset = 0;
  for (const [layout, picks] of blocks) {
    scatterPicked(out as unknown as number[], cols, format === "csr", offset, layout, picks);
    offset += layout.starts.length;
  }
  if (dtype === "bool") clampBool(out);
  return { data: out, shape: [shape[0], shape[1]], dtype };
}

/** Whether each major position's stored range starts at or after the previous one's end. */
function rangesAscend(starts: Float64Array, ends: Float64Array): boolean {
  for (let a = 1; a < starts.length; a++) if (starts[a]! < ends[a - 1]!) return false;
  return true;
}

/**
 * Add one block's picked values into the dense `out` (`cols` wide), its major positions from
 * `offset` on. When the positions' ranges ascend (a whole matrix, or a selection in order), one
 * walk over the picked values advances the major position as their stored positions pass its
 * end; otherwise the block is gathered and scattered.
 */
function scatterPicked(out: number[], cols: number, csr: boolean, offset: number, layout: SparsePickedBlockLayout, picks: readonly SparsePicked[]): void {
  const { starts, ends } = layout;
  const major = starts.length;
  if (major > 0 && rangesAscend(starts, ends)) {
    // CSR: row offset + a, columns from the picks; CSC: column offset + a, rows from the picks
    const step = csr ? 1 : cols;
    const baseOf = (a: number): number => (csr ? (offset + a) * cols : offset + a);
    let a = 0;
    let start = starts[0]!;
    let end = ends[0]!;
    let base = baseOf(0);
    for (const { base: b, positions, indices, data } of picks) {
      const pd = data as unknown as number[];
      for (let i = 0; i < positions.length; i++) {
        const p = b + positions[i]!;
        if (p >= end) {
          do a++;
          while (a < major && p >= ends[a]!);
          if (a === major) return;
          start = starts[a]!;
          end = ends[a]!;
          base = baseOf(a);
        }
        // a picked value between two positions' ranges (rows outside a selection) is not theirs
        if (p >= start) out[base + indices[i]! * step]! += pd[i]!;
      }
    }
    return;
  }
  // rows out of order or overlapping (a selection's): gathered as a block first
  scatterInto(out as unknown as TypedArray, cols, sparseGatherPicked(layout, picks), offset);
}
