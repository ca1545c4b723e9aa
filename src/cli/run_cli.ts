import { defaultConfigPath, loadConfig } from "./config_file.ts";
import { parseFlags } from "./flags.ts";
import { helpText, VERSION } from "./help.ts";
import {
  describePermissionError,
  missingPermission,
} from "./permission_error.ts";
import { checkFolder, mergeSettings, type Settings } from "./settings.ts";
import { UsageError } from "./usage_error.ts";
import { setupLogging, teardownLogging, TtyStatus } from "../ui/mod.ts";
import { FolderInUseError, runNode } from "../node/mod.ts";
import { PortUnavailableError } from "../net/mod.ts";

/** Exit codes: 0 clean exit, 1 runtime failure, 2 usage or permission error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A repeated stop signal this long after the first forces the exit. */
const FORCE_EXIT_AFTER_MS = 1000;

const encoder = new TextEncoder();
function printErr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(`dsync: ${line}\n`));
}

/** Reads flags, config and defaults; checks the folder. */
async function resolveSettings(argv: readonly string[]): Promise<
  Settings | "help" | "version"
> {
  const flags = parseFlags(argv);
  if (flags.help) return "help";
  if (flags.version) return "version";
  const configFile = flags.config ??
    defaultConfigPath((name) => Deno.env.get(name), Deno.build.os);
  const config = configFile
    ? await loadConfig(configFile, flags.config !== undefined)
    : {};
  const settings = mergeSettings(flags, config, {
    hostname: hostName(),
    cwd: Deno.cwd(),
  });
  await checkFolder(settings.folder);
  const missing = missingPermission(settings);
  if (missing !== null) throw new UsageError(missing);
  return settings;
}

function hostName(): string | null {
  try {
    const name = Deno.hostname().split(".")[0] ?? "";
    return name === "" ? null : name;
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    return null;
  }
}

/**
 * Runs dsync with the given arguments until it is told to stop, and returns
 * the process exit code. Never throws.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  let settings: Settings | "help" | "version";
  try {
    settings = await resolveSettings(argv);
  } catch (error) {
    return reportError(error, false);
  }
  if (settings === "help") {
    let configPath: string | null = null;
    try {
      configPath = defaultConfigPath((n) => Deno.env.get(n), Deno.build.os);
    } catch { /* no env permission: the help text says "none" */ }
    console.log(helpText(configPath));
    return EXIT_OK;
  }
  if (settings === "version") {
    console.log(`dsync ${VERSION}`);
    return EXIT_OK;
  }

  // On a terminal, log lines go above a live status block.
  const tty = Deno.stderr.isTerminal() ? new TtyStatus() : undefined;
  await setupLogging({
    verbose: settings.verbose,
    ...(tty && { output: tty }),
  });
  const stop = new AbortController();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  // Under `deno task` or npx, one Ctrl-C reaches dsync twice (from the
  // terminal and forwarded by the parent), so only a second signal that
  // comes a while after the first forces an immediate exit.
  let firstSignalAt = 0;
  const onSignal = () => {
    if (!stop.signal.aborted) {
      firstSignalAt = Date.now();
      stop.abort();
    } else if (Date.now() - firstSignalAt >= FORCE_EXIT_AFTER_MS) {
      printErr("stopping now");
      Deno.exit(130);
    }
  };
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  try {
    await runNode(settings, stop.signal, tty ? { tty } : {});
    return EXIT_OK;
  } catch (error) {
    return reportError(error, settings.verbose);
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    await teardownLogging();
  }
}

function reportError(error: unknown, verbose: boolean): number {
  if (
    error instanceof UsageError || error instanceof FolderInUseError ||
    error instanceof PortUnavailableError
  ) {
    printErr(error.message);
    return EXIT_USAGE;
  }
  const permission = describePermissionError(error);
  if (permission !== null) {
    printErr(permission);
    return EXIT_USAGE;
  }
  const message = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  printErr(`error: ${message.split("\n")[0]}`);
  if (verbose && error instanceof Error && error.stack) {
    Deno.stderr.writeSync(encoder.encode(error.stack + "\n"));
  }
  return EXIT_FAILURE;
}
