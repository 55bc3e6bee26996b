// Importing this module makes zarrita decode blosc chunks with BloscCodec and vlen-utf8 chunks
// with decodeVlenUtf8 (main thread and workers alike: each thread that imports it registers in
// its own zarrita registry).
import { registry } from "zarrita";
import { BloscCodec } from "./blosc-codec.js";
import { useFastVlenUtf8 } from "./vlen-utf8.js";

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
  registry.set("numcodecs.blosc", load);
  registry.set("blosc", load);
}

registerBloscCodec();
useFastVlenUtf8();
