/**
 * Runs real dsync processes for end-to-end tests and watches their output.
 * @module
 */
import { waitFor } from "../_wait.ts";
import { GroupSecret } from "../../src/group/mod.ts";
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/**
 * The group every test node belongs to unless a test says otherwise: its
 * secret is written into a folder's `.dsync/group.key` before the first
 * start, as if the device had joined with a code. Tests of groups
 * themselves pass `group: false` (the node makes its own) or their own.
 */
export const TEST_GROUP: GroupSecret = GroupSecret.generate();

/** Where `-d DIR` points in `args`, if anywhere. */
function folderOf(args: readonly string[]): string | undefined {
  const at = args.findIndex((a) => a === "-d" || a === "--path");
  return at < 0 ? undefined : args[at + 1];
}

/**
 * Writes `group` into the folder of `args` unless it has a group already,
 * or the arguments choose one themselves (`--open`, `--join`).
 */
export function seedGroup(
  args: readonly string[],
  group: GroupSecret | false,
): void {
  const folder = folderOf(args);
  if (
    group === false || folder === undefined || args.includes("--open") ||
    args.includes("--join")
  ) return;
  const file = `${folder}/.dsync/group.key`;
  try {
    Deno.lstatSync(file);
    return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) return;
  }
  try {
    try {
      Deno.mkdirSync(`${folder}/.dsync`); // never the folder itself
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    Deno.writeFileSync(file, group.exportBytes(), { mode: 0o600 });
    Deno.chmodSync(file, 0o600);
  } catch {
    // No such folder (a test of that error): nothing to seed.
  }
}

/** The permissions of `deno task start`, for processes started by tests. */
export const RUN_PERMISSIONS = [
  "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=30",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env=HOME,XDG_CONFIG_HOME,APPDATA,USERPROFILE,INIT_CWD",
  "--allow-sys=hostname,networkInterfaces,statfs",
];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Deno's module cache of this process, so children find the same packages. */
function denoDir(): string {
  const explicit = Deno.env.get("DENO_DIR");
  if (explicit) return explicit;
  const cacheHome = Deno.env.get("XDG_CACHE_HOME") ??
    `${Deno.env.get("HOME")}/.cache`;
  return Deno.build.os === "darwin"
    ? `${Deno.env.get("HOME")}/Library/Caches/deno`
    : `${cacheHome}/deno`;
}

/**
 * Env for test processes: a private HOME so that no user config file is
 * picked up by accident, with the module cache of this process.
 */
export function isolatedEnv(configHome: string): Record<string, string> {
  return {
    XDG_CONFIG_HOME: configHome,
    HOME: configHome,
    DENO_DIR: denoDir(),
    NO_COLOR: "1",
  };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Runs dsync to completion (for commands that exit by themselves). */
export async function runDsync(
  args: string[],
  options: {
    permissions?: string[];
    env?: Record<string, string>;
    /** Kills the run after this long. */
    timeoutMs?: number;
    /** The folder's group (default {@linkcode TEST_GROUP}; false: none seeded). */
    group?: GroupSecret | false;
    /** A command that runs deno, e.g. `["ip", "netns", "exec", NS]`. */
    wrapper?: string[];
  } = {},
): Promise<RunResult> {
  seedGroup(args, options.group ?? TEST_GROUP);
  const command = [
    ...(options.wrapper ?? []),
    Deno.execPath(),
    "run",
    ...(options.permissions ?? RUN_PERMISSIONS),
    MAIN,
    ...args,
  ];
  const output = await new Deno.Command(command[0]!, {
    args: command.slice(1),
    env: options.env ?? {},
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.timeoutMs === undefined
      ? {}
      : { signal: AbortSignal.timeout(options.timeoutMs) }),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Arguments of a node named `name` on `root/name`, listening on `port` of
 * loopback and dialing `peerPort` there, without mDNS; `extra` follows
 * (by default its status page on any free port).
 */
export function loopbackNodeArgs(
  root: string,
  name: string,
  port: number,
  peerPort: number,
  extra: readonly string[] = ["--gui", "127.0.0.1:0"],
): string[] {
  return [
    "-d",
    `${root}/${name}`,
    "-n",
    name,
    "-p",
    String(port),
    "--no-discovery",
    "-a",
    `127.0.0.1:${peerPort}`,
    ...extra,
  ];
}

/** A dsync process running in the background. */
export class DsyncProcess {
  #child: Deno.ChildProcess;
  #output = "";
  #done: Promise<Deno.CommandStatus>;
  #pumps: Promise<void>[];

  constructor(
    args: string[],
    options: {
      permissions?: string[];
      env?: Record<string, string>;
      /** A command that runs deno, e.g. `["ip", "netns", "exec", NS]`. */
      wrapper?: string[];
      /** The folder's group (default {@linkcode TEST_GROUP}; false: none seeded). */
      group?: GroupSecret | false;
    } = {},
  ) {
    seedGroup(args, options.group ?? TEST_GROUP);
    const deno = [
      Deno.execPath(),
      "run",
      ...(options.permissions ?? RUN_PERMISSIONS),
      MAIN,
      ...args,
    ];
    const command = [...(options.wrapper ?? []), ...deno];
    this.#child = new Deno.Command(command[0]!, {
      args: command.slice(1),
      env: options.env ?? {},
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = [
      this.#pump(this.#child.stdout),
      this.#pump(this.#child.stderr),
    ];
    this.#done = this.#child.status;
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.#output += decoder.decode(chunk, { stream: true });
    }
  }

  /** Everything printed so far on stdout and stderr, interleaved. */
  get output(): string {
    return this.#output;
  }

  /** Waits until the output matches `pattern`; throws with the output on timeout. */
  async waitForOutput(
    pattern: RegExp,
    timeoutMs = 20_000,
  ): Promise<RegExpMatchArray> {
    let exited = false;
    this.#done.then(() => exited = true);
    await waitFor(
      () => exited || this.#output.match(pattern) !== null,
      () =>
        `${pattern} (process ${
          exited ? "exited" : "running"
        }); output:\n${this.#output}`,
      timeoutMs,
      25,
    );
    const match = this.#output.match(pattern);
    if (match) return match;
    throw new Error(
      `Timed out waiting for ${pattern} (process ${
        exited ? "exited" : "running"
      }); output:\n${this.#output}`,
    );
  }

  /** Sends a signal without waiting. */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /** Sends a signal and waits for the exit status. */
  stop(
    signal: Deno.Signal = "SIGTERM",
    timeoutMs = 15_000,
  ): Promise<number> {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
    return this.exitCode(timeoutMs);
  }

  /** Waits for the process to exit by itself (SIGKILL after `timeoutMs`). */
  async exitCode(timeoutMs = 15_000): Promise<number> {
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, timeoutMs);
    try {
      const status = await this.#done;
      await Promise.all(this.#pumps);
      return status.code;
    } finally {
      clearTimeout(timer);
    }
  }
}
