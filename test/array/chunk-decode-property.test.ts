// Property tests over real stores written by zarr 2.13 (test/fixtures/bad-stores), copied to a
// temp dir: random damage to one compressed chunk, or to the array's metadata, never crashes,
// never hangs and never gives a result whose data length disagrees with its shape; the answer
// is the true values or a typed error naming the chunk or the array.
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { fromZarr, type ComputeOptions, type NDArray } from "@zask/array";
import { serveFixtures, type FixtureServer } from "../helpers/fixture-server.ts";
import { BAD, badExpected, findCause } from "./bad-stores.ts";

const CODECS = ["raw", "zlib", "gzip", "blosc-lz4", "zstd", "bz2", "lzma"] as const;
type Codec = (typeof CODECS)[number];
// Codecs whose format carries a checksum of the data: damage is refused or harmless, never wrong values.
const CHECKED: ReadonlySet<Codec> = new Set(["zlib", "gzip", "bz2", "lzma"]);
const storeOf = (codec: Codec) => `dense.c4x5.${codec}.f4.zarr`;
const truth = (codec: Codec) => badExpected[storeOf(codec)]!.data.map((v) => Math.fround(v));

// A compute that has not settled by then is a hang.
const DEADLINE_MS = 5000;

let dir: string;
let server: FixtureServer;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "zask-chunk-property-"));
  for (const codec of CODECS) await cp(BAD + storeOf(codec), path.join(dir, storeOf(codec)), { recursive: true });
  server = await serveFixtures(dir + path.sep);
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

type Outcome = { ok: NDArray } | { error: unknown };

async function settle(p: Promise<NDArray>): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  try {
    return { ok: await Promise.race([p, deadline]) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("no answer within")) throw error;
    return { error };
  } finally {
    clearTimeout(timer);
  }
}

/** The error, or a cause of it, with one of `names` (by name: a worker's error arrives as a clone). */
function named(e: unknown, names: readonly string[]): Error | undefined {
  return findCause(e, (c): c is Error => c instanceof Error && names.includes(c.name));
}

function assertShapeAgrees(r: NDArray, shape: readonly number[]): void {
  assert.deepEqual(r.shape, [...shape]);
  assert.equal(
    r.data.length,
    shape.reduce((a, b) => a * b, 1),
    "data length agrees with the shape",
  );
}

// Damage to one chunk's bytes: cut it short, add bytes at its end, or flip some of its bytes.
const damage = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), keep: fc.double({ min: 0, max: 0.999, noNaN: true }) }),
  fc.record({ kind: fc.constant("extend" as const), tail: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({
    kind: fc.constant("flip" as const),
    flips: fc.array(fc.record({ at: fc.double({ min: 0, max: 0.999, noNaN: true }), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }),
  }),
);
type Damage = typeof damage extends fc.Arbitrary<infer T> ? T : never;

function apply(bytes: Uint8Array, d: Damage): Uint8Array {
  if (d.kind === "truncate") return bytes.subarray(0, Math.floor(d.keep * bytes.length));
  if (d.kind === "extend") {
    const out = new Uint8Array(bytes.length + d.tail.length);
    out.set(bytes);
    out.set(d.tail, bytes.length);
    return out;
  }
  const out = bytes.slice();
  for (const f of d.flips) out[Math.floor(f.at * out.length)]! ^= f.xor;
  return out;
}

/** Damage chunk `key` of `codec`'s store, read the array from `source(store)`, then repair the chunk. */
async function readDamaged(
  codec: Codec,
  key: string,
  d: Damage,
  source: (store: string) => string,
  options: ComputeOptions,
): Promise<{ outcome: Outcome; changed: boolean; url: string }> {
  const store = storeOf(codec);
  const file = path.join(dir, store, key);
  const original = new Uint8Array(await readFile(file));
  const damaged = apply(original, d);
  await writeFile(file, damaged);
  try {
    const x = await fromZarr(source(store));
    const outcome = await settle(x.compute(options));
    const changed = damaged.length !== original.length || damaged.some((b, i) => b !== original[i]);
    return { outcome, changed, url: `${source(store).replace(/\/$/, "")}/${key}` };
  } finally {
    await writeFile(file, original);
  }
}

function checkDamaged(codec: Codec, d: Damage, r: { outcome: Outcome; changed: boolean; url: string }): void {
  if ("ok" in r.outcome) {
    assertShapeAgrees(r.outcome.ok, [10, 12]);
    const values = Array.from(r.outcome.ok.data as Float32Array);
    // a raw chunk of another length is never read as values
    if (codec === "raw" && d.kind !== "flip" && r.changed) assert.fail(`a raw chunk of another length (${d.kind}) read as values`);
    if (CHECKED.has(codec) || !r.changed) assert.deepEqual(values, truth(codec), "a checksummed codec gives the true values or an error");
    return;
  }
  const e = named(r.outcome.error, ["ChunkDecodeError"]);
  assert.ok(e !== undefined, `expected a ChunkDecodeError, got ${String(r.outcome.error)}`);
  assert.ok(e.message.includes(r.url), `the error names the chunk: ${e.message}`);
}

test("random truncations, extensions and byte flips of a chunk (every codec, local) give the true values, same-length values, or a ChunkDecodeError naming the chunk", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...CODECS),
      fc.constantFrom("0.0", "2.2"),
      damage,
      fc.constantFrom<ComputeOptions>({ scheduler: "sync" }, { inlineThreshold: 0 }),
      async (codec, key, d, options) => {
        checkDamaged(codec, d, await readDamaged(codec, key, d, (s) => path.join(dir, s), options));
      },
    ),
    { numRuns: 100, seed: 1313 },
  );
});

test("the same damage served over HTTP is refused naming the chunk's URL", async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...CODECS), damage, async (codec, d) => {
      checkDamaged(codec, d, await readDamaged(codec, "1.1", d, (s) => `${server.url}/${s}/`, {}));
    }),
    { numRuns: 30, seed: 2626 },
  );
});

// Metadata mutations: each field gets a value that is valid, plausible-but-wrong, or hostile.
const dim = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom<unknown>(-1, 2.5, 2 ** 40, 2 ** 53, "10", null));
const chunkDim = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constantFrom<unknown>(-3, 0.5, 2 ** 40, "4", null));
const mutation = fc.record(
  {
    shape: fc.oneof(fc.array(dim, { minLength: 2, maxLength: 2 }), fc.array(dim, { minLength: 0, maxLength: 3 }), fc.constantFrom<unknown>(null, 7, "10,12")),
    chunks: fc.oneof(fc.array(chunkDim, { minLength: 2, maxLength: 2 }), fc.array(chunkDim, { minLength: 0, maxLength: 3 }), fc.constantFrom<unknown>(null, 4)),
    dtype: fc.constantFrom<unknown>("<f4", "<f8", "<i4", "|u1", "|b1", ">f4", "<U3", "|S2", "|O", "<q9", "<c8", 4, null),
    compressor: fc.constantFrom<unknown>(
      null,
      { id: "zlib", level: 1 },
      { id: "gzip", level: 1 },
      { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1 },
      { id: "bz2" },
      { id: "lzma" },
      { id: "nope" },
      "zlib",
      7,
    ),
    order: fc.constantFrom<unknown>("C", "F", "Z", null),
    fill_value: fc.constantFrom<unknown>(0, 1.5, "NaN", "Infinity", null, true, "abc", [], {}),
  },
  { requiredKeys: [] },
);

test("random metadata mutations (shape, chunks, dtype, compressor, order, fill_value) are refused at open, or read to data of the shape they declare", async () => {
  const codec: Codec = "zlib";
  const store = path.join(dir, storeOf(codec));
  const zarray = path.join(store, ".zarray");
  const original = await readFile(zarray, "utf8");
  try {
    await fc.assert(
      fc.asyncProperty(mutation, fc.boolean(), async (m, overHttp) => {
        const meta = { ...(JSON.parse(original) as Record<string, unknown>), ...m };
        await writeFile(zarray, JSON.stringify(meta));
        const source = overHttp ? `${server.url}/${storeOf(codec)}` : store;
        let opened;
        try {
          opened = await fromZarr(source);
        } catch (error) {
          const e = named(error, ["ZarrMetadataError", "ZarrArrayError"]);
          assert.ok(e !== undefined, `expected a typed error at open for ${JSON.stringify(m)}, got ${String(error)}`);
          assert.ok(e.message.includes(source), e.message);
          return;
        }
        const outcome = await settle(opened.compute({ scheduler: "sync" }));
        if ("ok" in outcome) {
          assertShapeAgrees(outcome.ok, opened.shape);
          const onlyFill = Object.keys(m).every(
            (k) => k === "fill_value" || JSON.stringify(m[k as keyof typeof m]) === JSON.stringify(JSON.parse(original)[k]),
          );
          if (onlyFill) assert.deepEqual(Array.from(outcome.ok.data as Float32Array), truth(codec));
          return;
        }
        const e = named(outcome.error, ["ChunkDecodeError", "ZarrMetadataError"]);
        assert.ok(e !== undefined, `expected a ChunkDecodeError for ${JSON.stringify(m)}, got ${String(outcome.error)}`);
      }),
      { numRuns: 150, seed: 4242 },
    );
  } finally {
    await writeFile(zarray, original);
  }
});
