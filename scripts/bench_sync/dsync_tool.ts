/**
 * dsync: two `deno run -A main.ts` processes from the repository root, each
 * pointed at the other with `-a 127.0.0.1:PORT`, discovery off and in open
 * mode (`--open`: two fresh folders are in no common group), with the
 * V8 flags of the `start` task in deno.json (what users run). HOME and
 * XDG_CONFIG_HOME point into the run's scratch folder so that no user config
 * is read; DENO_DIR stays the real cache so nothing is downloaded.
 * @module
 */
import { ManagedProcess } from "./managed_process.ts";
import {
  freePorts,
  pairRun,
  type SyncRun,
  type SyncTool,
} from "./sync_tool.ts";

const REPO_ROOT = new URL("../..", import.meta.url).pathname;

/** The `--v8-flags=…` arguments of the `start` task. */
export function startTaskV8Flags(denoJson: string): string[] {
  const tasks = (JSON.parse(denoJson) as { tasks?: Record<string, string> })
    .tasks;
  const start = tasks?.start;
  if (start === undefined) throw new Error("deno.json has no start task");
  return start.split(/\s+/).filter((arg) => arg.startsWith("--v8-flags="));
}

function denoDir(): string {
  return Deno.env.get("DENO_DIR") ??
    `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`;
}

export const dsync: SyncTool = {
  name: "dsync",
  continuous: true,
  unavailable: async () => {
    try {
      await Deno.stat(`${REPO_ROOT}/main.ts`);
      return null;
    } catch {
      return `no main.ts in ${REPO_ROOT}`;
    }
  },
  async prepare(src, dst, work): Promise<SyncRun> {
    const home = `${work}/home`;
    await Deno.mkdir(`${home}/.config`, { recursive: true });
    const env = {
      HOME: home,
      XDG_CONFIG_HOME: `${home}/.config`,
      DENO_DIR: denoDir(),
    };
    const v8Flags = startTaskV8Flags(
      await Deno.readTextFile(`${REPO_ROOT}/deno.json`),
    );
    const ports = freePorts(2);
    const folders = [src, dst];
    return pairRun((i) =>
      ManagedProcess.spawn(
        `dsync ${i === 0 ? "src" : "dst"}`,
        Deno.execPath(),
        [
          "run",
          ...v8Flags,
          "-A",
          "main.ts",
          "-d",
          folders[i]!,
          "-p",
          String(ports[i]),
          "--no-discovery",
          "--open",
          "-a",
          `127.0.0.1:${ports[1 - i]}`,
        ],
        { log: `${work}/dsync-${i}`, cwd: REPO_ROOT, env },
      )
    );
  },
};
