/**
 * Many devices at once: one device gets a new file, and the clock runs until
 * every other device holds it byte for byte. The devices first sync a small
 * warm-up file (untimed) so that all are started and connected; the new file
 * is written outside the folders and renamed in, so that it appears whole.
 * Every process is stopped and every folder removed, also on failure.
 * @module
 */
import { waitForIdentical, type WaitOutcome } from "./completion.ts";
import { buildManifest } from "./manifest.ts";
import { Prng } from "./prng.ts";
import type { Endpoint, GroupRun, SyncTool } from "./sync_tool.ts";
import type { MeasureOptions } from "./measure.ts";

/** Result of {@linkcode measureSpread}. */
export interface SpreadResult {
  /** The worst device's outcome (done only when every device is done). */
  outcome:
    | WaitOutcome
    | { kind: "unavailable"; reason: string }
    | { kind: "error"; message: string };
  /** Seconds until the last device held the file, when all did. */
  seconds: number | null;
  /** Seconds until each receiving device held it (null: it did not). */
  perDevice: (number | null)[];
  wireBytes?: number;
  lastLines?: string[];
}

const WARM_SIZE = 64 * 1024;
const BLOCK = 16 * 1024 * 1024;

async function writeRandomFile(
  path: string,
  size: number,
  seed: number,
): Promise<void> {
  const rng = new Prng(seed);
  const block = new Uint8Array(Math.min(BLOCK, size));
  using file = await Deno.open(path, { write: true, create: true });
  for (let written = 0; written < size;) {
    const part = block.subarray(0, Math.min(block.length, size - written));
    rng.fill(part);
    for (let off = 0; off < part.length;) {
      off += await file.write(part.subarray(off));
    }
    written += part.length;
  }
}

/** The first outcome in `outcomes` that is not done, else null. */
export function worstOutcome(outcomes: WaitOutcome[]): WaitOutcome | null {
  return outcomes.find((o) => o.kind !== "done") ?? null;
}

/**
 * Device 0 of `hosts.length` devices running `tool` gets a new random file
 * of `size` bytes; measures until all others hold it.
 */
export async function measureSpread(
  tool: SyncTool,
  hosts: readonly Endpoint[],
  size: number,
  seed: number,
  scratch: string,
  options: MeasureOptions,
): Promise<SpreadResult> {
  const none = { seconds: null, perDevice: [] };
  const reason = await tool.unavailable() ??
    (tool.prepareGroup ? null : "not a continuous multi-device tool");
  if (reason !== null) {
    return { outcome: { kind: "unavailable", reason }, ...none };
  }
  const root = await Deno.makeTempDir({
    dir: scratch,
    prefix: `${tool.name}-spread-`,
  });
  let run: GroupRun | undefined;
  try {
    const folders = hosts.map((_, i) => `${root}/dev${i}`);
    for (const f of folders) await Deno.mkdir(f);
    await Deno.mkdir(`${root}/work`);
    await Deno.mkdir(`${root}/staging`);
    await writeRandomFile(`${folders[0]}/warm.bin`, WARM_SIZE, seed + 1);
    const warmManifest = await buildManifest(folders[0]!);
    await writeRandomFile(`${root}/staging/new.bin`, size, seed);
    const expected = await buildManifest(`${root}/staging`);
    run = await tool.prepareGroup!(folders, `${root}/work`, hosts);
    const r = run;
    const waitAll = (manifest: typeof expected, t0: number) =>
      Promise.all(
        folders.slice(1).map((f) =>
          waitForIdentical(f, manifest, {
            deadline: t0 + options.timeoutMs,
            stallMs: options.stallMs,
            failure: () => r.failure(),
            ...(options.signal ? { signal: options.signal } : {}),
          })
        ),
      );
    const started = performance.now();
    await run.start();
    const warm = worstOutcome(await waitAll(warmManifest, started));
    if (warm !== null) {
      return {
        outcome: warm,
        ...none,
        lastLines: run.lastLines(),
      };
    }
    const wire0 = await options.wireBytes?.();
    await Deno.rename(`${root}/staging/new.bin`, `${folders[0]}/new.bin`);
    const t0 = performance.now();
    const outcomes = await waitAll(expected, t0);
    const wire1 = await options.wireBytes?.();
    const perDevice = outcomes.map((o) =>
      o.kind === "done" ? (o.at - t0) / 1000 : null
    );
    const bad = worstOutcome(outcomes);
    const result: SpreadResult = bad === null
      ? {
        outcome: outcomes[0]!,
        seconds: Math.max(...perDevice.map((s) => s!)),
        perDevice,
      }
      : { outcome: bad, seconds: null, perDevice, lastLines: run.lastLines() };
    if (wire0 !== undefined && wire1 !== undefined) {
      result.wireBytes = wire1 - wire0;
    }
    return result;
  } catch (error) {
    return {
      outcome: {
        kind: "error",
        message: error instanceof Error ? error.message : String(error),
      },
      ...none,
    };
  } finally {
    await run?.close();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}
