import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { fromTypedArray, ZarrStore } from "@zask/array";
import { decodeChunk } from "@zask/array/ops";
import { BloscError } from "@zask/array";
import { decodeBloscFile, decodeBloscSync } from "../../packages/array/dist/codecs/blosc-decode.js";

const DIR = fileURLToPath(new URL("../fixtures/blosc/", import.meta.url));
const manifest = JSON.parse(readFileSync(DIR + "manifest.json", "utf8")) as { file: string }[];
const tmp = mkdtempSync(join(tmpdir(), "zask-chunk-file-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function fromFile(path: string): Uint8Array | null {
  const fd = openSync(path, "r");
  try {
    return decodeBloscFile(fd, statSync(path).size);
  } finally {
    closeSync(fd);
  }
}

const ioContext = {
  signal: new AbortController().signal,
  fetch: () => Promise.reject(new Error("no HTTP here")),
  get: () => Promise.reject(new Error("no HTTP here")),
  fresh: <T extends Uint8Array>(b: T) => b,
};

test("decodeBloscFile decodes every fixture chunk from its file a block at a time, as decodeBloscSync does from bytes", () => {
  for (const f of manifest) {
    const whole = decodeBloscSync(new Uint8Array(readFileSync(DIR + f.file)));
    const streamed = fromFile(DIR + f.file);
    if (whole === null) assert.equal(streamed, null, f.file);
    else assert.deepEqual(streamed, whole, f.file);
  }
});

test("decodeBloscFile rejects a truncated chunk file and a corrupt block with BloscError", () => {
  const f = manifest.find((m) => decodeBloscSync(new Uint8Array(readFileSync(DIR + m.file))) !== null && readFileSync(DIR + m.file).length > 200)!;
  const bytes = new Uint8Array(readFileSync(DIR + f.file));
  const cut = join(tmp, "cut");
  writeFileSync(cut, bytes.subarray(0, bytes.length - 7));
  assert.throws(() => fromFile(cut), BloscError);
  const bad = bytes.slice();
  // the first block's first split claims more compressed bytes than the chunk has
  const first = bad[16]! | (bad[17]! << 8) | (bad[18]! << 16) | (bad[19]! << 24);
  bad.set([0xff, 0xff, 0xff, 0x7f], first);
  const corrupt = join(tmp, "corrupt");
  writeFileSync(corrupt, bad);
  assert.throws(
    () => fromFile(corrupt),
    (e: unknown) => e instanceof BloscError && e.offset === first,
  );
});

test("a local store without a cache hands decodeChunk the chunk file, counted by its size; a missing file is null", async () => {
  const out = join(tmp, "raw.zarr");
  await fromTypedArray(
    Float64Array.from({ length: 10 }, (_, i) => i + 0.5),
    [10],
    { chunks: 4 },
  ).toZarr(out, { compressor: null });
  const store = new ZarrStore(out);
  const ref = await store.fetchChunk(ioContext, "/0", 32);
  assert.deepEqual(ref, { file: join(out, "0"), size: 32 });
  assert.equal(store.counters.bytes, 32);
  unlinkSync(join(out, "2"));
  assert.equal(await store.fetchChunk(ioContext, "/2", 32), null);
  assert.equal(store.counters.missingChunks, 1);
});

test("blocks decoded from uncompressed chunk files never share the reused read buffer; a file gone by decode time is the fill value", async () => {
  const out = join(tmp, "raw2.zarr");
  await fromTypedArray(
    Float32Array.from({ length: 12 }, (_, i) => i),
    [12],
    { chunks: 4 },
  ).toZarr(out, { compressor: null });
  const meta = { zarrFormat: 2 as const, document: readFileSync(join(out, ".zarray"), "utf8"), dtype: "float32" as const };
  const ref = (k: number) => ({ file: join(out, String(k)), size: 16 });
  const a = await decodeChunk(ref(0), meta, [0], [4]);
  const b = await decodeChunk(ref(1), meta, [1], [4]);
  assert.deepEqual([...(a.data as Float32Array)], [0, 1, 2, 3]);
  assert.deepEqual([...(b.data as Float32Array)], [4, 5, 6, 7]);
  unlinkSync(join(out, "2"));
  const c = await decodeChunk(ref(2), meta, [2], [4]);
  assert.deepEqual([...(c.data as Float32Array)], [0, 0, 0, 0]);
});

test("a blosc chunk file decodes to the same block as its bytes, edge chunk cut to the array", async () => {
  const out = join(tmp, "blosc.zarr");
  const values = Float32Array.from({ length: 30 }, (_, i) => Math.sin(i));
  await fromTypedArray(values, [5, 6], { chunks: [4, 4] }).toZarr(out);
  const meta = { zarrFormat: 2 as const, document: readFileSync(join(out, ".zarray"), "utf8"), dtype: "float32" as const };
  const file = join(out, "1.1");
  const fromBytes = await decodeChunk(new Uint8Array(readFileSync(file)), meta, [1, 1], [1, 2]);
  const fromRef = await decodeChunk({ file, size: statSync(file).size }, meta, [1, 1], [1, 2]);
  assert.deepEqual(fromRef, fromBytes);
  assert.deepEqual([...(fromRef.data as Float32Array)], [values[28], values[29]]);
});
