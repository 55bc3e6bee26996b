import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import Blosc from "numcodecs/blosc";
import * as zarr from "zarrita";
import { ZaskError } from "@zask/graph";
import { BloscCodec } from "../../packages/array/dist/codecs/blosc-codec.js";
import { decodeBloscSync, isNativeBlosc, readBloscHeader } from "../../packages/array/dist/codecs/blosc-decode.js";
// Built modules throughout: the ops decodeChunk loads is dist, and its BloscError must be this one.
import { BloscError } from "@zask/array";
import { Lz4Fault, decodeLz4Block } from "../../packages/array/dist/codecs/lz4-block.js";
import { wasmKernels } from "../../packages/array/dist/codecs/blosc-kernels.js";
import { registerBloscCodec } from "../../packages/array/dist/codecs/register.js";
import { prng } from "./helpers.ts";

const DIR = fileURLToPath(new URL("../fixtures/blosc/", import.meta.url));
interface Fixture {
  file: string;
  cname: string;
  shuffle: string;
  typesize: number;
  blocksize: number;
  nbytes: number;
  flags: number;
  sha256: string;
}
const manifest = JSON.parse(readFileSync(DIR + "manifest.json", "utf8")) as Fixture[];
const load = (f: Fixture) => new Uint8Array(readFileSync(DIR + f.file));
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const numcodecs = Blosc.fromConfig({ cname: "lz4", clevel: 5, shuffle: 1, blocksize: 0 });

function sample(n: number, compressible: boolean, seed: number): Uint8Array {
  const rand = prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = compressible ? (i % 61 < 40 ? (i >> 4) & 0xff : 3) : (rand() * 256) | 0;
  return out;
}

test("every chunk python numcodecs wrote decodes to the bytes it encoded", async () => {
  const codec = new BloscCodec();
  for (const f of manifest) {
    const out = await codec.decode(load(f));
    assert.equal(out.length, f.nbytes, f.file);
    assert.equal(sha(out), f.sha256, f.file);
  }
});

test("blosclz, lz4, lz4hc and zlib chunks with byte shuffle or none decode without numcodecs", () => {
  let native = 0;
  for (const f of manifest) {
    const chunk = load(f);
    const expectNative = (f.shuffle !== "bitshuffle" && ["blosclz", "lz4", "lz4hc", "zlib"].includes(f.cname)) || (f.flags & 0x2) !== 0;
    assert.equal(isNativeBlosc(readBloscHeader(chunk)), expectNative, f.file);
    const out = decodeBloscSync(chunk);
    if (!expectNative) {
      assert.equal(out, null, f.file);
      continue;
    }
    native++;
    assert.ok(out !== null);
    assert.equal(sha(out), f.sha256, f.file);
  }
  assert.ok(native >= 200, `only ${native} native fixtures`);
});

test("fixtures cover split and unsplit blocks, leftover blocks and every typesize", () => {
  const split = manifest.filter((f) => (f.flags & 0x10) === 0 && f.typesize > 1 && f.blocksize / f.typesize >= 128);
  assert.ok(split.length > 20);
  assert.ok(split.some((f) => f.nbytes % f.blocksize !== 0 && f.typesize === 16));
  assert.ok(split.some((f) => f.nbytes % f.blocksize !== 0 && f.typesize === 3));
  assert.deepEqual(
    [...new Set(manifest.map((f) => f.typesize))].sort((a, b) => a - b),
    [1, 2, 3, 4, 8, 16],
  );
});

test("decoding matches numcodecs' Blosc.decode byte for byte on the python fixtures", async () => {
  const codec = new BloscCodec();
  for (const f of manifest.filter((_, i) => i % 3 === 0)) {
    const chunk = load(f);
    assert.deepEqual(await codec.decode(chunk), await numcodecs.decode(chunk), f.file);
  }
});

test("chunks numcodecs encodes in node round-trip for every cname, shuffle and leftover size", async () => {
  let seed = 1;
  for (const cname of ["blosclz", "lz4", "lz4hc", "zlib", "snappy", "zstd"]) {
    for (const shuffle of [0, 1, 2]) {
      for (const [size, blocksize] of [
        [0, 0],
        [100, 0],
        [5000, 1024],
        [70001, 8192],
        [200003, 0],
      ] as const) {
        for (const compressible of [true, false]) {
          const raw = sample(size, compressible, seed++);
          const enc = await Blosc.fromConfig({ cname, clevel: 5, shuffle, blocksize }).encode(raw);
          const got = await new BloscCodec().decode(enc);
          assert.deepEqual(got, raw, `${cname} shuffle=${shuffle} size=${size} compressible=${compressible}`);
        }
      }
    }
  }
});

test("decode writes into the caller's output and rejects one of the wrong length", async () => {
  const f = manifest.find((m) => m.cname === "lz4" && m.shuffle === "shuffle" && m.typesize === 4 && m.nbytes % m.blocksize !== 0 && (m.flags & 0x10) === 0)!;
  const chunk = load(f);
  const backing = new Uint8Array(f.nbytes + 8);
  const out = backing.subarray(4, 4 + f.nbytes); // 4-byte aligned, not at the buffer start
  const got = await new BloscCodec().decode(chunk, out);
  assert.equal(got, out);
  assert.equal(sha(out), f.sha256);
  const odd = new Uint8Array(f.nbytes + 1).subarray(1); // unaligned: the generic unshuffle path
  assert.equal(sha(decodeBloscSync(chunk, odd)!), f.sha256);
  assert.throws(() => decodeBloscSync(chunk, new Uint8Array(f.nbytes - 1)), RangeError);
});

test("a truncated chunk throws BloscError with the offset, never a short or zeroed result", () => {
  const natives = manifest.filter((f) => isNativeBlosc(readBloscHeader(load(f))) && f.file.includes(".shuffle."));
  for (const f of natives.slice(0, 40)) {
    const chunk = load(f);
    for (const cut of [0, 7, 15, 16, 20, chunk.length >> 1, chunk.length - 1]) {
      assert.throws(
        () => decodeBloscSync(chunk.subarray(0, cut)),
        (e: unknown) => e instanceof BloscError && e instanceof ZaskError && e.offset <= cut,
        `${f.file} cut at ${cut}`,
      );
    }
  }
});

test("corrupt headers, block starts and split sizes throw BloscError", () => {
  const f = manifest.find((m) => m.cname === "lz4" && m.shuffle === "shuffle" && m.typesize === 4 && m.nbytes % m.blocksize !== 0 && (m.flags & 0x10) === 0)!;
  const good = load(f);
  const corrupt = (at: number, value: number) => {
    const c = good.slice();
    new DataView(c.buffer).setInt32(at, value, true);
    return c;
  };
  const version = good.slice();
  version[0] = 9;
  assert.throws(
    () => decodeBloscSync(version),
    (e: unknown) => e instanceof BloscError && e.offset === 0,
  );
  assert.throws(() => decodeBloscSync(corrupt(12, good.length + 1)), BloscError); // cbytes past the input
  assert.throws(
    () => decodeBloscSync(corrupt(16, 3)),
    (e: unknown) => e instanceof BloscError && e.offset === 16,
  ); // block start in the header
  assert.throws(() => decodeBloscSync(corrupt(20, good.length)), BloscError); // block start past the end
  const firstSplit = new DataView(good.buffer, good.byteOffset).getInt32(16, true);
  assert.throws(
    () => decodeBloscSync(corrupt(firstSplit, 1 << 30)),
    (e: unknown) => e instanceof BloscError && e.offset === firstSplit,
  );
  assert.throws(() => decodeBloscSync(corrupt(firstSplit, -5)), BloscError);
  assert.throws(() => decodeBloscSync(corrupt(4, f.nbytes * 2)), BloscError); // nbytes disagrees with the blocks
});

test("random byte corruptions either throw BloscError or decode to exactly nbytes", () => {
  const rand = prng(7);
  const natives = manifest.filter((f) => isNativeBlosc(readBloscHeader(load(f))));
  let thrown = 0;
  for (let i = 0; i < 600; i++) {
    const f = natives[Math.floor(rand() * natives.length)]!;
    const c = load(f);
    for (let k = 0; k < 3; k++) c[Math.floor(rand() * c.length)] = (rand() * 256) | 0;
    try {
      const out = decodeBloscSync(c);
      if (out !== null) assert.equal(out.length, readBloscHeader(c).nbytes);
    } catch (e) {
      if (!(e instanceof BloscError)) throw e;
      thrown++;
    }
  }
  assert.ok(thrown > 0);
});

test("the WebAssembly and the JS kernels decode every fixture and random corruption the same way", () => {
  const rand = prng(11);
  const lz4 = manifest.filter((f) => readBloscHeader(load(f)).compressor === "lz4" && isNativeBlosc(readBloscHeader(load(f))));
  assert.ok(lz4.length >= 4, "lz4 fixtures exist");
  const outcome = (c: Uint8Array, kernels: "auto" | "js"): string => {
    try {
      return sha(decodeBloscSync(c, undefined, { kernels })!);
    } catch (e) {
      if (!(e instanceof BloscError)) throw e;
      return `BloscError at ${e.offset}`;
    }
  };
  let corrupt = 0;
  for (const f of lz4) assert.equal(outcome(load(f), "auto"), outcome(load(f), "js"), f.file);
  for (let i = 0; i < 400; i++) {
    const c = load(lz4[Math.floor(rand() * lz4.length)]!);
    for (let k = 0; k < 2; k++) c[16 + Math.floor(rand() * (c.length - 16))] = (rand() * 256) | 0;
    const wasm = outcome(c, "auto");
    assert.equal(wasm, outcome(c, "js"));
    if (wasm.startsWith("BloscError")) corrupt++;
  }
  assert.ok(corrupt > 0, "some corruptions were caught");
});

test("an lz4 match that reaches before the output start is rejected", () => {
  // token: 1 literal, match len 4; offset 2 with only 1 byte written.
  const src = new Uint8Array([0x10, 0x41, 0x02, 0x00, 0x00]);
  assert.throws(() => decodeLz4Block(src, 0, src.length, new Uint8Array(16), 0, 16), /points before the output/);
  // The same stream with offset 1 repeats the literal (an overlapping match).
  const ok = new Uint8Array([0x10, 0x41, 0x01, 0x00, 0x00]);
  const out = new Uint8Array(5);
  assert.equal(decodeLz4Block(ok, 0, ok.length, out, 0, 5), 5);
  assert.deepEqual([...out], [0x41, 0x41, 0x41, 0x41, 0x41]);
});

test("registering makes zarrita decode zarr v2 blosc arrays with BloscCodec", async () => {
  registerBloscCodec();
  const f = manifest.find((m) => m.cname === "lz4" && m.shuffle === "shuffle" && m.typesize === 4 && m.file.includes("normal"))!;
  const n = f.nbytes / 4;
  // the registered class wraps BloscCodec in a size check: a codec it makes throws BloscCodec's errors
  for (const name of ["numcodecs.blosc", "blosc"]) {
    const Loaded = (await zarr.registry.get(name)!()) as unknown as { fromConfig(c: object, m: object): { decode(b: Uint8Array): Promise<Uint8Array> } };
    await assert.rejects(Loaded.fromConfig({ cname: "lz4" }, { dataType: "uint32", shape: [n] }).decode(load(f).subarray(0, 100)), BloscError);
  }
  const zarray = {
    zarr_format: 2,
    shape: [n],
    chunks: [n],
    dtype: "<u4",
    compressor: { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1, blocksize: 0 },
    fill_value: 0,
    order: "C",
    filters: null,
  };
  const files = new Map<string, Uint8Array>([
    ["/.zarray", new TextEncoder().encode(JSON.stringify(zarray))],
    ["/0", load(f)],
  ]);
  const arr = await zarr.open.v2({ get: (k: string) => Promise.resolve(files.get(k)) }, { kind: "array", attrs: false });
  const chunk = await arr.getChunk([0]);
  const data = chunk.data as Uint32Array;
  assert.equal(sha(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)), f.sha256);
});

test("after registration, the ops' decodeChunk runs BloscCodec: a corrupt chunk fails with BloscError as the cause", async () => {
  registerBloscCodec();
  const { decodeChunk } = await import("@zask/array/ops");
  const f = manifest.find((m) => m.cname === "lz4" && m.shuffle === "shuffle" && m.typesize === 4 && m.file.includes("normal"))!;
  const n = f.nbytes / 4;
  const document = JSON.stringify({
    zarr_format: 2,
    shape: [n],
    chunks: [n],
    dtype: "<f4",
    compressor: { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1, blocksize: 0 },
    fill_value: 0,
    order: "C",
    filters: null,
  });
  const meta = { zarrFormat: 2 as const, document, dtype: "float32" as const };
  const block = await decodeChunk(load(f), meta, [0], [n]);
  const data = block.data as Float32Array;
  assert.equal(sha(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)), f.sha256);
  const corrupt = load(f).subarray(0, 100);
  await assert.rejects(decodeChunk(corrupt, meta, [0], [n]), (e: unknown) => {
    let c: unknown = e;
    while (c instanceof Error && !(c instanceof BloscError)) c = c.cause;
    return c instanceof BloscError;
  });
});

test("the WebAssembly lz4 kernel repeats matches of every offset and length as the JS one does, near the block end and far from it", () => {
  const kernels = wasmKernels();
  assert.ok(kernels !== null, "this runtime has WebAssembly SIMD");
  const lengthBytes = (n: number): number[] => {
    const out: number[] = [];
    for (; n >= 255; n -= 255) out.push(255);
    out.push(n);
    return out;
  };
  // a tail of 3 literals ends the block right after the match; one of 48 leaves the room the
  // kernel's fixed-size path for short sequences needs, and a second match runs on that path
  for (const tail of [3, 48]) {
    const tailBytes = Array.from({ length: tail }, (_, i) => (0xa0 + i) & 255);
    for (let off = 1; off <= 20; off++) {
      for (const len of [4, 5, 15, 16, 17, 18, 19, 31, 32, 33, 47, 100, 1000]) {
        // `off` literals, a match of `len` at offset `off`, 2 literals and a 5-byte match at
        // offset `off + 2`, then the tail's literals to end the block
        const literals = Array.from({ length: off }, (_, i) => (i * 37 + 1) & 255);
        const lit = Math.min(off, 15);
        const ml = Math.min(len - 4, 15);
        const src = Uint8Array.from([
          (lit << 4) | ml,
          ...(lit === 15 ? lengthBytes(off - 15) : []),
          ...literals,
          off & 255,
          off >> 8,
          ...(ml === 15 ? lengthBytes(len - 4 - 15) : []),
          0x21,
          0x55,
          0x66,
          (off + 2) & 255,
          (off + 2) >> 8,
          (Math.min(tail, 15) << 4) | 0,
          ...(tail >= 15 ? lengthBytes(tail - 15) : []),
          ...tailBytes,
        ]);
        const size = off + len + 2 + 5 + tail;
        const want = new Uint8Array(size);
        for (let i = 0; i < off + len; i++) want[i] = literals[i % off]!;
        want.set([0x55, 0x66], off + len);
        for (let i = 0; i < 5; i++) want[off + len + 2 + i] = want[off + len + 2 + i - (off + 2)]!;
        want.set(tailBytes, off + len + 7);
        const js = new Uint8Array(size);
        assert.equal(decodeLz4Block(src, 0, src.length, js, 0, size), size);
        assert.deepEqual(js, want, `JS, offset ${off}, length ${len}, tail ${tail}`);
        const mem = kernels.prepare(src.length, size, 1);
        mem.bytes.set(src, mem.input);
        assert.equal(kernels.lz4(mem.bytes, mem.input, mem.input + src.length, mem.bytes, mem.output, mem.output + size), mem.output + size);
        assert.deepEqual(mem.bytes.slice(mem.output, mem.output + size), want, `wasm, offset ${off}, length ${len}, tail ${tail}`);
      }
    }
  }
});

test("a block that ends right after a match (its last sequence must hold only literals) is refused by both kernels", () => {
  const kernels = wasmKernels();
  assert.ok(kernels !== null, "this runtime has WebAssembly SIMD");
  const literals = Array.from({ length: 60 }, (_, i) => i + 1);
  // 3 literals and a 4-byte match; 60 literals and a 4-byte match
  const short = Uint8Array.from([0x30, 1, 2, 3, 1, 0]);
  const long = Uint8Array.from([0xf0, 60 - 15, ...literals, 1, 0]);
  for (const [src, made] of [
    [short, 7],
    [long, 64],
  ] as const) {
    // room for exactly what it makes, and room to spare (where the kernel's fixed-size path runs)
    for (const size of [made, made + 100]) {
      assert.throws(() => decodeLz4Block(src, 0, src.length, new Uint8Array(size), 0, size), Lz4Fault, `JS, ${src.length} bytes into ${size}`);
      // what lies past the block's end (the kernels' slack) must not be read as another
      // sequence: a zero there would read as an empty last one
      for (const slack of [0x00, 0x10, 0x11]) {
        const mem = kernels.prepare(src.length, size, 1);
        mem.bytes.set(src, mem.input);
        mem.bytes.fill(slack, mem.input + src.length, mem.input + src.length + 64);
        assert.throws(
          () => kernels.lz4(mem.bytes, mem.input, mem.input + src.length, mem.bytes, mem.output, mem.output + size),
          Lz4Fault,
          `wasm, ${src.length} bytes into ${size}, slack ${slack}`,
        );
      }
    }
  }
});

test("the WebAssembly lz4 kernel refuses a short sequence's match before the output start, or of offset 0, where the JS one does", () => {
  const kernels = wasmKernels();
  assert.ok(kernels !== null, "this runtime has WebAssembly SIMD");
  // the tail leaves the room the kernel's fixed-size path for short sequences needs
  const tail = Array.from({ length: 60 }, (_, i) => i);
  for (const off of [0, 4, 5, 17, 1000]) {
    // 3 literals, a 4-byte match at `off` (valid only for 1 to 3), then 60 literals
    const src = Uint8Array.from([0x30, 1, 2, 3, off & 255, off >> 8, 0xf0, 60 - 15, ...tail]);
    const size = 3 + 4 + 60;
    const jsFault = (() => {
      try {
        decodeLz4Block(src, 0, src.length, new Uint8Array(size), 0, size);
      } catch (e) {
        return (e as { offset?: number }).offset;
      }
      return undefined;
    })();
    assert.notEqual(jsFault, undefined, `JS refuses offset ${off}`);
    const mem = kernels.prepare(src.length, size, 1);
    mem.bytes.set(src, mem.input);
    assert.throws(
      () => kernels.lz4(mem.bytes, mem.input, mem.input + src.length, mem.bytes, mem.output, mem.output + size),
      // the offset counts from the start of the kernels' memory, where the block was copied
      (e: unknown) => e instanceof Error && (e as { offset?: number }).offset === mem.input + jsFault!,
      `wasm refuses offset ${off} where JS does (${jsFault})`,
    );
  }
});

test("decodeBloscRange gives the bytes of any range that a whole decode gives, decoding only the blocks that hold it", async () => {
  const { decodeBloscRange } = await import("../../packages/array/dist/codecs/blosc-decode.js");
  const rand = prng(17);
  let ranged = 0;
  for (const f of manifest) {
    const chunk = load(f);
    const h = readBloscHeader(chunk);
    if (!isNativeBlosc(h)) {
      assert.equal(decodeBloscRange(chunk, 0, 1), null, f.file);
      continue;
    }
    const whole = decodeBloscSync(chunk)!;
    const n = whole.length;
    const cuts: [number, number][] = [
      [0, n],
      [0, 0],
      [n, n],
      [0, 1],
      [n - 1, n],
      [h.blocksize - 1, h.blocksize + 1],
    ];
    for (let i = 0; i < 6; i++) {
      const a = Math.floor(rand() * (n + 1));
      const b = Math.floor(rand() * (n + 1));
      cuts.push([Math.min(a, b), Math.max(a, b)]);
    }
    for (const kernels of ["auto", "js"] as const) {
      for (const [from, to] of cuts) {
        if (!(to <= n && from >= 0)) continue;
        const part = decodeBloscRange(chunk, from, to, { kernels })!;
        assert.deepEqual(part.bytes.subarray(part.offset, part.offset + to - from), whole.subarray(from, to), `${f.file} [${from}, ${to}) ${kernels}`);
        // only the blocks that hold the range
        const blocks = to > from ? Math.floor((to - 1) / h.blocksize) - Math.floor(from / h.blocksize) + 1 : 0;
        if (!(h.flags & 2)) assert.ok(part.bytes.length <= blocks * h.blocksize, `${f.file} [${from}, ${to}): ${part.bytes.length} bytes decoded`);
        ranged++;
      }
    }
    assert.throws(() => decodeBloscRange(chunk, 0, n + 1), BloscError, f.file);
  }
  assert.ok(ranged > 100, `${ranged} ranges checked`);
});

test("random corruptions of the header and block starts make decodeBloscRange throw BloscError or return the range's bytes", async () => {
  const { decodeBloscRange } = await import("../../packages/array/dist/codecs/blosc-decode.js");
  const rand = prng(23);
  const natives = manifest.filter((f) => isNativeBlosc(readBloscHeader(load(f))));
  let thrown = 0;
  for (let i = 0; i < 600; i++) {
    const f = natives[Math.floor(rand() * natives.length)]!;
    const c = load(f);
    const nblocks = Math.ceil(f.nbytes / readBloscHeader(c).blocksize);
    // the bytes a range decode reads first: the header and the block starts
    const head = Math.min(c.length, 16 + 4 * nblocks);
    for (let k = 0; k < 2; k++) c[Math.floor(rand() * head)] = (rand() * 256) | 0;
    const a = Math.floor(rand() * (f.nbytes + 1));
    const b = Math.floor(rand() * (f.nbytes + 1));
    const [from, to] = [Math.min(a, b), Math.max(a, b)];
    try {
      const part = decodeBloscRange(c, from, to, { maxBytes: f.nbytes });
      if (part !== null) assert.ok(part.offset + (to - from) <= part.bytes.length, `${f.file} [${from}, ${to})`);
    } catch (e) {
      if (!(e instanceof BloscError)) throw e;
      thrown++;
    }
  }
  assert.ok(thrown > 0);
});
