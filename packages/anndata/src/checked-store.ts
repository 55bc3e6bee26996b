import { fixedItemsize } from "@zask/array";
import { registerErrorClass } from "@zask/scheduler/error-transfer";
import type * as zarr from "zarrita";

/** What a chunk of one array must look like, learnt from the array's metadata. */
interface ChunkRule {
  readonly blosc: boolean;
  /** Exact byte length of an uncompressed chunk, when the array has no compressor and a fixed itemsize. */
  readonly rawBytes: number | undefined;
}

// numpy type codes of fixed size name their itemsize: "<f4", "|b1", ">u8"
const v2Itemsize = (dtype: unknown) => (typeof dtype === "string" ? /^[<>|=]?[biuf]([1248])$/.exec(dtype)?.[1] : undefined);

/** A chunk's bytes contradict its array's metadata (truncated, or not what the codec wrote). */
export class ChunkIntegrityError extends Error {
  override name = "ChunkIntegrityError";
}

// a worker that reads through a checked store reports it with its class
registerErrorClass("ChunkIntegrityError", ChunkIntegrityError);

function learn(key: string, bytes: Uint8Array, rules: Map<string, ChunkRule>): void {
  let doc: Record<string, any>;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return; // zarrita reports malformed metadata itself
  }
  const prod = (xs: unknown) => (Array.isArray(xs) ? xs.reduce((a: number, b: number) => a * b, 1) : undefined);
  if (key.endsWith("/.zarray")) {
    const blosc = doc.compressor?.id === "blosc";
    const code = v2Itemsize(doc.dtype);
    const size = code === undefined ? undefined : Number(code);
    const raw = doc.compressor == null && !doc.filters && size !== undefined ? prod(doc.chunks)! * size : undefined;
    rules.set(key.slice(0, -"/.zarray".length), { blosc, rawBytes: raw });
  } else if (key.endsWith("/zarr.json") && doc.node_type === "array") {
    const codecs: { name?: string }[] = Array.isArray(doc.codecs) ? doc.codecs : [];
    const names = codecs.map((c) => c.name);
    const size = typeof doc.data_type === "string" ? fixedItemsize(doc.data_type) : undefined;
    const onlyBytes = names.length === 1 && names[0] === "bytes";
    const raw = onlyBytes && size !== undefined ? prod(doc.chunk_grid?.configuration?.chunk_shape)! * size : undefined;
    rules.set(key.slice(0, -"/zarr.json".length), { blosc: names.length === 2 && names[1] === "blosc", rawBytes: raw });
  }
}

function arrayOf(key: string, rules: Map<string, ChunkRule>): ChunkRule | undefined {
  // v2 keys: /path/0.1 ; v3 keys: /path/c/0/1
  const v3 = key.lastIndexOf("/c/");
  if (v3 >= 0 && rules.has(key.slice(0, v3))) return rules.get(key.slice(0, v3));
  if (key.endsWith("/c") && rules.has(key.slice(0, -2))) return rules.get(key.slice(0, -2));
  return rules.get(key.slice(0, key.lastIndexOf("/")));
}

/**
 * Wrap a store so that chunks that contradict their array's metadata fail loudly: blosc
 * decompresses a truncated chunk into zeros without complaint, and a short uncompressed chunk
 * would be read half-filled. The blosc header records the compressed length; we check it.
 */
export function withChunkChecks<S extends zarr.AsyncReadable>(store: S): S {
  const rules = new Map<string, ChunkRule>();
  const check = (key: string, bytes: Uint8Array | undefined): Uint8Array | undefined => {
    if (bytes === undefined) return bytes;
    if (/\/(\.zarray|\.zattrs|\.zgroup|zarr\.json|\.zmetadata)$/.test(key)) {
      // Only array documents carry rules; parsing .zmetadata or attributes here would be waste.
      if (key.endsWith("/.zarray") || key.endsWith("/zarr.json")) learn(key, bytes, rules);
      return bytes;
    }
    const rule = arrayOf(key, rules);
    if (rule?.blosc) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const cbytes = bytes.length >= 16 ? view.getUint32(12, true) : -1;
      if (cbytes !== bytes.length) {
        throw new ChunkIntegrityError(`chunk ${key} has ${bytes.length} bytes, its blosc header says ${cbytes < 0 ? "(no header)" : cbytes}`);
      }
    } else if (rule?.rawBytes !== undefined && bytes.length !== rule.rawBytes) {
      throw new ChunkIntegrityError(`chunk ${key} has ${bytes.length} bytes, expected ${rule.rawBytes}`);
    }
    return bytes;
  };
  const wrapped = {
    async get(key: zarr.AbsolutePath, opts?: unknown) {
      return check(key, await store.get(key, opts as never));
    },
  } as zarr.AsyncReadable;
  if (typeof (store as { contents?: unknown }).contents === "function") {
    (wrapped as unknown as { contents: unknown }).contents = () => (store as unknown as { contents: () => unknown }).contents();
  }
  return wrapped as S;
}
