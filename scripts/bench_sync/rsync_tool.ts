/**
 * rsync: `rsync -a SRC/ rsync://IP:PORT/dst/` against an rsync daemon on
 * the destination side (loopback, or its namespace) that is started (and
 * waited for) before the clock starts.
 * @module
 */
import { ManagedProcess } from "./managed_process.ts";
import { waitListening } from "./netlab.ts";
import {
  commandMissing,
  freePorts,
  LOOPBACK,
  type SyncRun,
  type SyncTool,
} from "./sync_tool.ts";

/** The daemon's config: one writable module `dst`, no chroot. */
export function rsyncdConfig(
  dst: string,
  work: string,
  uid: number,
  gid: number,
): string {
  return [
    `pid file = ${work}/rsyncd.pid`,
    `lock file = ${work}/rsyncd.lock`,
    "use chroot = no",
    "max connections = 4",
    `uid = ${uid}`,
    `gid = ${gid}`,
    "",
    "[dst]",
    `    path = ${dst}`,
    "    read only = no",
    "",
  ].join("\n");
}

export const rsync: SyncTool = {
  name: "rsync",
  continuous: false,
  unavailable: () => commandMissing("rsync"),
  async prepare(src, dst, work, sides): Promise<SyncRun> {
    const [from, to] = sides ?? [LOOPBACK, LOOPBACK];
    const [port] = freePorts(1) as [number];
    const config = `${work}/rsyncd.conf`;
    await Deno.writeTextFile(
      config,
      rsyncdConfig(dst, work, Deno.uid() ?? 0, Deno.gid() ?? 0),
    );
    const daemon = ManagedProcess.spawn("rsync daemon", "rsync", [
      "--daemon",
      "--no-detach",
      `--config=${config}`,
      `--address=${to.ip}`,
      `--port=${port}`,
      `--log-file=${work}/rsyncd.log`,
    ], { log: `${work}/daemon`, wrapper: to.wrapper });
    let client: ManagedProcess | undefined;
    const close = async () => {
      await client?.stop();
      await daemon.stop();
    };
    try {
      await waitListening(to.wrapper, port, 10_000);
    } catch (error) {
      await close();
      throw error;
    }
    return {
      async start() {
        await client?.stop();
        client = ManagedProcess.spawn("rsync", "rsync", [
          "-a",
          `${src}/`,
          `rsync://${to.ip}:${port}/dst/`,
        ], { log: `${work}/client`, wrapper: from.wrapper });
      },
      pids: () => ({
        src: client?.status === null ? [client.pid] : [],
        dst: [daemon.pid],
      }),
      lastLines: () =>
        [daemon, ...(client ? [client] : [])].map((p) =>
          `${p.name}: ${p.lastLine()}`
        ),
      failure() {
        if (daemon.status !== null) return daemon.describeExit();
        if (client?.status && !client.status.success) {
          return client.describeExit();
        }
        return null;
      },
      close,
    };
  },
};
