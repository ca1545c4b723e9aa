/**
 * A child process the benchmark started: output goes to log files (for the
 * reason shown when it fails), and `stop()` ends it and every process it
 * started, by pid, first gently, then with SIGKILL.
 * @module
 */
import { processTree } from "./proc.ts";

/** Options for {@linkcode ManagedProcess.spawn}. */
export interface SpawnOptions {
  /** Log file prefix: writes `<log>.out` and `<log>.err`. */
  log: string;
  cwd?: string;
  env?: Record<string, string>;
  /** A prefix that runs the command elsewhere, e.g. `["ip", "netns", "exec", NS]`. */
  wrapper?: readonly string[];
}

const STOP_GRACE_MS = 5000;

async function drain(
  stream: ReadableStream<Uint8Array>,
  path: string,
): Promise<void> {
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  for await (const chunk of stream) {
    for (let off = 0; off < chunk.length;) {
      off += await file.write(chunk.subarray(off));
    }
  }
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function signal(pids: readonly number[], sig: Deno.Signal): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, sig);
    } catch { /* already gone */ }
  }
}

/** A started child process. */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  #child: Deno.ChildProcess;
  #log: string;
  #status: Deno.CommandStatus | null = null;
  #done: Promise<void>;

  private constructor(name: string, child: Deno.ChildProcess, log: string) {
    this.name = name;
    this.#child = child;
    this.pid = child.pid;
    this.#log = log;
    const logs = Promise.all([
      drain(child.stdout, `${log}.out`),
      drain(child.stderr, `${log}.err`),
    ]);
    this.#done = Promise.all([
      child.status.then((s) => {
        this.#status = s;
      }),
      logs,
    ]).then(() => {});
  }

  /** Starts `command` with `args`; throws `Deno.errors.NotFound` if it is not installed. */
  static spawn(
    name: string,
    command: string,
    args: string[],
    options: SpawnOptions,
  ): ManagedProcess {
    const argv = [...(options.wrapper ?? []), command, ...args];
    const child = new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
    }).spawn();
    return new ManagedProcess(name, child, options.log);
  }

  /** The exit status once it has exited, else null. */
  get status(): Deno.CommandStatus | null {
    return this.#status;
  }

  /** Resolves when it has exited and its output is written. */
  get finished(): Promise<void> {
    return this.#done;
  }

  /** "exited with code 2: <last line of stderr or stdout>". */
  describeExit(): string {
    const s = this.#status;
    const how = s === null
      ? "is running"
      : s.signal !== null
      ? `was killed by ${s.signal}`
      : `exited with code ${s.code}`;
    const line = this.lastLine();
    return line === "" ? `${this.name} ${how}` : `${this.name} ${how}: ${line}`;
  }

  /** The last non-empty line it wrote (stderr first), cut to 160 chars. */
  lastLine(): string {
    for (const suffix of [".err", ".out"]) {
      try {
        const lines = Deno.readTextFileSync(`${this.#log}${suffix}`)
          .split("\n").map((l) => l.trim()).filter((l) => l !== "");
        const last = lines.at(-1);
        if (last !== undefined) return last.slice(0, 160);
      } catch { /* no log yet */ }
    }
    return "";
  }

  /**
   * Ends the process and its descendants: SIGTERM, then SIGKILL to whatever
   * is left after a grace period. Resolves once it has exited.
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.#status === null) {
      const tree = processTree([this.pid]);
      signal(tree, "SIGTERM");
      const deadline = performance.now() + graceMs;
      while (
        tree.some(alive) && performance.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      signal(tree.filter(alive), "SIGKILL");
    }
    await this.#done;
  }
}
