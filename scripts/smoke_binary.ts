/**
 * Smoke test of a dsync binary on the machine it runs on: `--version` prints
 * the version of deno.json, then two instances on loopback (no discovery),
 * the second joining the first's group with the code it printed, sync a
 * small folder (a text file, compressed on the wire, and a random
 * one, hashed on the worker pool), then a file written while both run
 * (seen by the watcher thread). Exits 0 when all pass.
 *
 *   deno run -A scripts/smoke_binary.ts dist/dsync-0.1.0-x86_64-unknown-linux-gnu
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

const TIMEOUT_MS = 60_000;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  } catch {
    return false;
  }
}

/** Polls `check` every 100 ms until it holds; false after the timeout. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function all(checks: Promise<boolean>[]): Promise<boolean> {
  return (await Promise.all(checks)).every(Boolean);
}

/** Runs `binary` with `args` to completion and returns its stdout. */
async function runToEnd(binary: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(binary, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    throw new Error(
      `${binary} ${args.join(" ")} exited ${out.code}: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return text;
}

/** A running instance whose output is kept for the report. */
class Instance {
  readonly child: Deno.ChildProcess;
  output = "";
  readonly #pumps: Promise<void>[];

  constructor(binary: string, args: string[], env: Record<string, string>) {
    this.child = new Deno.Command(binary, {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = [this.child.stdout, this.child.stderr].map(async (s) => {
      const decoder = new TextDecoder();
      for await (const chunk of s) {
        this.output += decoder.decode(chunk, { stream: true });
      }
    });
  }

  async stop(): Promise<void> {
    try {
      this.child.kill(Deno.build.os === "windows" ? "SIGKILL" : "SIGTERM");
    } catch { /* already gone */ }
    await this.child.status;
    await Promise.all(this.#pumps);
  }
}

/** Runs the smoke test against `binary`; throws with the logs on failure. */
export async function smokeTest(binary: string): Promise<void> {
  const version = (await runToEnd(binary, ["--version"])).trim();
  if (version !== `dsync ${denoJson.version}`) {
    throw new Error(
      `${binary} --version printed "${version}", expected "dsync ${denoJson.version}"`,
    );
  }
  console.log(`smoke: ${version}`);

  const root = await Deno.makeTempDir({ prefix: "dsync_smoke_" });
  const sep = Deno.build.os === "windows" ? "\\" : "/";
  const home = `${root}${sep}home`;
  // A private config location on every OS, so no user config is read.
  const env = {
    HOME: home,
    USERPROFILE: home,
    XDG_CONFIG_HOME: home,
    APPDATA: home,
    NO_COLOR: "1",
  };
  const dirs = [`${root}${sep}a`, `${root}${sep}b`];
  const ports = [freePort(), freePort()];
  const instances: Instance[] = [];
  try {
    await Deno.mkdir(home);
    for (const dir of dirs) await Deno.mkdir(dir);
    const files = ["notes.txt", "blob.bin"];
    await Deno.writeTextFile(
      `${dirs[0]}${sep}notes.txt`,
      "dsync smoke test\n".repeat(20_000),
    );
    const blob = new Uint8Array(1 << 20);
    for (let off = 0; off < blob.length; off += 65536) {
      crypto.getRandomValues(blob.subarray(off, off + 65536));
    }
    await Deno.writeFile(`${dirs[0]}${sep}blob.bin`, blob);
    // As a user would: the first instance makes the folder's group and
    // prints a join code; the second joins with it.
    const start = (i: 0 | 1, extra: string[]) =>
      instances.push(
        new Instance(binary, [
          "-d",
          dirs[i]!,
          "-p",
          String(ports[i]),
          "--no-discovery",
          "-a",
          `127.0.0.1:${ports[1 - i]}`,
          ...extra,
        ], env),
      );
    start(0, []);
    let code: string | undefined;
    await eventually(() => {
      code = instances[0]!.output.match(
        /--join ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})/,
      )?.[1];
      return Promise.resolve(code !== undefined);
    });
    if (code === undefined) {
      throw new Error(
        `The first instance printed no join code:\n${instances[0]!.output}`,
      );
    }
    start(1, ["--join", code]);
    const same = (name: string) =>
      sameBytes(`${dirs[0]}${sep}${name}`, `${dirs[1]}${sep}${name}`);
    const logs = () =>
      instances.map((p, i) => `--- instance ${i} ---\n${p.output}`).join(
        "\n",
      );
    if (!(await eventually(async () => (await all(files.map(same)))))) {
      throw new Error(
        `The two instances did not sync within ${TIMEOUT_MS} ms:\n${logs()}`,
      );
    }
    // A change after the start goes through the watcher (a worker thread,
    // which the binary must embed).
    await Deno.writeTextFile(`${dirs[1]}${sep}later.txt`, "written later\n");
    if (!(await eventually(() => same("later.txt")))) {
      throw new Error(
        `A file written while both ran did not sync within ${TIMEOUT_MS} ms:\n${logs()}`,
      );
    }
    for (const instance of instances) {
      if (/Uncaught|NotCapable|unreadable/.test(instance.output)) {
        throw new Error(`Unexpected output:\n${instance.output}`);
      }
    }
    console.log(
      "smoke: two instances synced over loopback, before and after a change",
    );
  } finally {
    await Promise.all(instances.map((p) => p.stop()));
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const binary = Deno.args[0];
  if (binary === undefined || Deno.args.length !== 1) {
    console.error("usage: deno run -A scripts/smoke_binary.ts BINARY");
    Deno.exit(2);
  }
  try {
    await smokeTest(binary);
  } catch (err) {
    console.error(`smoke: FAILED: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
