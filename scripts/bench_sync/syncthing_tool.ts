/**
 * Syncthing: two instances on loopback (Debian's package), each with its own
 * `--home` in the run's scratch folder, keys made by `syncthing generate`,
 * sharing one folder over fixed `tcp://127.0.0.1:PORT` addresses, with
 * everything that would leave loopback turned off (see syncthing_config.ts).
 * The clock starts when both are spawned, so it includes their start-up and
 * initial scan, as for dsync.
 * @module
 */
import { ManagedProcess } from "./managed_process.ts";
import { deviceIdOf, syncthingConfig } from "./syncthing_config.ts";
import {
  commandMissing,
  freePorts,
  pairRun,
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
  async prepare(src, dst, work): Promise<SyncRun> {
    const env = quietEnv(`${work}/home`);
    await Deno.mkdir(`${work}/home`);
    const homes = [`${work}/a`, `${work}/b`] as const;
    const ids = [await generate(homes[0], env), await generate(homes[1], env)];
    const ports = freePorts(2);
    const folders = [src, dst];
    for (let i = 0; i < 2; i++) {
      const generated = await Deno.readTextFile(`${homes[i]}/config.xml`);
      await Deno.writeTextFile(
        `${homes[i]}/config.xml`,
        syncthingConfig(generated, {
          selfId: ids[i]!,
          peerId: ids[1 - i]!,
          listenPort: ports[i]!,
          peerPort: ports[1 - i]!,
          folderId: FOLDER_ID,
          folderPath: folders[i]!,
        }),
      );
      await Deno.mkdir(`${folders[i]}/${MARKER}`, { recursive: true });
    }
    return pairRun((i) =>
      ManagedProcess.spawn(
        `syncthing ${i === 0 ? "src" : "dst"}`,
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
        { log: `${work}/syncthing-${i}`, env },
      )
    );
  },
};
