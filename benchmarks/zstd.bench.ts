/**
 * zstd decode benchmark: zask's zstd decoder (packages/array/src/codecs/zstd-codec.ts, upstream
 * zstd in WebAssembly through our glue) against numcodecs' wasm Zstd (what zarrita decodes zstd
 * with), on chunks encoded by /usr/bin/python3 numcodecs.Zstd at zarr-python 3's default level
 * (0, i.e. zstd's 3): random normal float32 (a dense X), and the data and int32 column indices
 * of a CSR X (log1p counts; per row, a sorted 10% of 20,000 columns), 1,000,000 values a chunk.
 * Prints MB/s of decoded output (median of repeats), after checking both outputs are
 * byte-identical to what Python encoded.
 *
 * Run: node --import tsx benchmarks/zstd.bench.ts [repeats]   (not part of the tests)
 */
import { execFileSync } from "node:child_process";
import { registry } from "zarrita";
import "../packages/array/src/codecs/register.ts";
import { decodeZstd } from "../packages/array/src/codecs/zstd-codec.ts";
import { describeMachine } from "./lib/machine.ts";
import { median } from "./lib/stats.ts";

const REPEATS = Number(process.argv[2] ?? 21);
const N = 1_000_000;

const PY = `
import sys, struct, numpy as np
from numcodecs import Zstd
rng = np.random.default_rng(0)
n, kind = int(sys.argv[1]), sys.argv[2]
if kind == "normal":
    values = rng.standard_normal(n).astype("<f4")
elif kind == "data":
    values = np.log1p(rng.poisson(2, n) + 1).astype("<f4")
else:
    values = np.concatenate([np.sort(rng.choice(20000, 2000, replace=False)) for _ in range(n // 2000)]).astype("<i4")
enc = Zstd(level=0).encode(values)
out = sys.stdout.buffer
out.write(struct.pack("<I", len(enc)))
out.write(enc)
out.write(values.tobytes())
`;

interface Case {
  readonly name: string;
  readonly encoded: Uint8Array;
  readonly raw: Uint8Array;
}

function pythonCase(kind: string, name: string): Case {
  const out = execFileSync("/usr/bin/python3", ["-c", PY, String(N), kind], { maxBuffer: 1 << 26 });
  const len = out.readUInt32LE(0);
  return { name, encoded: new Uint8Array(out.subarray(4, 4 + len)), raw: new Uint8Array(out.subarray(4 + len)) };
}

type Decode = (bytes: Uint8Array) => Promise<Uint8Array>;

async function mbPerSecond(decode: Decode, c: Case): Promise<number> {
  for (let i = 0; i < 5; i++) await decode(c.encoded);
  const ms: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now();
    await decode(c.encoded);
    ms.push(performance.now() - t);
  }
  return c.raw.byteLength / 1e3 / median(ms);
}

// numcodecs' decoder: zarrita's zstd codec as it was before ours was registered over it
const { Zstd } = await import("numcodecs");
const numcodecs = Zstd.fromConfig({ id: "zstd", level: 0 });
const ours: Decode = async (bytes) => (await decodeZstd(bytes, 4 * N))!;
const theirs: Decode = (bytes) => numcodecs.decode(bytes);
if (registry.get("zstd") === undefined) throw new Error("zarrita has no zstd codec");

console.log(describeMachine());
const cases = [pythonCase("normal", "dense float32 (normal)"), pythonCase("data", "CSR data (log1p counts)"), pythonCase("indices", "CSR indices (int32)")];
for (const c of cases) {
  for (const [who, decode] of [
    ["ours", ours],
    ["numcodecs", theirs],
  ] as const) {
    const out = await decode(c.encoded);
    if (Buffer.compare(Buffer.from(out.buffer, out.byteOffset, out.byteLength), Buffer.from(c.raw.buffer, c.raw.byteOffset, c.raw.byteLength)) !== 0)
      throw new Error(`${who} decoded ${c.name} wrong`);
  }
  const a = await mbPerSecond(ours, c);
  const b = await mbPerSecond(theirs, c);
  console.log(
    `${c.name}: ${(c.raw.byteLength / 2 ** 20).toFixed(1)} MiB from ${(c.encoded.byteLength / 2 ** 20).toFixed(2)} MiB: ours ${a.toFixed(0)} MB/s, numcodecs ${b.toFixed(0)} MB/s (${(a / b).toFixed(2)}x)`,
  );
}
