/**
 * dsync: two `deno run -A main.ts` processes from the repository root, each
 * pointed at the other with `-a 127.0.0.1:PORT` and discovery off. HOME and
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

const REPO_ROOT = new URL("../../", import.meta.url).pathname;

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
    const ports = freePorts(2);
    const folders = [src, dst];
    return pairRun((i) =>
      ManagedProcess.spawn(
        `dsync ${i === 0 ? "src" : "dst"}`,
        Deno.execPath(),
        [
          "run",
          "-A",
          "main.ts",
          "-d",
          folders[i]!,
          "-p",
          String(ports[i]),
          "--no-discovery",
          "-a",
          `127.0.0.1:${ports[1 - i]}`,
        ],
        { log: `${work}/dsync-${i}`, cwd: REPO_ROOT, env },
      )
    );
  },
};
