/**
 * Two honest devices for the hostile-peer tests: `l` and `v`, each in its
 * own folder under one temp root, on loopback, each dialling the other,
 * without discovery. `HonestPair.start` returns once a file written on `l`
 * has reached `v`; disposing kills both (and any started again) and
 * removes the root.
 * @module
 */
import {
  DsyncProcess,
  freePort,
  isolatedEnv,
  loopbackNodeArgs,
} from "./_dsync.ts";
import { waitFor } from "../_wait.ts";

/** One of the pair. */
export type HonestName = "l" | "v";

/** A file on `l` that must reach `v` before the attack starts. */
export interface FirstFile {
  readonly path: string;
  readonly text: string;
}

export class HonestPair implements AsyncDisposable {
  readonly root: string;
  readonly env: Record<string, string>;
  readonly ports: Readonly<Record<HonestName, number>>;
  /** Every process started, in order (a restart adds one). */
  readonly nodes: DsyncProcess[] = [];
  readonly #latest = new Map<HonestName, DsyncProcess>();

  private constructor(root: string) {
    this.root = root;
    this.env = isolatedEnv(`${root}/home`);
    this.ports = { l: freePort(), v: freePort() };
  }

  /** Starts both under a new temp dir named `prefix…`; `first` is on `v` when it returns. */
  static async start(prefix: string, first: FirstFile): Promise<HonestPair> {
    const pair = new HonestPair(await Deno.makeTempDir({ prefix }));
    try {
      for (const d of ["l", "v", "home"]) {
        await Deno.mkdir(`${pair.root}/${d}`);
      }
      await Deno.writeTextFile(`${pair.root}/l/${first.path}`, first.text);
      pair.start("l");
      pair.start("v");
      await waitFor(
        async () =>
          await Deno.readTextFile(`${pair.root}/v/${first.path}`).catch(() =>
            ""
          ) === first.text,
        `${first.path} to reach v`,
        30_000,
      );
      return pair;
    } catch (error) {
      await pair[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** The process of `name` started last. */
  proc(name: HonestName): DsyncProcess {
    return this.#latest.get(name)!;
  }

  /** The folder of `name`. */
  dir(name: HonestName): string {
    return `${this.root}/${name}`;
  }

  /** Starts (or starts again) `name`, dialling the other one. */
  start(name: HonestName): DsyncProcess {
    const other = name === "l" ? "v" : "l";
    const node = new DsyncProcess(
      loopbackNodeArgs(
        this.root,
        name,
        this.ports[name],
        this.ports[other],
        [],
      ),
      { env: this.env },
    );
    this.nodes.push(node);
    this.#latest.set(name, node);
    return node;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.stop("SIGKILL")));
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}
