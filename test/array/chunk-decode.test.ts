import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { ChunkCache, ChunkDecodeError, fromZarr, type ComputeOptions, type NDArray } from "@zask/array";
import { decodeChunk } from "@zask/array/ops";
import type { AbsolutePath } from "@zarrita/storage";
import { serveFixtures, type FixtureServer } from "../helpers/fixture-server.ts";
import { BAD, badExpected, findCause } from "./bad-stores.ts";

// Stores from test/fixtures/bad-stores (generate.py): chunk 0.0 of a 10 x 12 float32 array in
// 4 x 5 chunks replaced by the chunk of a 4 x 10 ("wide") or 4 x 2 ("narrow") array, or cut
// to half its length ("half") or to 20 bytes ("truncated").
const WRONG_SIZE = ["wide", "narrow", "half"].flatMap((k) => ["raw", "blosc-lz4", "zlib"].map((c) => `chunk-${k}.c4x5.${c}.f4.zarr`));
const TRUNCATED = ["blosc-lz4", "zlib", "bz2", "lzma"].map((c) => `chunk-truncated.c4x5.${c}.f4.zarr`);

// How a compute may run the decode: on the worker pool, inline on the main thread, or all sync.
const RUNS: [string, ComputeOptions][] = [
  ["on the worker pool", { inlineThreshold: 0 }],
  ["inline", { inlineThreshold: Infinity }],
  ["with the sync scheduler", { scheduler: "sync" }],
];

let server: FixtureServer;
before(async () => {
  server = await serveFixtures(BAD);
});
after(() => server.close());

const isDecodeError = (c: unknown): c is Error => c instanceof Error && c.name === "ChunkDecodeError";

/** Expect `compute` to fail with a ChunkDecodeError for chunk 0.0 at `url`; never a result. */
async function expectChunkError(compute: Promise<NDArray>, url: string, reason?: RegExp): Promise<void> {
  let result: NDArray | undefined;
  try {
    result = await compute;
  } catch (e) {
    const d = findCause(e, isDecodeError);
    assert.ok(d !== undefined, `expected a ChunkDecodeError, got ${String(e)}`);
    assert.ok(d.message.includes(`${url} (array /, chunk 0.0)`), d.message);
    if (reason) assert.match(d.message, reason);
    // on the pool too: the worker's error is rebuilt with its class and fields
    assert.ok(d instanceof ChunkDecodeError, `expected the ChunkDecodeError class, got ${d.constructor.name}`);
    assert.equal(d.url, url);
    assert.equal(d.chunkKey, "0.0");
    assert.equal(d.path, "/");
    return;
  }
  assert.fail(`expected an error, got a result of shape [${result.shape.join(", ")}] holding ${result.data.length} values`);
}

for (const store of WRONG_SIZE) {
  test(`a local chunk of the wrong size (${store}) is a ChunkDecodeError naming its file, never a result`, async () => {
    const x = await fromZarr(BAD + store);
    await expectChunkError(x.compute(), `${BAD}${store}/0.0`);
  });

  test(`over HTTP, a chunk of the wrong size (${store}) is a ChunkDecodeError naming its URL`, async () => {
    const x = await fromZarr(`${server.url}/${store}`);
    await expectChunkError(x.compute(), `${server.url}/${store}/0.0`);
  });
}

for (const [how, options] of RUNS) {
  test(`a chunk 4 x 10 served where a 4 x 5 chunk belongs is refused when decoded ${how}`, async () => {
    const store = "chunk-wide.c4x5.blosc-lz4.f4.zarr";
    const x = await fromZarr(`${server.url}/${store}`);
    await expectChunkError(x.compute(options), `${server.url}/${store}/0.0`, /uncompressed size 160 exceeds the chunk's 80 bytes/);
    const local = await fromZarr(BAD + "chunk-narrow.c4x5.raw.f4.zarr");
    await expectChunkError(local.compute(options), `${BAD}chunk-narrow.c4x5.raw.f4.zarr/0.0`, /an uncompressed chunk of 32 bytes, expected 80/);
  });
}

test("a wrong-size chunk read through a chunk cache (bytes, not a file reference) is refused too", async () => {
  const store = "chunk-half.c4x5.raw.f4.zarr";
  const x = await fromZarr(BAD + store, { cache: new ChunkCache() });
  await expectChunkError(x.compute(), `${BAD}${store}/0.0`, /an uncompressed chunk of 40 bytes, expected 80/);
});

test("a wrong-size chunk from a plain zarrita store is refused, named by the store's location", async () => {
  const root = BAD + "chunk-wide.c4x5.zlib.f4.zarr";
  const store = {
    get: (key: AbsolutePath) =>
      readFile(root + key).then(
        (b) => new Uint8Array(b),
        () => undefined,
      ),
  };
  const x = await fromZarr(store);
  await assert.rejects(x.compute(), (e: unknown) => {
    const d = findCause(e, isDecodeError);
    assert.ok(d !== undefined, String(e));
    assert.match(d.message, /chunk store:\d+\/0\.0 /);
    return true;
  });
});

test("the selection of other chunks still reads: only the bad chunk is refused", async () => {
  const x = await fromZarr(BAD + "chunk-wide.c4x5.blosc-lz4.f4.zarr");
  const r = await x.slice([4, 5, 6, 7, 8, 9]).compute();
  const want = badExpected["dense.c4x5.blosc-lz4.f4.zarr"]!.data.slice(4 * 12);
  assert.deepEqual(
    Array.from(r.data as Float32Array),
    want.map((v) => Math.fround(v)),
  );
});

for (const store of TRUNCATED) {
  test(`over HTTP, a truncated chunk (${store}) is a ChunkDecodeError naming its URL, on the pool or not`, async () => {
    const x = await fromZarr(`${server.url}/${store}`);
    await expectChunkError(x.compute({ scheduler: "sync" }), `${server.url}/${store}/0.0`, /the codecs refused its bytes/);
    await expectChunkError(x.compute({ inlineThreshold: 0 }), `${server.url}/${store}/0.0`, /the codecs refused its bytes/);
  });
}

test("decodeChunk given bytes of another chunk's size throws instead of returning a block", async () => {
  const document = JSON.stringify({ zarr_format: 2, shape: [8], chunks: [4], dtype: "<i4", compressor: null, fill_value: 0, order: "C", filters: null });
  const meta = { zarrFormat: 2 as const, document, dtype: "int32" as const, path: "/a" };
  const good = await decodeChunk(new Uint8Array(new Int32Array([1, 2, 3, 4]).buffer), meta, [1], [4]);
  assert.deepEqual(Array.from(good.data as Int32Array), [1, 2, 3, 4]);
  for (const n of [3, 5, 8]) {
    await assert.rejects(decodeChunk(new Uint8Array(new Int32Array(n).buffer), meta, [1], [4], { key: "1", url: "http://h/s.zarr/a/1" }), (e: unknown) => {
      assert.ok(e instanceof ChunkDecodeError);
      assert.equal(e.url, "http://h/s.zarr/a/1");
      assert.equal(e.path, "/a");
      assert.equal(e.chunkKey, "1");
      assert.match(e.reason, new RegExp(`an uncompressed chunk of ${4 * n} bytes, expected 16`));
      return true;
    });
  }
  // bytes that are not a whole number of values
  await assert.rejects(decodeChunk(new Uint8Array(15), meta, [0], [4], { key: "0", url: "u" }), ChunkDecodeError);
});

test("decodeChunk never returns a block that views a shared body, whose buffer later reads reuse", async () => {
  const document = JSON.stringify({ zarr_format: 2, shape: [8], chunks: [4], dtype: "<i4", compressor: null, fill_value: 0, order: "C", filters: null });
  const meta = { zarrFormat: 2 as const, document, dtype: "int32" as const, path: "/a" };
  // an uncompressed chunk at offset 8 of a shared body: its values could be a view of the body
  const body = new Uint8Array(new SharedArrayBuffer(32));
  body.set(new Uint8Array(new Int32Array([1, 2, 3, 4]).buffer), 8);
  const block = await decodeChunk(body.subarray(8, 24), meta, [1], [4]);
  assert.deepEqual(Array.from(block.data as Int32Array), [1, 2, 3, 4]);
  assert.ok(!((block.data as Int32Array).buffer instanceof SharedArrayBuffer), "the block has its own memory");
  body.fill(9);
  assert.deepEqual(Array.from(block.data as Int32Array), [1, 2, 3, 4]);
});
