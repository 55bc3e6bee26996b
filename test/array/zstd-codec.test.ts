// zstd chunks (zarr-python 3's default compressor, numcodecs' Zstd in zarr 2) decode through our
// glue over upstream zstd in WebAssembly (codecs/zstd-codec.ts): stores written by zarr 2.13 and
// anndata 0.8 (test/fixtures/zstd/generate.py) read as Python reads them, over HTTP and from disk,
// on the main thread and the pool; a chunk whose frames hold more than the chunk, claim a huge
// content size, or are corrupt is refused with a ChunkDecodeError naming it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { readZarr } from "@zask/anndata";
import { fromZarr, reduction, slice, type ComputeOptions } from "@zask/array";
import * as zarr from "zarrita";
import { registry } from "zarrita";
import { FileSystemStore } from "@zarrita/storage";
import { decodeZstd, decodeZstdGrowing, zstdDeclaredSize, ZstdError } from "../../packages/array/src/codecs/zstd-codec.ts";
import { serveFixtures, type FixtureServer } from "../helpers/fixture-server.ts";
import { PYTHON, skipPython } from "../anndata/python.ts";
import { findCause } from "./bad-stores.ts";

const GENERATE = fileURLToPath(new URL("../fixtures/zstd/generate.py", import.meta.url));
const MODES: ComputeOptions[] = [{ scheduler: "sync" }, { inlineThreshold: 0 }];

interface Expected {
  f4: { shape: number[] };
  i8: { shape: number[] };
  u2: { shape: number[] };
  s: { values: string[] };
  adata: { genes: number[]; columns: number[]; meanPerGene: number[]; compressor: { id: string }; chunks: number[] };
}

let dir: string;
let server: FixtureServer;
let want: Expected;

before(async () => {
  if (skipPython) return;
  dir = await mkdtemp(path.join(tmpdir(), "zask-zstd-"));
  execFileSync(PYTHON, [GENERATE, dir], { stdio: ["ignore", "ignore", "pipe"] });
  want = JSON.parse(await readFile(path.join(dir, "expected.json"), "utf8")) as Expected;
  server = await serveFixtures(dir + path.sep);
});

after(async () => {
  await server?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const sources = (name: string) => [path.join(dir, name), `${server.url}/${name}`];

/** The numbers of `file` (what numpy's `tofile` wrote) as `Ctor` reads them. */
async function raw<T>(file: string, Ctor: new (b: ArrayBuffer) => T): Promise<T> {
  const b = await readFile(path.join(dir, file));
  return new Ctor(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

describe("zstd stores written by Python", { skip: skipPython }, () => {
  it("dense arrays (float32, int64, uint16 with edge chunks) read as numpy reads them", async () => {
    const cases = [
      ["f4", await raw("dense.f4.bin", Float32Array), want.f4.shape],
      ["i8", await raw("dense.i8.bin", BigInt64Array), want.i8.shape],
      ["u2", await raw("dense.u2.bin", Uint16Array), want.u2.shape],
    ] as const;
    for (const [name, values, shape] of cases) {
      for (const source of sources(`dense.zarr/${name}`)) {
        for (const options of MODES) {
          const r = await (await fromZarr(source)).compute(options);
          assert.deepEqual(r.shape, shape);
          assert.deepEqual(r.data, values, `${source} ${JSON.stringify(options)}`);
        }
      }
    }
  });

  it("a selection across chunk edges reads the same values", async () => {
    const all = await raw("dense.f4.bin", Float32Array);
    for (const source of sources("dense.zarr/f4")) {
      const x = await fromZarr(source);
      const r = await x.slice(slice(120, 260), slice(90, 210)).compute({ inlineThreshold: 0 });
      const expect = new Float32Array(140 * 120);
      for (let i = 0; i < 140; i++) for (let j = 0; j < 120; j++) expect[i * 120 + j] = all[(120 + i) * 301 + 90 + j]!;
      assert.deepEqual(r.data, expect, source);
    }
  });

  it("vlen-utf8 strings compressed with zstd (no fixed size: bounded by the frames' declared size) read back", async () => {
    for (const source of sources("dense.zarr/s")) {
      const r = await (await fromZarr(source)).compute();
      assert.deepEqual(Array.from(r.data as ArrayLike<string>), want.s.values, source);
    }
  });

  it("an AnnData whose every array is zstd: gene columns and the mean per gene equal scipy's", async () => {
    assert.equal(want.adata.compressor.id, "zstd");
    assert.deepEqual(want.adata.chunks, [1000]);
    for (const source of sources("adata.zarr")) {
      const adata = await readZarr(source);
      const X = adata.X!;
      const mask = Array.from({ length: 150 }, (_, j) => want.adata.genes.includes(j));
      for (const options of MODES) {
        const columns = await X.slice(null, mask).compute(options);
        assert.deepEqual(Array.from(columns.data as Float32Array), want.adata.columns, `${source} columns ${JSON.stringify(options)}`);
        const means = await reduction(X, "mean", { axis: 0 }).compute(options);
        const got = Array.from(means.data as ArrayLike<number>);
        assert.equal(got.length, 150);
        // numpy gives a float32 mean of float32 values: equal to float64 to float32 rounding
        for (let j = 0; j < 150; j++) assert.equal(got[j], Math.fround(want.adata.meanPerGene[j]!), `${source} mean of gene ${j}`);
      }
    }
  });
});

describe("zstd in zarr v3", () => {
  it("arrays with a zstd codec (with and without its checksum) read back, from disk and over HTTP, on either thread", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "zask-zstd-v3-"));
    const v3 = await serveFixtures(root + path.sep);
    try {
      const values = Float32Array.from({ length: 100 * 37 }, (_, i) => Math.fround(Math.sin(i) * 1000));
      for (const [name, configuration] of [
        ["plain", { level: 0, checksum: false }],
        ["checksum", { level: 5, checksum: true }],
      ] as const) {
        const arr = await zarr.create(zarr.root(new FileSystemStore(root)).resolve(name), {
          shape: [100, 37],
          chunkShape: [30, 10],
          dtype: "float32",
          codecs: [
            { name: "bytes", configuration: { endian: "little" } },
            { name: "zstd", configuration },
          ],
        });
        await zarr.set(arr, null, { data: values, shape: [100, 37], stride: [37, 1] });
        for (const source of [path.join(root, name), `${v3.url}/${name}`]) {
          for (const options of MODES) {
            const r = await (await fromZarr(source)).compute(options);
            assert.deepEqual(r.shape, [100, 37]);
            assert.deepEqual(r.data, values, `${source} ${JSON.stringify(options)}`);
          }
        }
      }
    } finally {
      await v3.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

/** A zstd frame that does not say what it holds (as a streaming writer makes them): raw blocks of `content`, or RLE blocks of `rle` bytes. */
function undeclaredFrame(content: Uint8Array, rle?: { byte: number; length: number }): Uint8Array {
  const parts: number[] = [0x28, 0xb5, 0x2f, 0xfd, 0b0000_0000, 0x58]; // no size, a window of 2^21 bytes
  const blockHeader = (size: number, type: number, last: boolean) => {
    const h = (size << 3) | (type << 1) | (last ? 1 : 0);
    parts.push(h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff);
  };
  if (rle !== undefined) {
    for (let left = rle.length; left > 0; left -= 1 << 17) {
      blockHeader(Math.min(left, 1 << 17), 1, left <= 1 << 17);
      parts.push(rle.byte);
    }
  } else {
    for (let at = 0; at < content.length || at === 0; at += 1 << 17) {
      const block = content.subarray(at, at + (1 << 17));
      blockHeader(block.length, 0, at + (1 << 17) >= content.length);
      for (const b of block) parts.push(b);
    }
  }
  return Uint8Array.from(parts);
}

/** A zstd frame that says it holds `contentSize` bytes, with one raw block of `block`. */
function frameClaiming(contentSize: bigint, block: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 1 + 8 + 3 + block.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xfd2fb528, true);
  out[4] = 0b1110_0000; // an 8-byte content size, single segment
  view.setBigUint64(5, contentSize, true);
  const header = (block.length << 3) | 1; // raw, last
  out.set([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff], 13);
  out.set(block, 16);
  return out;
}

/** A copy of the fixtures' dense.zarr in a folder of its own, served, for one describe block to damage. */
function damagedCopy(prefix: string): { readonly dir: string; readonly url: string } {
  const copy = { dir: "", url: "" };
  let copyServer: FixtureServer;
  before(async () => {
    copy.dir = await mkdtemp(path.join(tmpdir(), prefix));
    await cp(path.join(dir, "dense.zarr"), path.join(copy.dir, "dense.zarr"), { recursive: true });
    copyServer = await serveFixtures(copy.dir + path.sep);
    copy.url = copyServer.url;
  });
  after(async () => {
    await copyServer.close();
    await rm(copy.dir, { recursive: true, force: true });
  });
  return copy;
}

/**
 * Computes `array` (under a damaged copy), locally and over HTTP, on either thread: each time a
 * ChunkDecodeError naming `chunk`, with a ZstdError among its causes when `zstd`; RSS grows by
 * less than 256 MiB (nothing near a claimed size was allocated).
 */
async function assertRefused(copy: { dir: string; url: string }, array: string, chunk: string, zstd: boolean): Promise<void> {
  const rss = process.memoryUsage().rss;
  for (const source of [path.join(copy.dir, array), `${copy.url}/${array}`]) {
    for (const options of MODES) {
      const error = await (await fromZarr(source)).compute(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      const decode = findCause(error, (c): c is Error & { chunkKey: string } => c instanceof Error && c.name === "ChunkDecodeError");
      assert.ok(decode !== undefined, `${source} ${JSON.stringify(options)}: expected a ChunkDecodeError, got ${String(error)}`);
      assert.equal(decode.chunkKey, chunk);
      if (zstd)
        assert.ok(
          findCause(error, (c): c is Error => c instanceof Error && c.name === "ZstdError"),
          `${source} ${JSON.stringify(options)}: refused as a ZstdError, got ${String(error)}`,
        );
    }
  }
  assert.ok(process.memoryUsage().rss - rss < 256 * 2 ** 20, "RSS grew by less than 256 MiB");
}

describe("bad zstd chunks", { skip: skipPython }, () => {
  const bad = damagedCopy("zask-zstd-bad-");

  // chunk 0.0 of f4 holds 128 × 100 float32: 51,200 bytes
  // the first two are refused by our decoder itself (numcodecs' would decode the first whole)
  const damages: [string, () => Promise<Uint8Array>, boolean][] = [
    [
      "frames holding more than the chunk",
      async () => {
        const Zstd = (
          await (registry.get("numcodecs.zstd") as () => Promise<{ fromConfig(c: object, m: object): { encode(d: Uint8Array): Promise<Uint8Array> } }>)()
        ).fromConfig({ level: 3 }, { shape: [25600], dataType: "float32" });
        return Zstd.encode(new Uint8Array(102_400).fill(3));
      },
      true,
    ],
    ["a frame claiming 1 TiB", async () => frameClaiming(2n ** 40n, new Uint8Array(16).fill(1)), true],
    ["bytes that are not zstd", async () => new Uint8Array(300).fill(0x5a), false],
    [
      "a frame cut short",
      async () => {
        const whole = await readFile(path.join(dir, "dense.zarr/f4/0.0"));
        return whole.subarray(0, whole.length >> 1);
      },
      false,
    ],
  ];

  for (const [what, make, ours] of damages) {
    it(`${what}: a ChunkDecodeError naming the chunk, locally and over HTTP, on either thread`, async () => {
      await writeFile(path.join(bad.dir, "dense.zarr/f4/0.0"), await make());
      await assertRefused(bad, "dense.zarr/f4", "0.0", ours);
    });
  }
});

describe("bad zstd chunks of strings", { skip: skipPython }, () => {
  const bad = damagedCopy("zask-zstd-bad-s-");

  // a chunk of strings has no size in its metadata: what its frames declare is checked instead
  const damages: [string, () => Uint8Array][] = [
    ["a frame claiming 1 TiB", () => frameClaiming(2n ** 40n, new Uint8Array(16).fill(1))],
    ["a frame claiming 3 GiB", () => frameClaiming(3n * 2n ** 30n, new Uint8Array(16).fill(1))],
    ["bytes that are not zstd", () => new Uint8Array(300).fill(0x5a)],
    ["a frame cut inside a block", () => undeclaredFrame(new Uint8Array(500).fill(7)).subarray(0, 200)],
  ];
  for (const [what, make] of damages) {
    it(`${what}: a ZstdError inside a ChunkDecodeError naming the chunk, nothing allocated for the claim`, async () => {
      await writeFile(path.join(bad.dir, "dense.zarr/s/0"), make());
      await assertRefused(bad, "dense.zarr/s", "0", true);
    });
  }

  it("a chunk of strings whose frame does not declare its size reads back", async () => {
    const original = await readFile(path.join(dir, "dense.zarr/s/0"));
    const declared = zstdDeclaredSize(original);
    assert.ok(declared !== undefined && declared > 0, "numcodecs declares the size");
    const content = (await decodeZstd(original, declared))!;
    await writeFile(path.join(bad.dir, "dense.zarr/s/0"), undeclaredFrame(content));
    for (const source of [path.join(bad.dir, "dense.zarr/s"), `${bad.url}/dense.zarr/s`]) {
      for (const options of MODES) {
        const r = await (await fromZarr(source)).compute(options);
        assert.deepEqual(Array.from(r.data as ArrayLike<string>), want.s.values, `${source} ${JSON.stringify(options)}`);
      }
    }
  });
});

describe("zstdDeclaredSize", () => {
  it("sums the sizes frames declare, skips skippable frames, and says when a frame declares none", async () => {
    const Zstd = (
      await (registry.get("zstd") as () => Promise<{ fromConfig(c: object, m: object): { encode(d: Uint8Array): Promise<Uint8Array> } }>)()
    ).fromConfig({ level: 1 }, { shape: [70_000], dataType: "uint8" });
    const a = await Zstd.encode(Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) % 251));
    const b = await Zstd.encode(new Uint8Array(300).fill(9));
    assert.equal(zstdDeclaredSize(a), 70_000);
    const skippable = Uint8Array.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const both = new Uint8Array([...a, ...skippable, ...b]);
    assert.equal(zstdDeclaredSize(both), 70_300);
    const whole = (await decodeZstd(both, 70_300))!;
    assert.equal(whole.length, 70_300);
    assert.equal(zstdDeclaredSize(new Uint8Array([...a, ...undeclaredFrame(new Uint8Array(10))])), undefined);
    assert.equal(zstdDeclaredSize(frameClaiming(1000n, new Uint8Array(1000))), 1000);
    // a claim past the largest chunk, a cut header or block, and other bytes are refused
    assert.throws(() => zstdDeclaredSize(frameClaiming(2n ** 40n, new Uint8Array(4))), /declare/);
    assert.throws(() => zstdDeclaredSize(a.subarray(0, 7)), ZstdError);
    assert.throws(() => zstdDeclaredSize(a.subarray(0, a.length - 1)), ZstdError);
    assert.throws(() => zstdDeclaredSize(new Uint8Array(16).fill(0x5a)), /magic/);
    assert.throws(() => zstdDeclaredSize(new Uint8Array(0)), ZstdError);
  });

  it("undeclared frames decode into room doubled up to the limit, and past it are a ZstdError", async () => {
    const frame = undeclaredFrame(new Uint8Array(0), { byte: 0x61, length: 3_000_000 });
    assert.ok(frame.length < 200, "RLE blocks: a small frame");
    assert.equal(zstdDeclaredSize(frame), undefined);
    const bytes = (await decodeZstdGrowing(frame, 4 * 2 ** 20))!;
    assert.equal(bytes.length, 3_000_000);
    assert.ok(bytes.every((b) => b === 0x61));
    await assert.rejects(decodeZstdGrowing(frame, 2 ** 20), (e: unknown) => e instanceof ZstdError && /without declaring its size/.test(e.message));
  });
});

describe("decodeZstd", () => {
  it("refuses frames holding more than the capacity, and is exact at it", async () => {
    const Zstd = (
      await (registry.get("zstd") as () => Promise<{ fromConfig(c: object, m: object): { encode(d: Uint8Array): Promise<Uint8Array> } }>)()
    ).fromConfig({ level: 1 }, { shape: [1000], dataType: "uint8" });
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) % 256);
    const frame = await Zstd.encode(bytes);
    assert.deepEqual(await decodeZstd(frame, 1000), bytes);
    await assert.rejects(decodeZstd(frame, 999), ZstdError);
    // still right after a refusal (the module's memory is not left in a bad state)
    assert.deepEqual(await decodeZstd(frame, 1000), bytes);
  });

  it("declines (null, nothing allocated) what would not fit in its memory", async () => {
    assert.equal(await decodeZstd(new Uint8Array(8), 2 ** 30), null);
  });

  it("a claimed content size beyond the capacity is a ZstdError, not an allocation", async () => {
    await assert.rejects(decodeZstd(frameClaiming(2n ** 40n, new Uint8Array(4)), 4096), ZstdError);
  });
});
