// zask's blosc lz4 encoder against three decoders: c-blosc itself (Python numcodecs, the
// reference), c-blosc compiled to WebAssembly (numcodecs.js) and zask's own; on random bytes of
// every size class blosc treats apart (memcpyed, one block, several, a leftover block), item
// sizes with and without split streams, both shuffles, every level and forced block sizes.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import Blosc from "numcodecs/blosc";
import { encodeBloscLz4 } from "@zask/array";
import { decodeBloscSync, readBloscHeader } from "../../packages/array/dist/codecs/blosc-decode.js";
import { Rng } from "../helpers/random.ts";

const PYTHON = "/usr/bin/python3";

/** `n` bytes of a pattern that compresses badly, well, or in parts. */
function bytesOf(r: Rng, n: number, pattern: "random" | "zeros" | "smooth" | "text" | "mixed", typesize: number): Uint8Array {
  const out = new Uint8Array(n);
  switch (pattern) {
    case "random":
      for (let i = 0; i < n; i++) out[i] = r.u32() & 255;
      break;
    case "zeros":
      break;
    case "smooth": {
      // items that change slowly: their high bytes repeat, which shuffle gathers
      const w = Math.max(typesize, 1);
      for (let i = 0; i + w <= n; i += w) {
        const v = Math.floor(1000 + 50 * Math.sin(i / 997));
        for (let b = 0; b < w; b++) out[i + b] = b < 2 ? (v >> (8 * b)) & 255 : 0;
      }
      break;
    }
    case "text": {
      const words = ["gene", "cell", "CD4", "ribosomal", " ", "\n", "MT-", "0.25"];
      let i = 0;
      while (i < n) for (const c of new TextEncoder().encode(r.pick(words))) if (i < n) out[i++] = c;
      break;
    }
    case "mixed":
      for (let i = 0; i < n; i++) out[i] = (i >> 12) % 2 === 0 ? r.u32() & 255 : 7;
      break;
  }
  return out;
}

interface Case {
  label: string;
  data: Uint8Array;
  encoded: Uint8Array;
}

function cases(): Case[] {
  const r = new Rng(20261207);
  const out: Case[] = [];
  const sizes = [0, 1, 15, 127, 128, 129, 1000, 4099, 32768, 65537, 262149, 600001, 1_500_000];
  for (const [k, n] of sizes.entries()) {
    for (let v = 0; v < 6; v++) {
      const typesize = r.pick([1, 2, 3, 4, 4, 8, 8, 16, 17]);
      const shuffle = r.pick([0, 1, 1] as const);
      const clevel = r.pick([0, 1, 3, 5, 5, 5, 7, 9]);
      const blocksize = r.pick([0, 0, 0, 300, 4097, 65536]);
      const pattern = r.pick(["random", "zeros", "smooth", "smooth", "text", "mixed"] as const);
      const data = bytesOf(r, n, pattern, typesize);
      const encoded = encodeBloscLz4(data, { clevel, shuffle, typesize, blocksize });
      assert.ok(encoded !== null, "the WebAssembly kernels are available here");
      out.push({
        label: `case ${k}.${v}: ${n} ${pattern} bytes, typesize ${typesize}, shuffle ${shuffle}, clevel ${clevel}, blocksize ${blocksize}`,
        data,
        encoded,
      });
    }
  }
  return out;
}

const all = cases();

describe("blosc lz4 encoding", () => {
  test("zask's decoder gives every chunk's bytes back, and the header says what was written", () => {
    for (const c of all) {
      const h = readBloscHeader(c.encoded);
      assert.equal(h.nbytes, c.data.length, `${c.label}: nbytes`);
      assert.equal(h.cbytes, c.encoded.length, `${c.label}: cbytes`);
      assert.ok(h.cbytes <= c.data.length + 16, `${c.label}: never larger than the bytes and a header`);
      assert.equal(h.compressor, "lz4", c.label);
      const back = decodeBloscSync(c.encoded);
      assert.ok(back !== null, `${c.label}: decodable without numcodecs`);
      assert.ok(Buffer.from(back).equals(Buffer.from(c.data)), `${c.label}: round trip`);
    }
  });

  test("an empty chunk is c-blosc's: a memcpyed header of block size 1", () => {
    // numcodecs.blosc.compress(b"", b"lz4", 5, 1) from the Python reference stack
    const cblosc = [2, 1, 51, 1, 0, 0, 0, 0, 1, 0, 0, 0, 16, 0, 0, 0];
    assert.deepEqual([...encodeBloscLz4(new Uint8Array(0), { clevel: 5, shuffle: 1, typesize: 1, blocksize: 0 })!], cblosc);
  });

  test("compressible bytes shrink; shuffle gathers the bytes of slowly changing items", () => {
    const r = new Rng(7);
    const data = bytesOf(r, 400_000, "smooth", 4);
    const plain = encodeBloscLz4(data, { clevel: 5, shuffle: 0, typesize: 4, blocksize: 0 })!;
    const shuffled = encodeBloscLz4(data, { clevel: 5, shuffle: 1, typesize: 4, blocksize: 0 })!;
    assert.ok(shuffled.length < plain.length, `shuffled ${shuffled.length} < plain ${plain.length}`);
    assert.ok(shuffled.length < data.length / 4, `shuffled ${shuffled.length} of ${data.length}`);
  });

  test("c-blosc compiled to WebAssembly (numcodecs.js) decodes every chunk to the same bytes", async () => {
    const codec = Blosc.fromConfig({ id: "blosc", cname: "lz4", clevel: 5, shuffle: 1, blocksize: 0 });
    for (const c of all) {
      const back = await codec.decode(c.encoded);
      assert.ok(Buffer.from(back).equals(Buffer.from(c.data)), c.label);
    }
  });

  describe("c-blosc (Python numcodecs)", () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "zask-blosc-encode-"));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    test("decodes every chunk to the same bytes", async (t) => {
      try {
        await promisify(execFile)(PYTHON, ["-c", "import numcodecs"]);
      } catch {
        t.skip("the Python reference stack is not installed");
        return;
      }
      const files: string[] = [];
      // numcodecs refuses even c-blosc's own empty chunks ("error during blosc decompression: 0")
      const checked = all.filter((c) => c.data.length > 0);
      for (const [i, c] of checked.entries()) {
        await writeFile(path.join(dir, `${i}.blosc`), c.encoded);
        await writeFile(path.join(dir, `${i}.raw`), c.data);
        files.push(String(i));
      }
      const script = [
        "import sys, json, os",
        "from numcodecs import blosc",
        "d = sys.argv[1]",
        "out = []",
        "for name in json.loads(sys.argv[2]):",
        "    enc = open(os.path.join(d, name + '.blosc'), 'rb').read()",
        "    raw = open(os.path.join(d, name + '.raw'), 'rb').read()",
        "    try:",
        "        dec = blosc.decompress(enc)",
        "        out.append(None if dec == raw else f'{len(dec)} bytes, differ')",
        "    except Exception as e:",
        "        out.append(repr(e))",
        "print(json.dumps(out))",
      ].join("\n");
      const { stdout } = await promisify(execFile)(PYTHON, ["-c", script, dir, JSON.stringify(files)], { maxBuffer: 1 << 24 });
      const answers = JSON.parse(stdout) as (string | null)[];
      const problems = answers.flatMap((a, i) => (a === null ? [] : [`${checked[i]!.label}: ${a}`]));
      assert.deepEqual(problems, []);
      assert.equal(answers.length, checked.length);
    });
  });
});
