/**
 * Blosc decode benchmark: zask's decoder (packages/array/src/codecs, its lz4 and unshuffle loops in
 * WebAssembly SIMD, and with the JS build of those loops) against numcodecs' wasm Blosc.decode, on the chunks of an AnnData X as anndata writes them: random normal
 * float32, blosc lz4 + byte shuffle, clevel 5 (numcodecs' default Blosc), encoded by
 * /usr/bin/python3 numcodecs. Two chunkings: 370 chunks of 2638x5 and 74 chunks of 2638x25;
 * and the int32 column indices of a CSR X (sorted per row, 10% of 1838 columns) in the 8
 * chunks of 60,583 that anndata writes for the pbmc-shaped X, whose zero byte planes decode as
 * long overlapping lz4 matches.
 * Prints MB/s of decoded output (median of repeats) for: ours into a new array, ours into a
 * caller-provided output, numcodecs; checks the outputs are byte-identical first. Then encodes
 * the same values again with zask's lz4 encoder and numcodecs' (MB/s of input, and the ratio).
 *
 * Run: node --import tsx benchmarks/blosc.bench.ts [repeats]   (not part of the tests)
 */
import { execFileSync } from "node:child_process";
import Blosc from "numcodecs/blosc";
import { decodeBloscSync } from "../packages/array/src/codecs/blosc-decode.ts";
import { encodeBloscLz4 } from "../packages/array/src/codecs/blosc-encode.ts";
import { describeMachine } from "./lib/machine.ts";
import { median } from "./lib/stats.ts";

const REPEATS = Number(process.argv[2] ?? 9);

const PY = `
import sys, struct, numpy as np
from numcodecs import Blosc
rows, cols, n, kind = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(0)
codec = Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)
out = sys.stdout.buffer
for _ in range(n):
    if kind == "normal":
        values = rng.standard_normal((rows, cols)).astype("<f4")
    else:
        # a CSR X's column indices: per row, a sorted 10% of 1838 columns, rows * cols of them
        values = np.concatenate([np.sort(rng.choice(1838, 184, replace=False)) for _ in range(rows * cols // 184 + 1)])[: rows * cols].astype("<i4")
    enc = codec.encode(values)
    out.write(struct.pack("<I", len(enc)))
    out.write(enc)
`;

function pythonChunks(rows: number, cols: number, n: number, kind: "normal" | "csr-indices"): Uint8Array[] {
  const buf = execFileSync("/usr/bin/python3", ["-c", PY, String(rows), String(cols), String(n), kind], { maxBuffer: 1 << 30 });
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < buf.length; ) {
    const len = buf.readUInt32LE(at);
    chunks.push(new Uint8Array(buf.buffer, buf.byteOffset + at + 4, len).slice());
    at += 4 + len;
  }
  return chunks;
}

// CPU time of this process (user + system), not wall time: the machine is shared, and a
// process waiting for a core is not decoding. The contenders run interleaved, repeat by repeat.
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
}

async function timeRuns(fns: readonly (() => Promise<void> | void)[]): Promise<{ cpu: number; wall: number }[]> {
  for (const fn of fns) await fn(); // warm-up (JIT, wasm instantiation)
  const cpu: number[][] = fns.map(() => []);
  const wall: number[][] = fns.map(() => []);
  for (let r = 0; r < REPEATS; r++) {
    for (let i = 0; i < fns.length; i++) {
      const c0 = cpuMs();
      const t0 = performance.now();
      await fns[i]!();
      wall[i]!.push(performance.now() - t0);
      cpu[i]!.push(cpuMs() - c0);
    }
  }
  return fns.map((_, i) => ({ cpu: median(cpu[i]!), wall: median(wall[i]!) }));
}

async function bench(label: string, rows: number, cols: number, n: number, kind: "normal" | "csr-indices" = "normal"): Promise<void> {
  const chunks = pythonChunks(rows, cols, n, kind);
  const raw = rows * cols * 4;
  const compressed = chunks.reduce((s, c) => s + c.length, 0);
  const blosc = Blosc.fromConfig({ cname: "lz4", clevel: 5, shuffle: 1, blocksize: 0 });
  for (const c of chunks) {
    const ours = decodeBloscSync(c)!;
    const theirs = await blosc.decode(c);
    if (Buffer.compare(Buffer.from(ours.buffer, ours.byteOffset, ours.length), Buffer.from(theirs.buffer, theirs.byteOffset, theirs.length)) !== 0) {
      throw new Error(`${label}: outputs differ`);
    }
  }
  const header = chunks[0]!;
  const blocksize = header[8]! | (header[9]! << 8) | (header[10]! << 16) | (header[11]! << 24);
  const out = new Uint8Array(raw);
  const [ours, oursOut, oursJs, theirs] = await timeRuns([
    () => {
      for (const c of chunks) decodeBloscSync(c);
    },
    () => {
      for (const c of chunks) decodeBloscSync(c, out);
    },
    () => {
      for (const c of chunks) decodeBloscSync(c, out, { kernels: "js" });
    },
    async () => {
      for (const c of chunks) await blosc.decode(c);
    },
  ]);
  const mbs = (ms: number) => ((raw * n) / 1e6 / (ms / 1e3)).toFixed(0);
  const row = (name: string, t: { cpu: number; wall: number }) =>
    console.log(
      `  ${name.padEnd(30)} cpu ${t.cpu.toFixed(1).padStart(7)} ms ${mbs(t.cpu).padStart(6)} MB/s   wall ${t.wall.toFixed(1).padStart(7)} ms ${mbs(t.wall).padStart(6)} MB/s`,
    );
  console.log(`${label}: ${n} chunks of ${(raw / 1024).toFixed(0)} KiB (blocksize ${blocksize}, ratio ${((raw * n) / compressed).toFixed(2)})`);
  row("zask decodeBloscSync", ours!);
  row("zask decodeBloscSync(out)", oursOut!);
  row("zask, JS kernels (out)", oursJs!);
  row("numcodecs Blosc.decode (wasm)", theirs!);
  console.log(
    `  speed-up (cpu) ${(theirs!.cpu / ours!.cpu).toFixed(1)}x, into caller's output ${(theirs!.cpu / oursOut!.cpu).toFixed(1)}x, SIMD kernels over JS ones ${(oursJs!.cpu / oursOut!.cpu).toFixed(1)}x; (wall) ${(theirs!.wall / ours!.wall).toFixed(1)}x`,
  );
}

/**
 * Encoding the same chunks' values again (lz4, level 5, byte shuffle, item size 4): zask's
 * encoder against numcodecs' JS build, each output checked to decode to its input.
 */
async function benchEncode(label: string, rows: number, cols: number, n: number, kind: "normal" | "csr-indices" = "normal"): Promise<void> {
  const values = pythonChunks(rows, cols, n, kind).map((c) => decodeBloscSync(c)!);
  const raw = values.reduce((a, v) => a + v.length, 0);
  const blosc = Blosc.fromConfig({ cname: "lz4", clevel: 5, shuffle: 1, blocksize: 0 });
  const options = { clevel: 5, shuffle: 1, typesize: 4, blocksize: 0 } as const;
  let oursBytes = 0;
  let theirsBytes = 0;
  for (const v of values) {
    const ours = encodeBloscLz4(v, options)!;
    if (Buffer.compare(Buffer.from(decodeBloscSync(ours)!), Buffer.from(v)) !== 0) throw new Error(`${label}: zask's chunk does not decode to its input`);
    oursBytes += ours.length;
    theirsBytes += (await blosc.encode(v)).length;
  }
  const [ours, theirs] = await timeRuns([
    () => {
      for (const v of values) encodeBloscLz4(v, options);
    },
    async () => {
      for (const v of values) await blosc.encode(v);
    },
  ]);
  const mbs = (ms: number) => (raw / 1e6 / (ms / 1e3)).toFixed(0);
  console.log(`${label}, encoded: ${n} chunks`);
  console.log(
    `  zask encodeBloscLz4             cpu ${ours!.cpu.toFixed(1).padStart(7)} ms ${mbs(ours!.cpu).padStart(6)} MB/s   ratio ${(raw / oursBytes).toFixed(2)}`,
  );
  console.log(
    `  numcodecs Blosc.encode (wasm)   cpu ${theirs!.cpu.toFixed(1).padStart(7)} ms ${mbs(theirs!.cpu).padStart(6)} MB/s   ratio ${(raw / theirsBytes).toFixed(2)}`,
  );
  console.log(`  speed-up (cpu) ${(theirs!.cpu / ours!.cpu).toFixed(1)}x`);
}

console.log(describeMachine());
console.log(`median of ${REPEATS} interleaved repeats`);
await bench("2638x5 float32", 2638, 5, 370);
await bench("2638x25 float32", 2638, 25, 74);
await bench("60583 int32 CSR column indices", 60583, 1, 8, "csr-indices");
await benchEncode("2638x25 float32", 2638, 25, 74);
await benchEncode("60583 int32 CSR column indices", 60583, 1, 8, "csr-indices");
