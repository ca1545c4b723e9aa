import { getLogger } from "@logtape/logtape";
import {
  ensureIgnoreFile,
  findLookAlikes,
  HasherPool,
  IGNORE_FILE,
  IgnoreRules,
  IndexStore,
  Scanner,
} from "../index/mod.ts";
import { fingerprint, Identity } from "../identity/mod.ts";
import { bindPort, ConnectionPool } from "../net/mod.ts";
import { Discovery } from "../discovery/mod.ts";
import { followDiscoveredPeers } from "./discovered_peers.ts";
import { checkNotEmptied, FolderGuard } from "./folder_guard.ts";
import { probeCase } from "./case_probe.ts";
import { FolderLock } from "./folder_lock.ts";
import {
  detectCaseInsensitive,
  LeftoverParts,
  removeStrayPart,
  SyncEngine,
} from "../sync/mod.ts";
import { describeScan, describeTotals, formatCount } from "../ui/mod.ts";
import { FolderWatcher } from "../watch/mod.ts";
import { abortableSleep } from "./abortable_sleep.ts";
import {
  DEFAULT_RESCAN_INTERVAL_MS,
  type NodeConfig,
  stateRootOf,
} from "./node_config.ts";
import { rescanBatch } from "./watch_batch.ts";
import {
  ControlServer,
  DEFAULT_CONTROL_ADDRESS,
  isLoopback,
} from "./control_server.ts";
import { ChangeFeed } from "./change_feed.ts";
import { pageRoutes } from "./status_page.ts";
import { GroupContext } from "./group_context.ts";
import { GroupService } from "./group_service.ts";
import { WatchSuspension } from "./watch_suspension.ts";
import { StatusReporter } from "./status_reporter.ts";
import { notSyncedFiles, StatusBuilder } from "./status_api.ts";
import { statusRoutes } from "./status_routes.ts";
import { purgeExpiredTombstones } from "./tombstones.ts";
import type { TtyStatus } from "../ui/mod.ts";
import { DEFAULT_KEEP_DAYS, defaultMaxBytes } from "../versions/mod.ts";
import { VersionUpkeep } from "./version_upkeep.ts";
import { folderVersions, versionRoutes } from "./versions_api.ts";
import { modeRoutes } from "./mode_api.ts";
import { pauseRoutes, wasPaused } from "./pause_api.ts";

const log = getLogger(["dsync", "node"]);

/** Live entries of the index. */
function countLive(store: IndexStore): number {
  let n = 0;
  for (const stat of store.statMap().values()) if (!stat.deleted) n++;
  return n;
}

/** The case probe of a folder whose `.dsync/` is elsewhere (`--state-dir`). */
async function probeStateDirCase(folder: string): Promise<boolean> {
  const probe = await probeCase(folder, {
    skip: (rel) => rel === IGNORE_FILE,
  });
  const line = "Names in {folder} are case-{kind} ({how}: {detail})";
  const fields = {
    folder,
    kind: probe.caseInsensitive ? "insensitive" : "sensitive",
    how: probe.how === "skipped" ? "not probed" : "probed",
    detail: probe.detail,
  };
  if (probe.how === "skipped") log.info(line, fields);
  else log.debug(line, fields);
  return probe.caseInsensitive;
}

/** Every live path of the index. */
function* livePaths(store: IndexStore): Generator<string> {
  for (const stat of store.statMap().values()) {
    if (!stat.deleted) yield stat.path;
  }
}

/**
 * Runs a dsync node on `config.folder` until `signal` aborts: indexes the
 * folder, watches it, and syncs it with every peer that connects or that
 * `config.peers` names. Resolves after a clean shutdown: transfers
 * abandoned without a half-written file in place, peers told goodbye, the
 * index closed and consistent.
 *
 * @throws {FolderUnavailableError} after that same clean shutdown when the
 * folder vanished (unmounted, moved away, replaced) while the node ran: no
 * scan recorded its files as deleted, and peers keep theirs.
 */
export async function runNode(
  config: NodeConfig,
  signal: AbortSignal,
  ui: { tty?: TtyStatus } = {},
): Promise<void> {
  // Before anything touches the folder: a second dsync on it would share
  // the index and hand out the same sequence numbers.
  const root = stateRootOf(config);
  const lock = await FolderLock.acquire(root, config.folder);
  try {
    const guard = FolderGuard.capture(config.folder, { stateRoot: root });
    // Bound before any other work, so that a taken port is said at once;
    // peers that connect meanwhile wait in the backlog until the pool runs.
    const socket = bindPort(config.port);
    try {
      await runLockedNode(config, signal, ui, guard, socket);
    } catch (error) {
      // Once the folder is gone, other failures are its echoes.
      if (guard.error === undefined) throw error;
    } finally {
      guard.close();
      try {
        socket.close(); // if the pool never took it
      } catch {
        // Closed by the pool.
      }
    }
    if (guard.error !== undefined) throw guard.error;
  } finally {
    lock.release();
  }
}

async function runLockedNode(
  config: NodeConfig,
  stopSignal: AbortSignal,
  ui: { tty?: TtyStatus },
  guard: FolderGuard,
  socket: Deno.TcpListener,
): Promise<void> {
  // A vanished folder stops the node the way Ctrl-C does.
  const signal = AbortSignal.any([stopSignal, guard.signal]);
  guard.watch();
  const root = stateRootOf(config);
  const stateInFolder = root === config.folder;
  const store = IndexStore.openOrRebuild(root);
  if (!stateInFolder) {
    // The index is elsewhere: an empty mount point must not read as a
    // folder whose every file was deleted (in the folder, .dsync/ tells
    // them apart). Checked before dsync writes anything in it.
    try {
      await checkNotEmptied(config.folder, countLive(store));
    } catch (error) {
      store.close();
      throw error;
    }
  }
  await ensureIgnoreFile(config.folder).catch((error) => {
    // A read-only folder (with --state-dir) goes without the defaults file.
    if (stateInFolder) throw error;
  });
  // Once: ignore rules and the engine must agree on how names compare.
  const caseInsensitive = stateInFolder
    ? detectCaseInsensitive(config.folder)
    : await probeStateDirCase(config.folder);
  const ignore = await IgnoreRules.load(config.folder, config.excludes, {
    caseInsensitive,
  });
  const hasher = new HasherPool();
  // The first scan hashes on them: started while the rest starts up.
  hasher.warm();
  const group = await GroupContext.open(root, {
    open: config.open ?? false,
    joined: config.joined,
  });
  const identity = Identity.generate({
    device: group.device,
    membership: group.membership,
  });
  const groups = new GroupService(group, identity.publicKey, config.name);
  let control: ControlServer | undefined;
  let engine: SyncEngine | undefined;
  let watcher: FolderWatcher | undefined;
  let pool: ConnectionPool | undefined;
  let reporter: StatusReporter | undefined;
  let discovery: Discovery | undefined;
  let suspender: ReturnType<typeof setInterval> | undefined;
  let feed: ChangeFeed | undefined;
  let feedTimer: ReturnType<typeof setInterval> | undefined;
  let upkeep: VersionUpkeep | undefined;
  const versions = folderVersions(config.folder, root);
  const keepDays = config.versionsKeepDays ?? DEFAULT_KEEP_DAYS;
  try {
    // No pull is running yet, so every .part found is a leftover: kept to
    // resume its target's pull.
    const leftovers = await LeftoverParts.gather(config.folder, {
      skipDir: (rel) => ignore.ignores(rel, true),
    });
    const scanner = new Scanner({
      folder: config.folder,
      store,
      hasher,
      ignore,
      checkFolder: () => guard.check(),
      stateInFolder,
      // Peers get what is indexed while the rest of a big folder still is.
      onCommit: () => engine?.onLocalChanges(),
      onPartFile: (os) => removeStrayPart(os, leftovers),
    });
    const sync = new SyncEngine({
      folder: config.folder,
      store,
      scanner,
      ignore,
      caseInsensitive,
      maxConcurrentTransfers: config.maxConcurrentTransfers,
      name: config.name,
      leftovers,
      onApplied: (path, device) => feed?.applied(path, device),
      ...(config.namingRules === undefined
        ? {}
        : { namingRules: config.namingRules }),
      ...(config.mode === undefined ? {} : { mode: config.mode }),
      ...(keepDays > 0
        ? {
          versions,
          onDiskFull: (path: string, bytes: number) =>
            upkeep?.freeFor(path, bytes) ?? Promise.resolve(),
        }
        : {}),
      onPeerHello: (peerId, name) => groups.peerHello(peerId, name),
      onGroupRekey: (peerId, secret, removed) =>
        groups.rekey(peerId, secret, removed),
      hashOffThread: (pieces) => hasher.hashOwnedBytes(pieces),
    });
    engine = sync;
    if (await wasPaused(root)) {
      sync.pause();
      log.warn(
        "Paused (by dsync pause): nothing is sent or received until dsync resume -d {folder}",
        { folder: config.folder },
      );
    }
    // Watching starts before the initial scan, so no change falls between.
    watcher = new FolderWatcher({
      folder: config.folder,
      ignore: (rel) => ignore.ignores(rel, false),
      onBatch: (batch) =>
        rescanBatch(sync, ignore, batch).catch((error) => {
          // Reported once, when the node has stopped.
          if (guard.error === undefined) throw error;
        }),
    });
    watcher.start();
    await watcher.started();

    // Peers are served from the start: a large folder takes minutes to
    // index, and a peer that waited on the listen backlog meanwhile would
    // time out its handshake. What is indexed goes out as it is recorded;
    // nothing is put in place before the scan ends (the scan holds the
    // engine's gate), and "in sync" is not said before.
    pool = new ConnectionPool({
      identity,
      listen: {
        hostname: "0.0.0.0",
        port: config.port,
        socket,
        onJoin: (channel, remote) => groups.join(channel, remote),
      },
    });
    sync.attach(pool);
    groups.attach(pool, sync);
    const builder = new StatusBuilder({
      folder: config.folder,
      device: { name: config.name, fingerprint: group.device.fingerprint },
      group: () => group.isOpen ? "open" : group.secret.fingerprint,
      status: () => {
        sync.localChanges(); // counted for the status request only
        return sync.status();
      },
      heldBy: (replica) => sync.heldBy(replica),
      recent: () => feed?.recent ?? [],
      conflicts: () => feed?.conflicts ?? [],
      unreadable: () => scanner.unreadable,
      invalidNames: () => scanner.invalidNames,
      names: () => findLookAlikes(livePaths(store)),
      now: Date.now,
    });
    control = await ControlServer.start(root, {
      ...groups.routes(),
      ...versionRoutes(versions, sync),
      ...modeRoutes(sync, versions),
      ...pauseRoutes(root, config.folder, sync),
      ...statusRoutes(builder),
      ...pageRoutes(),
    }, config.gui ?? DEFAULT_CONTROL_ADDRESS);
    log.info("Status page: {url}", { url: control.pageUrl });
    if (!isLoopback(control.hostname)) {
      // Only an address the user gave: the default is loopback.
      log.warn(
        "The status page and control API listen on {address}: other machines can reach them (with the token, over plain HTTP)",
        { address: control.hostname },
      );
    }
    announceGroup(
      group,
      pool.addr?.port ?? config.port,
      fingerprint(identity.publicKey),
      config,
    );
    for (const peer of config.peers) {
      pool.addStaticPeer(peer.hostname, peer.port);
    }
    if (config.discovery) {
      const mdns = new Discovery({
        name: config.name,
        port: pool.addr?.port ?? config.port,
        peerId: identity.publicKey,
        announcement: () => ({
          tag: group.tagFor(identity.publicKey),
          joinable: group.acceptsJoins,
        }),
        // The open pseudo-group's tag is public: it proves nothing there.
        verify: (peer) => !group.isOpen && group.recognises(peer.tag, peer.id),
      });
      discovery = mdns;
      followDiscoveredPeers(
        mdns,
        pool,
        (peer) => group.recognises(peer.tag, peer.id),
      );
      group.onChange(() => mdns.refresh());
      mdns.start();
    }
    reporter = new StatusReporter(() => sync.status(), {
      ...ui,
      notSynced: (status) =>
        notSyncedFiles(status, scanner.unreadable, scanner.invalidNames)
          .length,
    });
    if (keepDays > 0) {
      upkeep = new VersionUpkeep(versions, {
        keepDays,
        maxBytes: config.versionsMaxMb !== undefined
          ? config.versionsMaxMb * 1024 * 1024
          : defaultMaxBytes(config.folder),
      });
    }
    log.info(describeScan(await sync.scan("full")));
    // From here on, what the index stores is a change to show and log; the
    // first scan's findings are history (the line above says them).
    const changes = new ChangeFeed({
      store,
      devicesOf: (records) => sync.sourcesOf(records),
      log: (line) => log.info(line),
    });
    feed = changes;
    feedTimer = setInterval(() => changes.poll(), 250);
    suspender = suspendWatchingWhileBusy(watcher, sync);
    purgeExpiredTombstones(store, Date.now());

    const interval = config.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS;
    while (!signal.aborted) {
      await abortableSleep(interval, signal);
      if (signal.aborted) break;
      log.debug(describeScan(await sync.scan("full")));
      purgeExpiredTombstones(store, Date.now());
    }
    if (guard.error === undefined) log.info("Stopping");
  } finally {
    clearInterval(suspender);
    clearInterval(feedTimer);
    reporter?.stop();
    await upkeep?.close();
    await control?.close();
    await discovery?.close();
    feed?.poll(); // while the engine can still name the peers
    await engine?.close();
    feed?.poll();
    feed?.flush();
    if (engine?.totals !== undefined) {
      log.info(describeTotals(engine.totals));
    }
    await watcher?.close();
    await pool?.close();
    await groups.settled();
    await hasher.close();
    store.close();
  }
}

/**
 * Says at start which group the folder is in, and prints a join code when
 * no other device has joined yet (a new group, or one nobody joined).
 */
function announceGroup(
  group: GroupContext,
  port: number,
  session: string,
  config: NodeConfig,
): void {
  if (group.isOpen) {
    log.warn(
      "Listening on port {port} as {device} ({name}, session {session}) in OPEN mode: any dsync started with --open on this network may read, change and delete this folder",
      { port, device: group.device.fingerprint, name: config.name, session },
    );
    return;
  }
  const members = group.members.list().filter((m) => m.removedAt === undefined)
    .length;
  log.info(
    "Listening on port {port} as {device} ({name}, session {session}); folder group {group}, {members} other {noun} seen",
    {
      port,
      device: group.device.fingerprint,
      name: config.name,
      session,
      group: group.secret.fingerprint,
      members,
      noun: members === 1 ? "device" : "devices",
    },
  );
  if (members > 0 || group.origin === "joined") return;
  const { code } = group.invite();
  log.info(
    "Join code for this folder: {code} (valid 10 minutes). On each other device, run once: dsync -d DIR --join {code}",
    { code },
  );
}

/** How often the puller's backlog is checked for a watcher suspension. */
const SUSPENSION_CHECK_MS = 250;

/**
 * Stops watching the folder while the puller has many files to write, and
 * watches and scans the whole folder again afterwards (`WatchSuspension`
 * says when). Returns the timer to clear at shutdown.
 */
function suspendWatchingWhileBusy(
  watcher: FolderWatcher,
  sync: SyncEngine,
): ReturnType<typeof setInterval> {
  const suspension = new WatchSuspension();
  let scanning = false;
  let lastResume = -Infinity;
  return setInterval(() => {
    const backlog = sync.pullBacklog;
    const step = suspension.decide(Date.now(), backlog, !scanning);
    if (step === "suspend") {
      if (!watcher.suspend()) return;
      const now = Date.now();
      suspension.suspended(now);
      // Once per bulk pull, not at every turn of a long one.
      const level = now - lastResume > 60_000 ? "info" : "debug";
      log[level](
        "Not watching the folder while writing {count} files; it is scanned for other changes afterwards",
        { count: formatCount(backlog) },
      );
    } else if (step === "resume") {
      suspension.resumed();
      lastResume = Date.now();
      scanning = true;
      watcher.resume()
        .then(() => sync.scan("full"))
        .then((summary) => {
          suspension.scanned(summary.durationMs);
          log.debug("Watching the folder again; {scan}", {
            scan: describeScan(summary),
          });
        })
        .catch((error) => {
          log.debug("Scan after watching again failed: {error}", {
            error: String(error),
          });
        })
        .finally(() => {
          scanning = false;
        });
    }
  }, SUSPENSION_CHECK_MS);
}
