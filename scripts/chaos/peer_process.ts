/**
 * One dsync peer of a chaos run across restarts: starts `main.ts` (through
 * a namespace wrapper when given), keeps every generation's output for the
 * crash check and the failure report, and tells a SIGKILL the run sent
 * from a death it did not cause.
 * @module
 */
import {
  RUN_PERMISSIONS,
  seedGroup,
  TEST_GROUP,
} from "../../tests/e2e/_dsync.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

interface Generation {
  readonly child: Deno.ChildProcess;
  output: string;
  status: Deno.CommandStatus | undefined;
  killedByRun: boolean;
  readonly done: Promise<void>;
}

/** A dsync process that may be killed and started again. */
export class PeerProcess {
  readonly name: string;
  readonly #args: string[];
  readonly #env: Record<string, string>;
  readonly #wrapper: string[];
  readonly #generations: Generation[] = [];

  constructor(
    name: string,
    args: string[],
    env: Record<string, string>,
    wrapper: string[] = [],
  ) {
    this.name = name;
    this.#args = args;
    this.#env = env;
    this.#wrapper = wrapper;
  }

  /** Starts a new generation; throws if one is running. */
  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    // Every peer of the process is in one group, as if it had joined with a code.
    seedGroup(this.#args, TEST_GROUP);
    const child = this.#dsync(this.#args).spawn();
    const gen: Generation = {
      child,
      output: "",
      status: undefined,
      killedByRun: false,
      done: Promise.resolve(),
    };
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        gen.output += decoder.decode(chunk, { stream: true });
      }
    };
    const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
    (gen as { done: Promise<void> }).done = child.status.then(async (s) => {
      gen.status = s;
      await pumps;
    });
    this.#generations.push(gen);
  }

  get #current(): Generation | undefined {
    return this.#generations.at(-1);
  }

  /** Whether the latest generation is still running. */
  get running(): boolean {
    const gen = this.#current;
    return gen !== undefined && gen.status === undefined;
  }

  /** How many times it was started. */
  get starts(): number {
    return this.#generations.length;
  }

  /** Sends `signal` to the running generation (nothing when none runs). */
  signal(signal: Deno.Signal): void {
    const gen = this.#current;
    if (gen === undefined || gen.status !== undefined) return;
    try {
      gen.child.kill(signal);
    } catch { /* exited meanwhile */ }
  }

  /** SIGKILLs the running generation on purpose and waits until it is gone. */
  async kill(): Promise<void> {
    const gen = this.#current;
    if (gen === undefined || gen.status !== undefined) return;
    gen.killedByRun = true;
    this.signal("SIGKILL");
    await gen.done;
  }

  /** Stops the running generation: SIGCONT, SIGTERM, then SIGKILL after `graceMs`. Returns its exit code. */
  async stop(graceMs = 10_000): Promise<number | undefined> {
    const gen = this.#current;
    if (gen === undefined) return undefined;
    if (gen.status === undefined) {
      gen.killedByRun = true;
      this.signal("SIGCONT");
      this.signal("SIGTERM");
      const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
      await gen.done;
      clearTimeout(timer);
    }
    return gen.status?.code;
  }

  /** Waits until the running generation printed a line matching `pattern`. */
  async waitForOutput(
    pattern: RegExp,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (signal?.aborted) throw new Error("Interrupted");
      const gen = this.#current;
      if (gen !== undefined && pattern.test(gen.output)) return;
      if (gen === undefined || gen.status !== undefined) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${
        this.tail(40)
      }`,
    );
  }

  /** `main.ts` with `args`, where this peer runs (its namespace and environment). */
  #dsync(args: string[], signal?: AbortSignal): Deno.Command {
    const command = [
      ...this.#wrapper,
      Deno.execPath(),
      "run",
      ...RUN_PERMISSIONS,
      MAIN,
      ...args,
    ];
    return new Deno.Command(command[0]!, {
      args: command.slice(1),
      env: this.#env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...(signal === undefined ? {} : { signal }),
    });
  }

  /** Output of the latest generation only ("" before the first start). */
  get currentOutput(): string {
    return this.#current?.output ?? "";
  }

  /**
   * Runs a dsync command (e.g. `resume -d DIR --accept-deletes`) where this
   * peer runs (its namespace and environment); gives up after `timeoutMs`.
   */
  async command(
    args: string[],
    timeoutMs: number,
  ): Promise<{ success: boolean; output: string }> {
    const out = await this.#dsync(args, AbortSignal.timeout(timeoutMs))
      .output();
    const decoder = new TextDecoder();
    return {
      success: out.success,
      output: (decoder.decode(out.stdout) + decoder.decode(out.stderr)).trim(),
    };
  }

  /** All output of every generation, with a line between generations. */
  get output(): string {
    return this.#generations.map((g, i) =>
      `--- ${this.name} start ${i + 1} ---\n${g.output}`
    ).join("\n");
  }

  /** The last `lines` lines of output. */
  tail(lines: number): string {
    return this.output.split("\n").slice(-lines).join("\n");
  }

  /** Generations that ended without the run ending them, as text. */
  unexpectedExits(): string[] {
    return this.#generations.flatMap((g, i) =>
      g.status !== undefined && !g.killedByRun
        ? [
          `${this.name} start ${i + 1} exited by itself (code ${g.status.code}${
            g.status.signal === null ? "" : `, signal ${g.status.signal}`
          })`,
        ]
        : []
    );
  }
}
