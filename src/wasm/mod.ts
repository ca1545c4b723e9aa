/**
 * WebAssembly emitted at load time: a minimal binary writer shared by the
 * kernels (BLAKE3 in `src/index`, LZ4 in `src/sync`).
 * @module
 */
export {
  Body,
  I32,
  section,
  sleb,
  str,
  uleb,
  V128,
  WASM_HEADER,
} from "./wasm_writer.ts";
