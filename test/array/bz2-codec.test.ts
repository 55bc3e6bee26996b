import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { fromZarr } from "@zask/array";
import { Bz2Codec } from "../../packages/array/src/codecs/bz2-codec.ts";
import { serveFixtures, type FixtureServer } from "../helpers/fixture-server.ts";
import { BAD, badExpected } from "./bad-stores.ts";

const STORE = "dense.c4x5.bz2.f4.zarr"; // numcodecs.BZ2(level=1), written by zarr 2.13
const want = badExpected[STORE]!.data.map((v) => Math.fround(v));

let server: FixtureServer;
before(async () => {
  server = await serveFixtures(BAD);
});
after(() => server.close());

test("an array compressed with numcodecs' BZ2 reads as Python wrote it, locally and over HTTP", async () => {
  for (const source of [BAD + STORE, `${server.url}/${STORE}`]) {
    for (const options of [{ inlineThreshold: 0 }, { scheduler: "sync" as const }]) {
      const r = await (await fromZarr(source)).compute(options);
      assert.deepEqual(r.shape, [10, 12]);
      assert.deepEqual(Array.from(r.data as Float32Array), want, `${source} ${JSON.stringify(options)}`);
    }
  }
});

test("Bz2Codec refuses a stream that decodes to more bytes than the chunk holds", async () => {
  const chunk = new Uint8Array(await readFile(`${BAD}${STORE}/0.0`)); // 4 x 5 float32: 80 bytes
  const fits = Bz2Codec.fromConfig({ level: 1 }, { shape: [4, 5], dataType: "float32" });
  assert.equal((await fits.decode(chunk)).byteLength, 80);
  const small = Bz2Codec.fromConfig({ level: 1 }, { shape: [4, 4], dataType: "float32" });
  await assert.rejects(small.decode(chunk), /more than 64 bytes/);
});

test("Bz2Codec refuses a corrupt stream (its CRC) rather than returning bytes", async () => {
  const chunk = new Uint8Array(await readFile(`${BAD}${STORE}/0.0`));
  const codec = Bz2Codec.fromConfig({ level: 1 }, { shape: [4, 5], dataType: "float32" });
  for (const at of [12, 30, chunk.length - 6]) {
    const bad = chunk.slice();
    bad[at]! ^= 0x5a;
    await assert.rejects(codec.decode(bad), Error, `byte ${at} flipped`);
  }
});
