/** Sizes of unsigned LEB128 varints, shared by the writer and size estimates. */

/** Bytes of the varint of `v` (a safe non-negative integer). */
export function varUintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x20_0000) return 3;
  if (v < 0x1000_0000) return 4;
  let size = 4;
  let rest = Math.floor(v / 0x1000_0000);
  while (rest > 0) {
    size++;
    rest = Math.floor(rest / 128);
  }
  return size;
}

/** Bytes of the varint of `v` (0 to 2^64 - 1). */
export function varBigUintSize(v: bigint): number {
  if (v <= 0x1f_ffff_ffff_ffffn) return varUintSize(Number(v));
  let size = 0;
  let rest = v;
  while (rest > 0n) {
    size++;
    rest >>= 7n;
  }
  return size;
}

/** Zigzag mapping of a signed 64-bit value to an unsigned one. */
export function zigzag(v: bigint): bigint {
  return v < 0n ? (-v << 1n) - 1n : v << 1n;
}
