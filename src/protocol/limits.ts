/**
 * Every bound the application protocol enforces, in one place. Decoders
 * check these before allocating, encoders before sending, so both ends agree
 * on what a well-formed message is.
 */

/**
 * The only protocol version this build speaks (sent in `Hello`). 2: a
 * file's hash is BLAKE3 over its chunk hashes (1 hashed the content).
 */
export const PROTOCOL_VERSION = 2;

/** Largest application message in bytes; must equal the transport's cap. */
export const MAX_MESSAGE_SIZE: number = 16 * 1024 * 1024;

/** Largest wire path in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;
/** Largest path component (file or directory name) in UTF-8 bytes. */
export const MAX_NAME_COMPONENT_BYTES = 255;
/** Largest symlink target in UTF-8 bytes. */
export const MAX_SYMLINK_TARGET_BYTES = 4096;
/** Largest peer display name (`Hello.name`) in UTF-8 bytes. */
export const MAX_PEER_NAME_BYTES = 63;

/** Most records in one `IndexBatch`. */
export const MAX_RECORDS_PER_BATCH = 4096;
/** Largest chunk in bytes (the FastCDC maximum). */
export const MAX_CHUNK_SIZE: number = 256 * 1024;
/**
 * Most chunks in one record: the largest count whose worst-case record
 * (longest path, full version vector, 35 bytes per chunk) still fits in one
 * message. That is 7 GiB of 16 KiB chunks, about 28 GiB at the 64 KiB average.
 */
export const MAX_CHUNKS_PER_RECORD: number = 448 * 1024;
/**
 * Most chunk ranges in one `Availability`: a sender with more (a `.part`
 * full of holes) announces the first ones only.
 */
export const MAX_AVAILABILITY_RANGES = 4096;
/** Most entries in a record's version vector. */
export const MAX_VERSION_ENTRIES = 256;

/** Size of a BLAKE3 hash (file and chunk hashes) in bytes. */
export const HASH_SIZE = 32;
/** Largest file size and chunk offset: sizes travel as JS numbers. */
export const MAX_FILE_SIZE: number = Number.MAX_SAFE_INTEGER;

/** Largest unsigned 64-bit value (replica ids). */
export const U64_MAX: bigint = (1n << 64n) - 1n;
/** Largest sequence number and version counter (SQLite's signed 64-bit range). */
export const MAX_SEQUENCE: bigint = (1n << 63n) - 1n;
/** Largest version counter. */
export const MAX_VERSION_COUNTER: bigint = MAX_SEQUENCE;
/** Smallest mtime in nanoseconds (signed 64-bit). */
export const MIN_MTIME_NS: bigint = -(1n << 63n);
/** Largest mtime in nanoseconds (signed 64-bit). */
export const MAX_MTIME_NS: bigint = (1n << 63n) - 1n;
/** Largest chunk request id (unsigned 32-bit). */
export const MAX_REQUEST_ID = 0xffff_ffff;

/**
 * Block size of a `BlockRequest`: 4 KiB, the page size and the unit most
 * in-place writers touch, so an overwrite costs at most one partial block
 * at each end. 64 KiB average chunks give 16 signatures (128 bytes, 0.2%)
 * each; 1 KiB blocks would quadruple that for little gain on edits that
 * are rarely smaller than a page.
 */
export const DELTA_BLOCK_SIZE = 4096;
/**
 * Bytes of a block signature (BLAKE3, truncated): only a hint of which
 * blocks are the same, since the whole chunk is verified after assembly,
 * so 64 bits make a collision (a wasted round trip) negligible.
 */
export const BLOCK_SIGNATURE_SIZE = 8;
/** Blocks of the largest chunk. */
export const MAX_BLOCKS_PER_CHUNK: number = Math.ceil(
  MAX_CHUNK_SIZE / DELTA_BLOCK_SIZE,
);
/** Blocks of a chunk of `length` bytes. */
export function blocksOf(length: number): number {
  return Math.ceil(length / DELTA_BLOCK_SIZE);
}
