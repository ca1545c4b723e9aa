/**
 * Two devices for the status-page browser tests: `alpha` and `beta`, each
 * in its own folder under one temp root, on loopback, each dialling the
 * other, with one isolated home. `PagePair.start` returns once alpha says
 * it is in sync with beta over the one file it started with, and knows
 * alpha's status page address; `launch` starts a headless chromium.
 * Disposing closes the browser, stops both devices and removes the root.
 * @module
 */
import puppeteer, { type Browser } from "puppeteer-core";
import {
  DsyncProcess,
  freePort,
  isolatedEnv,
  loopbackNodeArgs,
} from "./_dsync.ts";
import { CHROMIUM_ARGS } from "./_chromium.ts";

/** The file alpha starts with. */
export interface FirstFile {
  readonly path: string;
  readonly text: string;
}

export class PagePair implements AsyncDisposable {
  readonly root: string;
  readonly env: Record<string, string>;
  readonly #nodes: DsyncProcess[] = [];
  #browser: Browser | undefined;
  #alpha: DsyncProcess | undefined;
  #beta: DsyncProcess | undefined;
  #url = "";

  private constructor(root: string) {
    this.root = root;
    this.env = isolatedEnv(`${root}/home`);
  }

  /** Starts both under a new temp dir named `prefix…`, `first` in alpha's folder. */
  static async start(prefix: string, first: FirstFile): Promise<PagePair> {
    const pair = new PagePair(await Deno.makeTempDir({ prefix }));
    try {
      for (const name of ["alpha", "beta", "home"]) {
        await Deno.mkdir(`${pair.root}/${name}`);
      }
      await Deno.writeTextFile(`${pair.root}/alpha/${first.path}`, first.text);
      const [portA, portB] = [freePort(), freePort()];
      pair.#alpha = pair.#start("alpha", portA, portB);
      pair.#beta = pair.#start("beta", portB, portA);
      await pair.alpha.waitForOutput(/In sync with 1 peer, 1 file/, 30_000);
      pair.#url = (await pair.alpha.waitForOutput(
        /Status page: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64})/,
      ))[1]!;
      return pair;
    } catch (error) {
      await pair[Symbol.asyncDispose]();
      throw error;
    }
  }

  get alpha(): DsyncProcess {
    return this.#alpha!;
  }

  get beta(): DsyncProcess {
    return this.#beta!;
  }

  /** Alpha's status page, token included (as its log says it). */
  get url(): string {
    return this.#url;
  }

  /** A headless chromium at `executablePath`, closed with the pair. */
  async launch(executablePath: string): Promise<Browser> {
    this.#browser = await puppeteer.launch({
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    return this.#browser;
  }

  #start(name: string, port: number, peer: number): DsyncProcess {
    const node = new DsyncProcess(
      loopbackNodeArgs(this.root, name, port, peer),
      { env: this.env },
    );
    this.#nodes.push(node);
    return node;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#browser?.close();
    for (const node of this.#nodes) await node.stop();
    await Deno.remove(this.root, { recursive: true });
  }
}
