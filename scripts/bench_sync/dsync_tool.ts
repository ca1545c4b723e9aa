/**
 * dsync: one `deno run -A main.ts` process per device from the repository
 * root (run through the device's wrapper, e.g. `ip netns exec NS`), each
 * pointed at every other with `-a IP:PORT`, discovery off and in open
 * mode (`--open`: two fresh folders are in no common group), with the
 * V8 flags of the `start` task in deno.json (what users run). HOME and
 * XDG_CONFIG_HOME point into the run's scratch folder so that no user config
 * is read; DENO_DIR stays the real cache so nothing is downloaded.
 * With `DSYNC_BENCH_CPU_PROF=DIR` in the environment each device writes a
 * V8 CPU profile under DIR/<device>/ when it exits (`--cpu-prof`).
 * @module
 */
import { ManagedProcess } from "./managed_process.ts";
import {
  type Endpoint,
  freePorts,
  type GroupRun,
  groupRun,
  LOOPBACK,
  pairOf,
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
  async prepare(src, dst, work, sides): Promise<SyncRun> {
    return pairOf(
      await dsync.prepareGroup!(
        [src, dst],
        work,
        sides ?? [LOOPBACK, LOOPBACK],
      ),
    );
  },
  async prepareGroup(folders, work, hosts): Promise<GroupRun> {
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
    const ports = freePorts(folders.length);
    const at = (i: number): Endpoint => hosts[i] ?? LOOPBACK;
    const name = (i: number) =>
      folders.length === 2 ? (i === 0 ? "src" : "dst") : `dev${i + 1}`;
    const profDir = Deno.env.get("DSYNC_BENCH_CPU_PROF");
    const prof = (i: number) =>
      profDir === undefined || profDir === "" ? [] : [
        "--cpu-prof",
        "--cpu-prof-interval=2000",
        `--cpu-prof-dir=${profDir}/${name(i)}`,
      ];
    return groupRun(folders.length, (i) =>
      ManagedProcess.spawn(
        `dsync ${name(i)}`,
        Deno.execPath(),
        [
          "run",
          ...v8Flags,
          ...prof(i),
          "-A",
          "main.ts",
          "-d",
          folders[i]!,
          "-p",
          String(ports[i]),
          "--no-discovery",
          "--open",
          ...folders.flatMap((_, j) =>
            j === i ? [] : ["-a", `${at(j).ip}:${ports[j]}`]
          ),
        ],
        {
          log: `${work}/dsync-${i}`,
          cwd: REPO_ROOT,
          env,
          wrapper: at(i).wrapper,
        },
      ));
  },
};
