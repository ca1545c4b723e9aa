/**
 * WebAssembly emitted at load time: a minimal binary writer for the LZ4
 * kernel (`src/compress/_lz4_wasm.ts`, kept by the benchmark of issue #17;
 * the emitted BLAKE3 kernels were removed by the same rule, see
 * `src/index/hash.ts`).
 * @module
 */
export { Body, I32, section, str, uleb, WASM_HEADER } from "./wasm_writer.ts";
