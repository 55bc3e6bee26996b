import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { fromZarr } from "@zask/array";
import { LzmaCodec } from "../../packages/array/src/codecs/lzma-codec.ts";
import { serveFixtures, type FixtureServer } from "../helpers/fixture-server.ts";
import { BAD, badExpected } from "./bad-stores.ts";

const STORE = "dense.c4x5.lzma.f4.zarr"; // numcodecs.LZMA() (the .xz format), written by zarr 2.13
const want = badExpected[STORE]!.data.map((v) => Math.fround(v));

let server: FixtureServer;
before(async () => {
  server = await serveFixtures(BAD);
});
after(() => server.close());

test("an array compressed with numcodecs' LZMA reads as Python wrote it, locally and over HTTP", async () => {
  for (const source of [BAD + STORE, `${server.url}/${STORE}`]) {
    for (const options of [{ inlineThreshold: 0 }, { scheduler: "sync" as const }]) {
      const r = await (await fromZarr(source)).compute(options);
      assert.deepEqual(r.shape, [10, 12]);
      assert.deepEqual(Array.from(r.data as Float32Array), want, `${source} ${JSON.stringify(options)}`);
    }
  }
});

test("LzmaCodec refuses a stream that decodes to more bytes than the chunk holds", async () => {
  const chunk = new Uint8Array(await readFile(`${BAD}${STORE}/0.0`)); // 4 x 5 float32: 80 bytes
  const fits = LzmaCodec.fromConfig({ format: 1 }, { shape: [4, 5], dataType: "float32" });
  assert.equal((await fits.decode(chunk)).byteLength, 80);
  const small = LzmaCodec.fromConfig({ format: 1 }, { shape: [4, 4], dataType: "float32" });
  await assert.rejects(small.decode(chunk), /more than 64 bytes/);
});

test("LzmaCodec refuses a corrupt stream (its check) rather than returning bytes", async () => {
  const chunk = new Uint8Array(await readFile(`${BAD}${STORE}/0.0`));
  const codec = LzmaCodec.fromConfig({ format: 1 }, { shape: [4, 5], dataType: "float32" });
  for (const at of [12, 30, chunk.length - 6]) {
    const bad = chunk.slice();
    bad[at]! ^= 0x5a;
    await assert.rejects(codec.decode(bad), Error, `byte ${at} flipped`);
  }
});

test("a Fortran-order array compressed with LZMA reads in C order, as numpy gives it", async () => {
  const name = "dense.c4x5.lzma.F.f8.zarr";
  const r = await (await fromZarr(BAD + name)).compute();
  assert.deepEqual(Array.from(r.data as Float64Array), badExpected[name]!.data);
});

test("LzmaCodec refuses the raw and legacy .lzma formats it does not decode, by name", async () => {
  await assert.rejects(LzmaCodec.fromConfig({ format: 3 }, { shape: [4], dataType: "uint8" }).decode(new Uint8Array(4)), /xz format \(1\), got format 3/);
});
