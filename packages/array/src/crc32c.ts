// crc32c (@aws-crypto/crc32c), loaded on the first checksum: only sharded stores need one, and
// importing it at load would slow the start of every process.
import { createRequire } from "node:module";

let impl: ((data: Uint8Array) => number) | undefined;

/**
 * The CRC-32C of `data`, as zarr v3's `crc32c` codec and the shard index use it.
 *
 * @example
 * ```ts
 * crc32c(new TextEncoder().encode("123456789")) >>> 0; // 0xe3069283
 * ```
 */
export function crc32c(data: Uint8Array): number {
  impl ??= (createRequire(import.meta.url)("@aws-crypto/crc32c") as typeof import("@aws-crypto/crc32c")).crc32c;
  return impl(data);
}
