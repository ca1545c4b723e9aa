/**
 * Syncthing (Debian's package): one instance per device, each with its own
 * `--home` in the run's scratch folder, keys made by `syncthing generate`,
 * sharing one folder over fixed `tcp://IP:PORT` addresses (loopback, or the
 * device's namespace address, run through its wrapper), with everything
 * that would reach further turned off (see syncthing_config.ts).
 * The clock starts when both are spawned, so it includes their start-up and
 * initial scan, as for dsync.
 * @module
 */
import { ManagedProcess } from "./managed_process.ts";
import { deviceIdOf, syncthingConfig } from "./syncthing_config.ts";
import {
  commandMissing,
  type Endpoint,
  freePorts,
  type GroupRun,
  groupRun,
  LOOPBACK,
  pairOf,
  type SyncRun,
  type SyncTool,
} from "./sync_tool.ts";

const FOLDER_ID = "bench";
/** Syncthing refuses a folder without its marker. */
const MARKER = ".stfolder";

function quietEnv(home: string): Record<string, string> {
  return {
    HOME: home,
    XDG_CONFIG_HOME: `${home}/.config`,
    XDG_DATA_HOME: `${home}/.local/share`,
    XDG_STATE_HOME: `${home}/.local/state`,
    STNODEFAULTFOLDER: "1",
    STNOUPGRADE: "1",
    STNORESTART: "1",
  };
}

async function generate(
  home: string,
  env: Record<string, string>,
): Promise<string> {
  const out = await new Deno.Command("syncthing", {
    args: [
      "generate",
      `--home=${home}`,
      "--no-default-folder",
      "--skip-port-probing",
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
    throw new Error(`syncthing generate failed with code ${out.code}: ${text}`);
  }
  return deviceIdOf(await Deno.readTextFile(`${home}/config.xml`));
}

export const syncthing: SyncTool = {
  name: "syncthing",
  continuous: true,
  unavailable: () => commandMissing("syncthing"),
  async prepare(src, dst, work, sides): Promise<SyncRun> {
    return pairOf(
      await syncthing.prepareGroup!(
        [src, dst],
        work,
        sides ?? [LOOPBACK, LOOPBACK],
      ),
    );
  },
  async prepareGroup(folders, work, hosts): Promise<GroupRun> {
    const env = quietEnv(`${work}/home`);
    await Deno.mkdir(`${work}/home`);
    const count = folders.length;
    const homes = folders.map((_, i) => `${work}/h${i}`);
    const ids: string[] = [];
    for (const home of homes) ids.push(await generate(home, env));
    const ports = freePorts(count);
    const at = (i: number): Endpoint => hosts[i] ?? LOOPBACK;
    const address = (i: number) => `${at(i).ip}:${ports[i]}`;
    for (let i = 0; i < count; i++) {
      const generated = await Deno.readTextFile(`${homes[i]}/config.xml`);
      await Deno.writeTextFile(
        `${homes[i]}/config.xml`,
        syncthingConfig(generated, {
          selfId: ids[i]!,
          listen: address(i),
          peers: ids.flatMap((id, j) =>
            j === i ? [] : [{ id, address: address(j) }]
          ),
          folderId: FOLDER_ID,
          folderPath: folders[i]!,
        }),
      );
      await Deno.mkdir(`${folders[i]}/${MARKER}`, { recursive: true });
    }
    const name = (i: number) =>
      count === 2 ? (i === 0 ? "src" : "dst") : `dev${i + 1}`;
    return groupRun(count, (i) =>
      ManagedProcess.spawn(
        `syncthing ${name(i)}`,
        "syncthing",
        [
          "serve",
          `--home=${homes[i]}`,
          "--no-browser",
          "--no-restart",
          "--no-upgrade",
          "--no-default-folder",
          "--logflags=3",
        ],
        { log: `${work}/syncthing-${i}`, env, wrapper: at(i).wrapper },
      ));
  },
};
