import { defaultConfigPath, loadConfig } from "./config_file.ts";
import { parseFlags } from "./flags.ts";
import { helpText, VERSION } from "./help.ts";
import {
  describePermissionError,
  missingPermission,
} from "./permission_error.ts";
import {
  checkFolder,
  checkStateDir,
  invocationDir,
  mergeSettings,
  type Settings,
} from "./settings.ts";
import { UsageError } from "./usage_error.ts";
import { setupLogging, teardownLogging, TtyStatus } from "../ui/mod.ts";
import {
  callInstance as callFolder,
  ControlRequestError,
  EmptiedFolderError,
  FolderInUseError,
  folderVersions,
  JoinFailedError,
  joinGroup,
  NoInstanceError,
  type OverrideReply,
  type PauseReply,
  ReadOnlyFolderError,
  restoreInFolder,
  type RestoreReply,
  type RevertReply,
  runNode,
} from "../node/mod.ts";
import {
  formatStamp,
  parseRestoreTime,
  RestoreError,
  restorePath,
} from "../versions/mod.ts";
import { renderVersionList } from "./version_list.ts";
import type { ControlCommand } from "./flags.ts";
import type { StatusDocument } from "../node/mod.ts";
import { renderStatusReport } from "./status_text.ts";
import { groupKeyPath } from "../group/mod.ts";
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
    cwd: invocationDir(initCwd(), Deno.cwd()),
  });
  await checkFolder(settings.folder);
  if (settings.stateDir !== undefined) await checkStateDir(settings.stateDir);
  const missing = missingPermission(settings);
  if (missing !== null) throw new UsageError(missing);
  return settings;
}

/**
 * `INIT_CWD` when dsync may read it (`deno task start` allows it). Never
 * asks: `deno run` on a terminal would prompt for a variable that a plain
 * run does not need.
 */
function initCwd(): string | undefined {
  const descriptor = { name: "env", variable: "INIT_CWD" } as const;
  if (Deno.permissions.querySync(descriptor).state !== "granted") {
    return undefined;
  }
  return Deno.env.get("INIT_CWD");
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

  if (settings.command !== undefined) {
    try {
      return await runCommand(
        settings.folder,
        settings.stateDir ?? settings.folder,
        settings.command,
      );
    } catch (error) {
      return reportError(error, settings.verbose);
    }
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
    const join = settings.joinFromConfig === true &&
        await exists(groupKeyPath(settings.stateDir ?? settings.folder))
      ? undefined
      : settings.join;
    const joined = join === undefined ? undefined : await joinGroup({
      code: join,
      peers: settings.peers,
      discovery: settings.discovery,
      name: settings.name,
      signal: stop.signal,
    });
    if (stop.signal.aborted) return EXIT_OK;
    await runNode(
      { ...settings, ...(joined === undefined ? {} : { joined }) },
      stop.signal,
      tty ? { tty } : {},
    );
    return EXIT_OK;
  } catch (error) {
    return reportError(error, settings.verbose);
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    await teardownLogging();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Runs a control command against the instance running for `folder`. */
async function runCommand(
  folder: string,
  stateRoot: string,
  command: ControlCommand,
): Promise<number> {
  const callInstance = (
    method: "GET" | "POST",
    path: string,
    body?: unknown,
  ) => callFolder(folder, method, path, body, stateRoot);
  switch (command.name) {
    case "invite": {
      const reply = await callInstance("POST", "/api/invite") as {
        code: string;
      };
      console.log(reply.code);
      return EXIT_OK;
    }
    case "members": {
      const reply = await callInstance("GET", "/api/members") as {
        group: string;
        self: { name: string; fingerprint: string };
        members: {
          name: string;
          fingerprint: string;
          lastSeen: number;
          connected: boolean;
          removedAt?: number;
        }[];
      };
      console.log(`group ${reply.group}`);
      console.log(
        `${reply.self.fingerprint}  ${reply.self.name} (this device)`,
      );
      for (const m of reply.members) {
        const state = m.removedAt !== undefined
          ? `removed ${new Date(m.removedAt).toISOString()}`
          : m.connected
          ? "connected"
          : `last seen ${new Date(m.lastSeen).toISOString()}`;
        console.log(`${m.fingerprint}  ${m.name || "(no name)"}  ${state}`);
      }
      return EXIT_OK;
    }
    case "remove": {
      const reply = await callInstance("POST", "/api/remove", {
        fingerprint: command.fingerprint,
      }) as { removed: string; name: string; notified: number };
      console.log(
        `Removed ${
          reply.name || "the device"
        } (${reply.removed}); ${reply.notified} connected members got the new group key, others need a new join code`,
      );
      return EXIT_OK;
    }
    case "versions": {
      const path = command.path === undefined
        ? undefined
        : restorePathOrUsage(command.path);
      const list = await folderVersions(folder, stateRoot).list(path);
      if (list.length === 0) {
        console.log(
          path === undefined
            ? "No versions are kept"
            : `No versions of ${path} are kept`,
        );
        return EXIT_OK;
      }
      for (const line of renderVersionList(list)) console.log(line);
      return EXIT_OK;
    }
    case "restore": {
      let at: number | undefined;
      if (command.at !== undefined) {
        at = parseRestoreTime(command.at);
        if (at === undefined) {
          throw new UsageError(
            `Invalid time "${command.at}": give it as dsync versions prints it (20261207-031500) or as 2026-12-07T03:15:00Z`,
          );
        }
      }
      const path = restorePathOrUsage(command.path);
      let reply: RestoreReply;
      try {
        reply = await callInstance("POST", "/api/restore", {
          path,
          ...(at === undefined ? {} : { at }),
        }) as RestoreReply;
      } catch (error) {
        if (!(error instanceof NoInstanceError)) throw error;
        try {
          reply = await restoreInFolder(folder, path, at, stateRoot);
        } catch (inner) {
          if (inner instanceof RestoreError) {
            throw new UsageError(inner.message);
          }
          throw inner;
        }
      }
      console.log(
        `Restored ${reply.path} from ${formatStamp(reply.at)}${
          reply.kept === undefined
            ? ""
            : `; the file that was there is kept in versions as ${reply.kept}`
        }`,
      );
      return EXIT_OK;
    }
    case "override": {
      const reply = await callInstance(
        "POST",
        "/api/override",
      ) as OverrideReply;
      console.log(
        `This folder's state of ${reply.paths} files now wins; the peers apply it (their replaced files go to their versions)`,
      );
      return EXIT_OK;
    }
    case "revert": {
      const reply = await callInstance("POST", "/api/revert") as RevertReply;
      console.log(
        `Reverted ${reply.reverted} local changes (files kept in versions); the group's versions are pulled${
          reply.skipped > 0 ? `; ${reply.skipped} left as they are` : ""
        }`,
      );
      return EXIT_OK;
    }
    case "pause":
    case "resume": {
      const reply = await callInstance(
        "POST",
        `/api/${command.name}`,
        command.name === "resume" && command.acceptDeletes
          ? { acceptDeletes: true }
          : undefined,
      ) as PauseReply;
      if ((reply.accepted ?? 0) > 0) {
        console.log(
          `Applying ${reply.accepted} held deletes (the deleted files go to versions)`,
        );
      }
      if ((reply.accepted ?? 0) > 0 && reply.already) return EXIT_OK;
      console.log(
        reply.paused
          ? `${
            reply.already ? "Already paused" : "Paused"
          }: nothing is sent or received until dsync resume -d ${folder}`
          : reply.already
          ? "Not paused; nothing to resume"
          : "Resumed",
      );
      return EXIT_OK;
    }
    case "status": {
      const doc = await callInstance("GET", "/api/status") as StatusDocument;
      if (command.json) {
        console.log(JSON.stringify(doc, null, 2));
      } else {
        for (const line of renderStatusReport(doc, Date.now())) {
          console.log(line);
        }
      }
      return EXIT_OK;
    }
  }
}

function restorePathOrUsage(path: string): string {
  try {
    return restorePath(path);
  } catch (error) {
    if (error instanceof RestoreError) throw new UsageError(error.message);
    throw error;
  }
}

function reportError(error: unknown, verbose: boolean): number {
  if (
    error instanceof UsageError || error instanceof FolderInUseError ||
    error instanceof ReadOnlyFolderError ||
    error instanceof EmptiedFolderError ||
    error instanceof PortUnavailableError || error instanceof JoinFailedError ||
    error instanceof NoInstanceError ||
    (error instanceof ControlRequestError && error.status < 500)
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
