/**
 * `deno task bench`: runs every benchmark and prints one table, then the
 * comparison with rsync and Syncthing on loopback, shaped links and a mesh
 * (`links`, see bench_links.ts). `deno task bench PART…` runs only those
 * parts; `deno task bench links [flags]` runs only the comparison, with
 * its flags (e.g. `--quick`, `--modes link`). `sync` is the loopback-only
 * comparison with its own details (memory, CPU); the default run leaves it
 * out because `links` measures loopback too. Each part is also runnable
 * alone (`deno run -A scripts/bench_<part>.ts`). Options after the part
 * names (before `links`) go to the sync part, which must then run alone:
 * `deno task bench sync --only big,text --tools dsync`.
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
import { main as benchLinks } from "./bench_links.ts";

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

/** Part names the default run (no arguments) leaves out. */
const NOT_BY_DEFAULT = ["sync"];

let syncOptions: BenchSyncOptions = {};

if (import.meta.main) {
  const at = Deno.args.indexOf("links");
  const before = at < 0 ? Deno.args : Deno.args.slice(0, at);
  const linksArgs = at < 0 ? [] : Deno.args.slice(at + 1);
  const flagAt = before.findIndex((a) => a.startsWith("-"));
  const only = flagAt < 0 ? before : before.slice(0, flagAt);
  const known = [...PARTS.map(([name]) => name), "links"];
  const unknown = only.find((name) => !known.includes(name));
  if (unknown !== undefined) {
    console.error(
      `bench: unknown part "${unknown}" (expected ${known.join(", ")})`,
    );
    Deno.exit(2);
  }
  if (flagAt >= 0) {
    try {
      if (only.length !== 1 || only[0] !== "sync") {
        throw new RangeError(
          `Options (${before[flagAt]}) are for the sync part alone: ` +
            `deno task bench sync ${before.slice(flagAt).join(" ")}`,
        );
      }
      syncOptions = parseCli(before.slice(flagAt));
    } catch (error) {
      console.error(
        `bench: ${error instanceof Error ? error.message : error}`,
      );
      Deno.exit(2);
    }
  }
  const rows: Row[] = [];
  for (const [name, run] of PARTS) {
    const wanted = only.length > 0 || at >= 0
      ? only.includes(name)
      : !NOT_BY_DEFAULT.includes(name);
    if (!wanted) continue;
    console.error(`bench: ${name}…`);
    for (const row of await run()) {
      rows.push({ ...row, name: `${name}: ${row.name}` });
    }
  }
  if (rows.length > 0) printTable(rows);
  if (at >= 0 || only.length === 0) {
    console.error("bench: links…");
    const code = await benchLinks(linksArgs);
    if (code !== 0) Deno.exit(code);
  }
}
