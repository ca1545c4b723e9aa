/**
 * An LZ4 block compressor (the greedy single-probe matcher of the reference
 * "fast" mode) in plain TypeScript, so compression needs no file read, no
 * WebAssembly file and no permission.
 *
 * Output follows the block format rules the reference decoder relies on: the
 * last 5 bytes are literals, and no match starts within the last 12 bytes.
 * Positions without a match are skipped at a growing stride (one byte more
 * every 64 misses), so incompressible data costs a few thousand probes per
 * 64 KiB, and the output is abandoned as soon as it would not fit `out`.
 * @module
 */

const MIN_MATCH = 4;
/** The last 5 bytes of a block are always literals. */
const LAST_LITERALS = 5;
/** A match must start at least 12 bytes before the end. */
const MF_LIMIT = 12;
const MAX_OFFSET = 65_535;
const HASH_LOG = 14;
const HASH_SHIFT = 32 - HASH_LOG;
/** After 2^SKIP_TRIGGER misses in a row the stride grows by one byte. */
const SKIP_TRIGGER = 6;

// Positions are stored as `base + position`, so a new call only has to
// raise `base` past the previous input instead of clearing the table.
const table = new Int32Array(1 << HASH_LOG);
let base = 0;

function read32(src: DataView, i: number): number {
  return src.getInt32(i, true);
}

function hash(seq: number): number {
  return Math.imul(seq, 2654435761) >>> HASH_SHIFT;
}

/** Bytes that follow a token to extend a length field of 15 to `n`. */
function extraBytes(n: number): number {
  return n < 15 ? 0 : ((n - 15) / 255 | 0) + 1;
}

/**
 * Writes `src` as one LZ4 block into `out`; returns the block's length, or
 * -1 when it would not fit in `out` (size `out` to the most worth sending).
 */
export function compressLz4Block(src: Uint8Array, out: Uint8Array): number {
  const n = src.length;
  const cap = out.length;
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (base > 0x7fff_ffff - n - 1) {
    table.fill(0);
    base = 0;
  }
  const b = base + 1; // stored values below b belong to earlier calls
  base = b + n;
  let op = 0;
  let anchor = 0;
  if (n >= MF_LIMIT + 1) {
    const searchLimit = n - MF_LIMIT; // last position a match may start at
    const matchLimit = n - LAST_LITERALS; // matches end before this
    table[hash(read32(view, 0))] = b;
    let ip = 1;
    let misses = 1 << SKIP_TRIGGER;
    while (ip <= searchLimit) {
      // Find a 4-byte match; skip ahead faster the longer none is found.
      const seq = read32(view, ip);
      const h = hash(seq);
      let ref = table[h]! - b;
      table[h] = ip + b;
      if (ref < 0 || ip - ref > MAX_OFFSET || read32(view, ref) !== seq) {
        ip += misses++ >> SKIP_TRIGGER;
        continue;
      }
      misses = 1 << SKIP_TRIGGER;
      // Extend backwards over literals, then forwards.
      while (ip > anchor && ref > 0 && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      let end = ip + MIN_MATCH;
      let from = ref + MIN_MATCH;
      let diff = 0;
      while (end < matchLimit - 3) {
        diff = read32(view, end) ^ read32(view, from);
        if (diff !== 0) break;
        end += 4;
        from += 4;
      }
      if (diff !== 0) {
        // The first differing byte is the lowest set byte of `diff`.
        end += (31 - Math.clz32(diff & -diff)) >>> 3;
      } else {
        while (end < matchLimit && src[end] === src[from]) {
          end++;
          from++;
        }
      }
      const litLen = ip - anchor;
      const matchLen = end - ip;
      if (
        op + 3 + litLen + extraBytes(litLen) + extraBytes(matchLen - 4) > cap
      ) {
        return -1;
      }
      // Token, literal length, literals.
      const tokenPos = op++;
      let token: number;
      if (litLen >= 15) {
        token = 15 << 4;
        let rest = litLen - 15;
        for (; rest >= 255; rest -= 255) out[op++] = 255;
        out[op++] = rest;
      } else {
        token = litLen << 4;
      }
      if (litLen < 32) {
        for (let k = 0; k < litLen; k++) out[op + k] = src[anchor + k]!;
      } else {
        out.set(src.subarray(anchor, ip), op);
      }
      op += litLen;
      // Offset, match length.
      const offset = ip - ref;
      out[op++] = offset & 0xff;
      out[op++] = offset >>> 8;
      let code = matchLen - MIN_MATCH;
      if (code >= 15) {
        token |= 15;
        for (code -= 15; code >= 255; code -= 255) out[op++] = 255;
        out[op++] = code;
      } else {
        token |= code;
      }
      out[tokenPos] = token;
      ip = end;
      anchor = ip;
      // Index a position inside the match so the next search sees it.
      if (ip <= searchLimit) table[hash(read32(view, ip - 2))] = ip - 2 + b;
    }
  }
  // Last literals.
  const litLen = n - anchor;
  if (op + 1 + litLen + extraBytes(litLen) > cap) return -1;
  if (litLen >= 15) {
    out[op++] = 15 << 4;
    let rest = litLen - 15;
    for (; rest >= 255; rest -= 255) out[op++] = 255;
    out[op++] = rest;
  } else {
    out[op++] = litLen << 4;
  }
  out.set(src.subarray(anchor), op);
  return op + litLen;
}

/** The largest block {@linkcode compressLz4Block} can produce for `n` bytes. */
export function lz4BlockBound(n: number): number {
  return n + ((n / 255) | 0) + 16;
}
