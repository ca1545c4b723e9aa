import denoJson from "../../deno.json" with { type: "json" };

/** dsync's version, stamped from deno.json. */
export const VERSION: string = denoJson.version;

/** The text of `dsync --help`. */
export function helpText(defaultConfig: string | null): string {
  return `dsync ${VERSION} — zero-config peer-to-peer folder sync for local networks

Usage: dsync -d DIR [options]          run dsync on DIR (prints a join code for a new group)
       dsync -d DIR --join CODE        join the group of another device, once, then run
       dsync invite -d DIR             print a new join code (10 minutes, 3 tries)
       dsync members -d DIR            list the devices of DIR's group
       dsync remove -d DIR FINGERPRINT remove a device from the group (new group key)
       dsync status -d DIR [--json]    is DIR in sync, and with whom (--json: everything)
       dsync versions -d DIR [PATH]    old copies kept of what peers replaced or deleted
       dsync restore -d DIR PATH [--at TIME]
                                       put a version back (the current file becomes one)
       dsync pause -d DIR | resume -d DIR [--accept-deletes]
                                       hold / carry on every transfer of a running dsync
                                       (--accept-deletes: apply a held mass delete)
       dsync override -d DIR           send-only: put this folder's state on the peers
       dsync revert -d DIR             receive-only: replace local changes by the group's

Options:
  -d, --path DIR        folder to keep in sync (required)
  -p, --port PORT       TCP port to listen on (default 9000)
  -n, --name NAME       name shown to peers (default: this host's name)
  -a, --peer HOST:PORT  also connect to this peer (repeatable)
  -e, --exclude PATTERN ignore paths matching this .gitignore-style pattern (repeatable)
      --join CODE       join the group of the device that printed CODE
      --open            open LAN mode: sync with any dsync started with --open
                        (no group, no join code; anyone on the network can sync)
      --no-discovery    do not announce or browse on mDNS
      --gui ADDR:PORT   where the status page and control API listen
                        (default 127.0.0.1:8385, a free port when taken)
      --mode MODE       send-receive (default), send-only or receive-only
      --state-dir DIR   keep dsync's .dsync/ in DIR instead of the folder
                        (a send-only folder on a read-only file system)
      --at TIME         with restore: the newest version at or before TIME
                        (20261207-031500 as listed, or 2026-12-07T03:15:00Z)
  -v, --verbose         log every file event
      --config FILE     read defaults from FILE
                        (default: ${defaultConfig ?? "none"})
  -h, --help            show this help
  -V, --version         show the version

Config file keys: path, port, name, peer, exclude, no_discovery, verbose,
max_concurrent_transfers, join, open, gui, naming ("posix" or "windows": the
names the folder's disk can hold, e.g. "windows" for NTFS on Linux), mode,
state_dir, versions_keep_days (default 30; 0: no versions), versions_max_mb
(default: a tenth of the disk). Flags override the file; -a and -e add to its
lists.
`;
}
