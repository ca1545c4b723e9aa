/**
 * `deno task bench`: runs every benchmark and prints one table.
 * Each part is also runnable alone (`deno run -A scripts/bench_<part>.ts`).
 * Options after the part names go to the sync part, which must then run
 * alone: `deno task bench sync --only big,text --tools dsync`.
 * @module
 */
import { benchHash } from "./bench_hash.ts";
import { benchLz4 } from "./bench_lz4.ts";
import { benchWasm } from "./bench_wasm.ts";
import { benchScan } from "./bench_scan.ts";
import { benchCrypto } from "./bench_crypto.ts";
import { benchNet } from "./bench_net.ts";
import { benchFloor } from "./bench_floor.ts";
import { benchProtocol } from "./bench_protocol.ts";
import { benchSync, type BenchSyncOptions, parseCli } from "./bench_sync.ts";
import { printTable, type Row } from "./bench_table.ts";

const PARTS: [string, () => Promise<Row[]>][] = [
  ["hash", benchHash],
  ["lz4", benchLz4],
  ["wasm", benchWasm],
  ["scan", benchScan],
  ["crypto", benchCrypto],
  ["net", benchNet],
  ["floor", () => benchFloor()],
  ["protocol", benchProtocol],
  ["sync", () => benchSync(syncOptions)],
];

let syncOptions: BenchSyncOptions = {};

if (import.meta.main) {
  const flagAt = Deno.args.findIndex((a) => a.startsWith("-"));
  const only = flagAt < 0 ? Deno.args : Deno.args.slice(0, flagAt);
  if (flagAt >= 0) {
    try {
      if (only.length !== 1 || only[0] !== "sync") {
        throw new RangeError(
          `Options (${
            Deno.args[flagAt]
          }) are for the sync part alone: deno task bench sync ${
            Deno.args.slice(flagAt).join(" ")
          }`,
        );
      }
      syncOptions = parseCli(Deno.args.slice(flagAt));
    } catch (error) {
      console.error(
        `bench: ${error instanceof Error ? error.message : error}`,
      );
      Deno.exit(2);
    }
  }
  const rows: Row[] = [];
  for (const [name, run] of PARTS) {
    if (only.length > 0 && !only.includes(name)) continue;
    console.error(`bench: ${name}…`);
    for (const row of await run()) {
      rows.push({ ...row, name: `${name}: ${row.name}` });
    }
  }
  printTable(rows);
}
