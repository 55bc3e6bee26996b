import type { Array } from "./array.js";
import { itemsize } from "./dtype.js";

/** Bytes in dask's units (`18.50 MiB`). */
export function formatBytes(n: number): string {
  const units = ["B", "kiB", "MiB", "GiB", "TiB", "PiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(2)} ${units[u]}`;
}

function tuple(xs: readonly number[]): string {
  return xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(", ")})`;
}

/**
 * dask's summary of an array, as text:
 *
 * ```
 * zask.Array<from-zarr-1f2e…, shape=(2638, 1838), dtype=float32, chunksize=(2638, 5)>
 *           Array       Chunk
 * Bytes     18.50 MiB   51.52 kiB
 * Shape     (2638, 1838)  (2638, 5)
 * Count     368 chunks in 2 graph layers
 * ```
 */
export function reprArray(x: Array): string {
  const chunkShape = x.chunks.map((c) => Math.max(0, ...c));
  const nChunks = x.numBlocks.reduce((a, b) => a * b, 1);
  const layers = x.graph.layers.size;
  const size = itemsize(x.dtype);
  const rows: [string, string, string][] = [
    ["", "Array", "Chunk"],
    ["Bytes", size ? formatBytes(x.nbytes) : "unknown", size ? formatBytes(chunkShape.reduce((a, b) => a * b, size)) : "unknown"],
    ["Shape", tuple(x.shape), tuple(chunkShape)],
    ["Dtype", x.dtype, x.dtype],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length)) + 2;
  const w1 = Math.max(...rows.map((r) => r[1].length)) + 2;
  const lines = [`zask.Array<${x.name}, shape=${tuple(x.shape)}, dtype=${x.dtype}, chunksize=${tuple(chunkShape)}>`];
  for (const [a, b, c] of rows) lines.push((a.padEnd(w0) + b.padEnd(w1) + c).trimEnd());
  lines.push("Count".padEnd(w0) + `${nChunks} chunk${nChunks === 1 ? "" : "s"} in ${layers} graph layer${layers === 1 ? "" : "s"}`);
  return lines.join("\n");
}
