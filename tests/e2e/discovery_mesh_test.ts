/**
 * Zero-config discovery across a switched LAN: hosts in their own network
 * namespaces joined by a bridge (see `_netns.ts`), dsync run with no `-a`.
 * Needs root and iproute2 (skips otherwise); the Avahi check also needs
 * avahi-daemon, avahi-utils and dbus-daemon (skips without them).
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { DsyncProcess, isolatedEnv, TEST_GROUP } from "./_dsync.ts";
import { toHex } from "../../src/index/hash.ts";
import { snapshot, waitIdentical } from "./_folders.ts";
import { hasProgram, Lan, type LanHost, whyNoNetns } from "./_netns.ts";
import {
  fingerprint,
  Identity,
  parsePeerIdHex,
  peerIdHex,
} from "../../src/identity/mod.ts";
import { waitFor } from "../_wait.ts";

const PORT = "22000";
const FP = "[A-Z2-7-]+";
const ANNOUNCER = new URL("../discovery/_false_announcer.ts", import.meta.url)
  .pathname;

/** A helper process (not dsync) run in a namespace, output collected. */
class Helper {
  #child: Deno.ChildProcess;
  #output = "";
  #pumps: Promise<void>[];

  constructor(cmd: string[], env: Record<string, string> = {}) {
    this.#child = new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = [this.#child.stdout, this.#child.stderr].map(async (s) => {
      const decoder = new TextDecoder();
      for await (const chunk of s) {
        this.#output += decoder.decode(chunk, { stream: true });
      }
    });
  }

  get output(): string {
    return this.#output;
  }

  async stop(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 5_000);
    try {
      await this.#child.status;
      await Promise.all(this.#pumps);
    } finally {
      clearTimeout(timer);
    }
  }
}

function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 30_000,
): Promise<void> {
  return waitFor(cond, what, timeoutMs, 100);
}

/** The session key's fingerprint (what mDNS announces and discovery logs). */
function fingerprintOf(proc: DsyncProcess): Promise<string> {
  return proc.waitForOutput(
    new RegExp(`Listening on port \\d+ as ${FP} \\(.*, session (${FP})\\)`),
  ).then((m) => m[1]!);
}

/** The device fingerprint (what the sync log names a peer by). */
function deviceOf(proc: DsyncProcess): Promise<string> {
  return proc.waitForOutput(new RegExp(`Listening on port \\d+ as (${FP})`))
    .then((m) => m[1]!);
}

Deno.test("dsync on three bridged hosts finds, syncs, refuses a false id, follows a new address, sees a leave and a rejoin", async () => {
  const reason = await whyNoNetns();
  if (reason !== undefined) {
    console.log(`Skipping the mDNS mesh test: ${reason}`);
    return;
  }
  await using lan = await Lan.create();
  const root = await Deno.makeTempDir({ prefix: "dsync-mesh-" });
  const env = isolatedEnv(root);
  const procs: DsyncProcess[] = [];
  const helpers: Helper[] = [];
  const start = (host: LanHost, extra: string[] = []) => {
    const proc = new DsyncProcess(
      ["-d", `${root}/${host.name}`, "-n", host.name, "-p", PORT, ...extra],
      { env, wrapper: host.wrapper },
    );
    procs.push(proc);
    return proc;
  };
  try {
    const names = ["alpha", "beta", "gamma", "mallory"];
    const [a, b, c, m] = await Promise.all(names.map((n) => lan.addHost(n)));
    for (const n of names) {
      await Deno.mkdir(`${root}/${n}`);
      await Deno.writeTextFile(`${root}/${n}/${n}.txt`, `from ${n}\n`);
    }
    // Mallory: a real dsync that does not announce itself, plus an
    // announcer that claims an id mallory cannot prove.
    start(m!, ["--no-discovery"]);
    helpers.push(
      new Helper([
        ...m!.wrapper,
        Deno.execPath(),
        "run",
        "-A",
        ANNOUNCER,
        "mallory",
        PORT,
        // An insider: it knows the group and tags the false id correctly.
        toHex(TEST_GROUP.exportBytes()),
      ], env),
    );
    const alpha = start(a!);
    const beta = start(b!);
    let gamma = start(c!);
    const honest = [alpha, beta, gamma];
    const oldGamma = await fingerprintOf(gamma);

    const all = (s: Map<string, string>) =>
      ["alpha.txt", "beta.txt", "gamma.txt"].every((f) => s.has(f));
    await waitIdentical(`${root}/alpha`, `${root}/beta`, {
      procs: honest,
      check: all,
      timeoutMs: 45_000,
    });
    await waitIdentical(`${root}/alpha`, `${root}/gamma`, {
      procs: honest,
      check: all,
      timeoutMs: 30_000,
    });

    // Each honest node dialed mallory and refused it by name.
    for (const proc of honest) {
      await proc.waitForOutput(
        new RegExp(
          `Dialing ${
            m!.ip.replaceAll(".", "\\.")
          }:${PORT} failed \\(IdentityMismatchError`,
        ),
        30_000,
      );
    }
    const malloryFiles = [...(await snapshot(`${root}/mallory`)).keys()];
    assertEquals(malloryFiles, ["mallory.txt"]);
    for (const n of ["alpha", "beta", "gamma"]) {
      assert(!(await snapshot(`${root}/${n}`)).has("mallory.txt"));
    }

    // Gamma leaves with a goodbye; the others log it. Only a peer found
    // over mDNS can be seen leaving it: gamma may have dialed the others
    // (and synced) before its announcement reached them.
    for (const proc of [alpha, beta]) {
      await proc.waitForOutput(
        new RegExp(`Discovered gamma \\(${oldGamma}\\)`),
        30_000,
      );
    }
    assertEquals(await gamma.stop("SIGINT"), 0, gamma.output);
    const left = new RegExp(
      `Peer gamma \\(${oldGamma}\\) left the network \\(mDNS goodbye\\)`,
    );
    await alpha.waitForOutput(left, 20_000);
    await beta.waitForOutput(left, 20_000);

    // Gamma comes back as a new identity and is accepted.
    await Deno.writeTextFile(`${root}/gamma/again.txt`, "back\n");
    const gammaDevice = await deviceOf(gamma);
    gamma = start(c!);
    const newGamma = await fingerprintOf(gamma);
    assert(newGamma !== oldGamma, "a fresh process has a fresh session key");
    assertEquals(await deviceOf(gamma), gammaDevice, "the same device");
    await waitUntil(
      () =>
        [...alpha.output.matchAll(
          new RegExp(`Peer gamma \\(${gammaDevice}\\) connected`, "g"),
        )].length >= 2,
      "alpha to connect to the new gamma",
    );
    const again = (s: Map<string, string>) => all(s) && s.has("again.txt");
    await waitIdentical(`${root}/alpha`, `${root}/gamma`, {
      procs: [alpha, beta, gamma],
      check: again,
    });
    await waitIdentical(`${root}/beta`, `${root}/gamma`, {
      procs: [alpha, beta, gamma],
      check: again,
    });
    assert(!(await snapshot(`${root}/alpha`)).has("mallory.txt"));

    // Beta moves to a new address: it announces again and alpha follows.
    const betaFp = await fingerprintOf(beta);
    const betaIp = await lan.renumber(b!);
    await alpha.waitForOutput(
      new RegExp(
        `Discovered beta \\(${betaFp}\\) at ${
          betaIp.replaceAll(".", "\\.")
        }:${PORT}`,
      ),
      30_000,
    );

    for (const proc of [alpha, beta, gamma]) {
      assertEquals(await proc.stop("SIGINT"), 0, proc.output);
    }
  } finally {
    for (const proc of procs) await proc.stop("SIGKILL");
    for (const helper of helpers) await helper.stop("SIGKILL");
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("dsync on a host in two LANs announces on both, and relays between them", async () => {
  const reason = await whyNoNetns();
  if (reason !== undefined) {
    console.log(`Skipping the two-LAN mDNS test: ${reason}`);
    return;
  }
  await using lanA = await Lan.create();
  await using lanB = await Lan.create();
  const root = await Deno.makeTempDir({ prefix: "dsync-2lan-" });
  const env = isolatedEnv(root);
  const procs: DsyncProcess[] = [];
  try {
    const router = await lanA.addHost("router");
    const routerB = await lanB.connect(router);
    const left = await lanA.addHost("left");
    const right = await lanB.addHost("right");
    for (const host of [router, left, right]) {
      await Deno.mkdir(`${root}/${host.name}`);
      await Deno.writeTextFile(
        `${root}/${host.name}/${host.name}.txt`,
        `from ${host.name}\n`,
      );
      procs.push(
        new DsyncProcess(
          ["-d", `${root}/${host.name}`, "-n", host.name, "-p", PORT],
          { env, wrapper: host.wrapper },
        ),
      );
    }
    const [, leftProc, rightProc] = procs;
    // The router's default multicast route is on LAN A; the right host
    // only hears it if it announces on its LAN B interface too, with the
    // LAN B address first.
    const routerB_ = routerB.replaceAll(".", "\\.");
    await rightProc!.waitForOutput(
      new RegExp(`Discovered router \\(${FP}\\) at ${routerB_}:${PORT}`),
      30_000,
    );
    await leftProc!.waitForOutput(
      new RegExp(
        `Discovered router \\(${FP}\\) at ${
          router.ip.replaceAll(".", "\\.")
        }:${PORT}`,
      ),
      30_000,
    );
    const all = (s: Map<string, string>) =>
      ["router.txt", "left.txt", "right.txt"].every((f) => s.has(f));
    await waitIdentical(`${root}/left`, `${root}/right`, {
      procs,
      check: all,
      timeoutMs: 45_000,
    });
    for (const proc of procs) {
      assertEquals(await proc.stop("SIGINT"), 0, proc.output);
    }
  } finally {
    for (const proc of procs) await proc.stop("SIGKILL");
    await Deno.remove(root, { recursive: true });
  }
});

const BUS_CONF = (socket: string) =>
  `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;

const AVAHI_CONF = `[server]
host-name=avahi-test
use-ipv4=yes
use-ipv6=no
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-workstation=no
publish-hinfo=no
`;

async function whyNoAvahi(): Promise<string | undefined> {
  for (
    const [cmd, args] of [
      ["avahi-daemon", ["--version"]],
      ["avahi-browse", ["--version"]],
      ["avahi-publish", ["--version"]],
      ["dbus-daemon", ["--version"]],
    ] as const
  ) {
    if (!(await hasProgram(cmd, [...args]))) {
      return `${cmd} is missing (apt: avahi-daemon avahi-utils dbus-daemon)`;
    }
  }
  return undefined;
}

async function avahiBrowse(
  host: LanHost,
  env: Record<string, string>,
  args: string[],
): Promise<string> {
  const out = await new Deno.Command("ip", {
    args: ["netns", "exec", host.ns, "timeout", "10", "avahi-browse", ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test("avahi-browse sees dsync (renamed off a name Avahi holds) with its TXT id and goodbye; other types ignored", async () => {
  const reason = (await whyNoNetns()) ?? (await whyNoAvahi());
  if (reason !== undefined) {
    console.log(`Skipping the Avahi interoperability test: ${reason}`);
    return;
  }
  await using lan = await Lan.create();
  const root = await Deno.makeTempDir({ prefix: "dsync-avahi-" });
  const helpers: Helper[] = [];
  let dsync: DsyncProcess | undefined;
  try {
    const box = await lan.addHost("box");
    const av = await lan.addHost("avahi");
    const socket = `${root}/bus`;
    await Deno.writeTextFile(`${root}/bus.conf`, BUS_CONF(socket));
    await Deno.writeTextFile(`${root}/avahi.conf`, AVAHI_CONF);
    const busEnv = {
      DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}`,
      PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    };
    // A private system bus and avahi-daemon in the avahi host; /run is a
    // fresh tmpfs in its own mount namespace, so the daemon's pid file
    // cannot clash with another avahi-daemon.
    helpers.push(
      new Helper([
        "ip",
        "netns",
        "exec",
        av.ns,
        "dbus-daemon",
        `--config-file=${root}/bus.conf`,
        "--nofork",
        "--nopidfile",
      ], busEnv),
    );
    await waitUntil(
      async () => {
        try {
          await Deno.stat(socket);
          return true;
        } catch {
          return false;
        }
      },
      "the D-Bus socket",
      10_000,
    );
    const daemon = new Helper([
      "ip",
      "netns",
      "exec",
      av.ns,
      "sh",
      "-c",
      `mount -t tmpfs tmpfs /run && mkdir -p /run/avahi-daemon && exec avahi-daemon -f ${root}/avahi.conf --no-drop-root --no-chroot --no-rlimits`,
    ], busEnv);
    helpers.push(daemon);
    await waitUntil(
      () => daemon.output.includes("Server startup complete"),
      `avahi-daemon to start; output:\n${daemon.output}`,
      15_000,
    );
    // Another service type, even with dsync-like TXT, must be ignored.
    const other = peerIdHex(Identity.generate().publicKey);
    const publisher = new Helper([
      "ip",
      "netns",
      "exec",
      av.ns,
      "avahi-publish",
      "-s",
      "web box",
      "_http._tcp",
      "8080",
      "v=1",
      `id=${other}`,
    ], busEnv);
    helpers.push(publisher);
    // Avahi already holds the name dsync wants: dsync must probe and rename.
    const squatter = new Helper([
      "ip",
      "netns",
      "exec",
      av.ns,
      "avahi-publish",
      "-s",
      "box",
      "_dsync._tcp",
      "9",
      "v=1",
      `id=${other}`,
    ], busEnv);
    helpers.push(squatter);
    await waitUntil(
      () =>
        publisher.output.includes("Established") &&
        squatter.output.includes("Established"),
      "avahi-publish",
      15_000,
    );

    await Deno.mkdir(`${root}/box`);
    dsync = new DsyncProcess(["-d", `${root}/box`, "-n", "box", "-p", PORT], {
      env: isolatedEnv(root),
      wrapper: box.wrapper,
    });
    const fp = await fingerprintOf(dsync);

    // avahi-browse -p escapes bytes as decimal \DDD: "box (2)" is
    // box\032\0402\041.
    let line: string | undefined;
    let out = "";
    await waitUntil(
      async () => {
        out = await avahiBrowse(av, busEnv, ["-rpt", "_dsync._tcp"]);
        line = out.split("\n").find((l) =>
          l.startsWith(
            "=;eth0;IPv4;box\\032\\0402\\041;_dsync._tcp;local;box.local;",
          )
        );
        return line !== undefined;
      },
      () =>
        `avahi-browse to resolve the dsync service; it saw:\n${out}\ndsync:\n${dsync?.output}`,
    );
    const fields = line!.split(";");
    assertEquals(fields[7], box.ip);
    assertEquals(fields[8], PORT);
    const txt = fields.slice(9).join(";");
    assert(txt.includes('"v=1"'), txt);
    const id = /"id=([0-9a-f]{64})"/.exec(txt)?.[1];
    assert(id !== undefined, `no id in TXT ${txt}`);
    assertEquals(fingerprint(parsePeerIdHex(id)), fp);

    const http = await avahiBrowse(av, busEnv, ["-rpt", "_http._tcp"]);
    assert(http.includes("web\\032box"), http);
    assert(!dsync.output.includes("web box"), dsync.output);
    assert(
      dsync.output.includes(
        "mDNS name box is taken on this network; trying box (2)",
      ),
      dsync.output,
    );

    // The goodbye on exit removes the service from Avahi's cache.
    assertEquals(await dsync.stop("SIGINT"), 0, dsync.output);
    await waitUntil(
      async () => {
        const out = await avahiBrowse(av, busEnv, ["-pt", "_dsync._tcp"]);
        return !out.includes(";box\\032\\0402\\041;_dsync._tcp;");
      },
      "avahi-browse to drop the service after the goodbye",
      20_000,
    );
  } finally {
    await dsync?.stop("SIGKILL");
    for (const helper of helpers.reverse()) await helper.stop("SIGTERM");
    await Deno.remove(root, { recursive: true });
  }
});
