/**
 * A bounds-checked decoder of the LZ4 block format (a sequence of
 * token, literals, 2-byte little-endian offset, match; the last sequence has
 * literals only). It writes into an output of exactly the announced size, so
 * no input can make it allocate or write more; every read and write is
 * checked against its buffer.
 * @module
 */

/** Why a block could not be decoded; `undefined` when it decoded to exactly `out.length` bytes. */
export type Lz4BlockProblem =
  | "truncated input"
  | "output overflow"
  | "offset out of range"
  | "output too short";

/** Below this many bytes a plain loop beats `set`/`copyWithin` (their call cost dominates). */
const SHORT_COPY = 32;

/** Decodes LZ4 block `src` into `out`; returns the problem, or undefined when `out` was filled exactly. */
export function decodeLz4Block(
  src: Uint8Array,
  out: Uint8Array,
): Lz4BlockProblem | undefined {
  const srcEnd = src.length;
  const outEnd = out.length;
  // Short copies go 4 bytes at a time where 3 bytes of slack remain; bytes
  // written past a copy's end are overwritten by the next one, or the block
  // fails the final length check.
  const sv = new DataView(src.buffer, src.byteOffset, srcEnd);
  const ov = new DataView(out.buffer, out.byteOffset, outEnd);
  let ip = 0;
  let op = 0;
  while (true) {
    if (ip >= srcEnd) return "truncated input";
    const token = src[ip++]!;
    // Literals.
    let litLen = token >>> 4;
    if (litLen === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) return "truncated input";
        b = src[ip++]!;
        litLen += b;
      } while (b === 255 && litLen <= outEnd);
      if (b === 255) return "output overflow";
    }
    if (litLen > srcEnd - ip) return "truncated input";
    if (litLen > outEnd - op) return "output overflow";
    if (litLen < SHORT_COPY) {
      if (ip + litLen + 3 < srcEnd && op + litLen + 3 < outEnd) {
        for (let k = 0; k < litLen; k += 4) {
          ov.setInt32(op + k, sv.getInt32(ip + k, true), true);
        }
      } else {
        for (let k = 0; k < litLen; k++) out[op + k] = src[ip + k]!;
      }
    } else {
      out.set(src.subarray(ip, ip + litLen), op);
    }
    ip += litLen;
    op += litLen;
    if (ip === srcEnd) break; // last sequence: literals only
    // Match.
    if (srcEnd - ip < 2) return "truncated input";
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) return "offset out of range";
    let matchLen = token & 15;
    if (matchLen === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) return "truncated input";
        b = src[ip++]!;
        matchLen += b;
      } while (b === 255 && matchLen <= outEnd);
      if (b === 255) return "output overflow";
    }
    matchLen += 4;
    if (matchLen > outEnd - op) return "output overflow";
    let from = op - offset;
    if (offset >= matchLen && matchLen >= SHORT_COPY) {
      out.copyWithin(op, from, from + matchLen);
      op += matchLen;
    } else if (offset < matchLen && matchLen >= SHORT_COPY && offset >= 8) {
      // Overlapping run: copy in steps of `offset`, each step non-overlapping.
      const end = op + matchLen;
      while (op < end) {
        const n = Math.min(offset, end - op);
        out.copyWithin(op, from, from + n);
        op += n;
        from += n;
      }
    } else if (offset >= 4 && op + matchLen + 3 < outEnd) {
      const end = op + matchLen;
      while (op < end) {
        ov.setInt32(op, ov.getInt32(from, true), true);
        op += 4;
        from += 4;
      }
      op = end;
    } else {
      const end = op + matchLen;
      while (op < end) out[op++] = out[from++]!;
    }
  }
  return op === outEnd ? undefined : "output too short";
}
