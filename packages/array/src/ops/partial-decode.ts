// A selection of a few rows of a chunk, decoded from only the blosc blocks that hold them: a
// C-order chunk keeps rows r0..r1 in one byte range, and blosc compresses fixed-size blocks
// independently, so rows 0:100 of a [5000, 100] float32 chunk need one 512 KiB block of four.
import { recycleBuffer } from "@zask/scheduler/buffers";
import { recycleBody } from "@zask/scheduler/body-pool";
import { decodeBloscRange, readBloscHeader } from "../codecs/blosc-decode.js";
import { typedArrayConstructor, type DataType, type NDArray } from "../dtype.js";
import { ChunkDecodeError } from "../errors.js";
import { getitem, type AxisIndex } from "./slicing-kernels.js";
import { bloscOnlyOf, decodeChunk, type DecodeArgs } from "./zarr.js";

/** `index` (positions along a block's axis) moved `by` positions down. */
function shifted(index: AxisIndex, by: number): AxisIndex {
  if (index === null || by === 0) return index;
  if (Array.isArray(index)) return index.map((p) => p - by);
  const { start, step, count } = index as { start: number; step: number; count: number };
  return { start: start - by, step, count };
}

/**
 * cpu op: {@link getitem}`(block, src, outShape)` of the block that decoding chunk `coords`
 * would give, where the selection reads only its rows [r0, r1) (axis 0). A plain blosc chunk
 * (see bloscOnlyOf: zarr v2 in C order without filters, or v3 `bytes` then `blosc`) decodes
 * only the blosc blocks holding those rows; any other chunk is decoded whole. A chunk whose
 * header does not match the array's chunk size, or whose blocks do not hold whole items, is
 * decoded whole too, so that it decodes or fails as {@link decodeChunk} says.
 */
export async function getitemRows(
  ...args: [...DecodeArgs, rows: readonly [number, number], src: readonly AxisIndex[], outShape: readonly number[]]
): Promise<NDArray> {
  const [bytes, meta, coords, blockShape, chunk, rows, src, outShape] = args;
  const plan = bytes instanceof Uint8Array ? bloscOnlyOf(meta) : null;
  if (plan !== null && bytes instanceof Uint8Array && plan.chunkShape.length === blockShape.length) {
    const rowItems = plan.chunkShape.slice(1).reduce((a, b) => a * b, 1);
    const rowBytes = rowItems * plan.itemsize;
    const chunkBytes = plan.chunkShape[0]! * rowBytes;
    const [r0, r1] = rows;
    let part: { bytes: Uint8Array; offset: number } | null = null;
    try {
      const h = bytes.length >= 16 ? readBloscHeader(bytes) : undefined;
      // blocks of whole items (as blosc writes them), so that the rows' values are aligned
      if (h !== undefined && h.nbytes === chunkBytes && h.blocksize % plan.itemsize === 0)
        part = decodeBloscRange(bytes, r0 * rowBytes, r1 * rowBytes, { maxBytes: chunkBytes });
    } catch (cause) {
      // whatever the bytes made the decoder throw, the error names the chunk
      const key = chunk?.key ?? coords.join(".");
      const what = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
      throw new ChunkDecodeError(chunk?.url ?? key, meta.path ?? "/", key, `the codecs refused its bytes (${what})`, { cause });
    }
    if (part !== null) {
      // the body is decoded: it goes back for the next response
      recycleBody(bytes);
      const Ctor = typedArrayConstructor(meta.dtype as Exclude<DataType, "string">);
      const n = (r1 - r0) * rowItems;
      const data = new Ctor(part.bytes.buffer as ArrayBuffer, part.bytes.byteOffset + part.offset, n);
      // the rows as the chunk stores them: an edge chunk's trailing axes are cut by the selection
      const shape = [r1 - r0, ...plan.chunkShape.slice(1)];
      const where = src.map((s, k) => (k === 0 ? shifted(s, r0) : s === null && blockShape[k] !== shape[k] ? { start: 0, step: 1, count: blockShape[k]! } : s));
      const out = getitem({ data: data as never, shape, dtype: meta.dtype }, where, outShape);
      // the decoded rows are copied out: their buffer goes to the next partial decode
      if ((out.data as { buffer?: unknown }).buffer !== part.bytes.buffer) recycleBuffer(part.bytes.buffer as ArrayBuffer);
      return out;
    }
  }
  return getitem(await decodeChunk(bytes, meta, coords, blockShape, chunk), src, outShape);
}
