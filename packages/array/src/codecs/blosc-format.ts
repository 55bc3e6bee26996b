// The blosc 1.x chunk format's constants, shared by the decoder and the encoder.

/** Bytes of a chunk's header. */
export const HEADER = 16;
/** Header flags. */
export const DOSHUFFLE = 0x1;
export const MEMCPYED = 0x2;
export const DOBITSHUFFLE = 0x4;
export const DONT_SPLIT = 0x10;
// c-blosc's split rule (MAX_SPLITS, MIN_BUFFERSIZE): chunks written before the dont-split flag
// existed split exactly when these hold, and newer writers never split outside them.
export const MAX_SPLITS = 16;
export const MIN_BUFFERSIZE = 128;
