// Importing this module makes zarrita decode blosc chunks with BloscCodec, bz2 and lzma chunks
// with Bz2Codec and LzmaCodec, zstd chunks with decodeZstd, and vlen-utf8 chunks with
// decodeVlenUtf8 (main thread and workers alike: each thread that imports it registers in its
// own zarrita registry).
import { registry } from "zarrita";
import { BloscCodec } from "./blosc-codec.js";
import { checkedSize } from "./checked-size.js";
import { useFastVlenUtf8 } from "./vlen-utf8.js";
import { zstdCodec } from "./zstd-codec.js";

/**
 * Register BloscCodec in zarrita's codec registry for zarr v2 (`numcodecs.blosc`) and v3
 * (`blosc`). Idempotent; also runs once when this module is imported.
 *
 * @example
 * ```ts
 * import "./codecs/register.js"; // before the first zarrita open
 * ```
 */
export function registerBloscCodec(): void {
  const load = () => BloscCodec as never;
  registry.set("numcodecs.blosc", checkedSize("numcodecs.blosc", load) as never);
  registry.set("blosc", checkedSize("blosc", load) as never);
}

/**
 * Register the numcodecs compressors zarrita lacks: BZ2 (`numcodecs.bz2`) and LZMA
 * (`numcodecs.lzma`), decode only. Idempotent; also runs once when this module is imported.
 *
 * @example
 * ```ts
 * registerNumcodecsExtras(); // then zarrita opens arrays with {"id": "bz2"} or {"id": "lzma"}
 * ```
 */
export function registerNumcodecsExtras(): void {
  // Imported on first use: few stores use them, and every worker thread imports this module.
  registry.set("numcodecs.bz2", checkedSize("numcodecs.bz2", async () => (await import("./bz2-codec.js")).Bz2Codec as never) as never);
  registry.set("numcodecs.lzma", checkedSize("numcodecs.lzma", async () => (await import("./lzma-codec.js")).LzmaCodec as never) as never);
}

// zarrita's own decompressors, v2 and v3 names (ours above are registered wrapped).
const DECOMPRESSORS = ["zlib", "gzip", "zstd", "lz4"].flatMap((c) => [c, `numcodecs.${c}`]);

/**
 * Wrap zarrita's decompressors so that a chunk decompressing to another size than the
 * chunk's is an error (see `checkedSize`), zstd's decoding through `zstdCodec`. Runs once,
 * when this module is imported.
 */
function checkDecompressedSizes(): void {
  for (const name of DECOMPRESSORS) {
    const load = registry.get(name);
    if (load === undefined) continue;
    const decoder = name.endsWith("zstd") ? zstdCodec(load as never) : load;
    registry.set(name, checkedSize(name, decoder as never) as never);
  }
}

checkDecompressedSizes();
registerBloscCodec();
registerNumcodecsExtras();
useFastVlenUtf8();
