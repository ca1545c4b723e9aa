/**
 * Sync groups end to end with real processes: joining with a code, a
 * stranger that cannot get in, two groups on one network, wrong and spent
 * codes, removing a member, and the explicit open mode.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { GroupSecret } from "../../src/group/mod.ts";
import {
  DsyncProcess,
  freePort,
  isolatedEnv,
  runDsync,
  type RunResult,
} from "./_dsync.ts";
import { snapshot, waitIdentical } from "./_folders.ts";
import { Lan, type LanHost, whyNoNetns } from "./_netns.ts";
import { waitFor } from "../_wait.ts";

const FP = "[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}";
const CODE = /--join ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})/;

/** A temp root with named folders and loopback nodes; dispose with `await using`. */
class Site {
  readonly root: string;
  readonly env: Record<string, string>;
  readonly ports = new Map<string, number>();
  readonly procs: DsyncProcess[] = [];

  private constructor(root: string) {
    this.root = root;
    this.env = isolatedEnv(`${root}/home`);
  }

  static async create(names: string[]): Promise<Site> {
    const site = new Site(await Deno.makeTempDir({ prefix: "dsync-groups-" }));
    await Deno.mkdir(`${site.root}/home`);
    for (const name of names) {
      await Deno.mkdir(`${site.root}/${name}`);
      site.ports.set(name, freePort());
    }
    return site;
  }

  dir(name: string): string {
    return `${this.root}/${name}`;
  }

  /** Starts `name` dialing `peers`; its group is its own unless given. */
  start(
    name: string,
    peers: string[],
    extra: string[] = [],
    group: GroupSecret | false = false,
  ): DsyncProcess {
    const proc = new DsyncProcess([
      "-d",
      this.dir(name),
      "-n",
      name,
      "-p",
      String(this.ports.get(name)),
      "--no-discovery",
      ...peers.flatMap((p) => ["-a", `127.0.0.1:${this.ports.get(p)}`]),
      ...extra,
    ], { env: this.env, group });
    this.procs.push(proc);
    return proc;
  }

  run(args: string[], timeoutMs = 60_000): Promise<RunResult> {
    return runDsync(args, { env: this.env, group: false, timeoutMs });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.allSettled(this.procs.map((p) => p.stop("SIGKILL")));
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}

async function codeOf(proc: DsyncProcess): Promise<string> {
  return (await proc.waitForOutput(CODE))[1]!;
}

async function deviceOf(proc: DsyncProcess): Promise<string> {
  return (await proc.waitForOutput(
    new RegExp(`Listening on port \\d+ as (${FP})`),
  ))[1]!;
}

function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(new RegExp(pattern, "g"))].length;
}

Deno.test("groups: a device joins with the code, syncs, and restarts as a member with the same fingerprint", async () => {
  await using site = await Site.create(["alpha", "beta"]);
  await Deno.writeTextFile(`${site.dir("alpha")}/a.txt`, "from alpha\n");
  let alpha = site.start("alpha", ["beta"]);
  const code = await codeOf(alpha);
  let beta = site.start("beta", ["alpha"], ["--join", code]);
  await beta.waitForOutput(/Joined the group through/);
  await alpha.waitForOutput(
    new RegExp(`beta \\((${FP})\\) joined this folder's group`),
  );
  await waitIdentical(site.dir("alpha"), site.dir("beta"), {
    procs: [alpha, beta],
    check: (s) => s.has("a.txt"),
  });
  const fps = [await deviceOf(alpha), await deviceOf(beta)];
  const members = await site.run(["members", "-d", site.dir("alpha")]);
  assertEquals(members.code, 0, members.stderr);
  assert(members.stdout.includes(`${fps[1]}  beta  connected`), members.stdout);

  assertEquals(await alpha.stop(), 0);
  assertEquals(await beta.stop(), 0);
  // Restarted without --join: the membership was stored.
  alpha = site.start("alpha", ["beta"]);
  beta = site.start("beta", ["alpha"]);
  assertEquals([await deviceOf(alpha), await deviceOf(beta)], fps);
  assert(!CODE.test(alpha.output), "no new code once a member was seen");
  await Deno.writeTextFile(`${site.dir("beta")}/b.txt`, "from beta\n");
  await waitIdentical(site.dir("alpha"), site.dir("beta"), {
    procs: [alpha, beta],
    check: (s) => s.has("b.txt"),
  });
  await alpha.waitForOutput(new RegExp(`Peer beta \\(${fps[1]}\\) connected`));
});

Deno.test("groups: a device without the code gets no file, name or count, and is refused with one line", async () => {
  await using site = await Site.create(["alpha", "stranger"]);
  await Deno.writeTextFile(`${site.dir("alpha")}/secret.txt`, "private\n");
  const alpha = site.start("alpha", []);
  await alpha.waitForOutput(/Indexed 1 file/);
  await Deno.writeTextFile(`${site.dir("stranger")}/mine.txt`, "stranger\n");
  const stranger = site.start("stranger", ["alpha"]);
  await stranger.waitForOutput(/is not in this folder's group/);
  await alpha.waitForOutput(
    /Refused a device that is not in this folder's group at 127\.0\.0\.1/,
  );
  // It keeps dialing with back-off; a few more tries change nothing.
  await waitFor(
    () => count(alpha.output, /Dialing|Refused a device/) >= 1,
    "a refusal",
  );
  const stop = Date.now() + 4_000;
  await waitFor(() => Date.now() > stop, "a few more dials", 10_000, 200);
  assertEquals(
    [...(await snapshot(site.dir("stranger"))).keys()].sort(),
    ["mine.txt"],
  );
  assertEquals(
    [...(await snapshot(site.dir("alpha"))).keys()].sort(),
    ["secret.txt"],
  );
  assert(!stranger.output.includes("alpha"), stranger.output);
  // Nothing of alpha's folder: no hello, no index, no "in sync" summary.
  assert(
    !/In sync|Peer .* connected|secret\.txt/.test(stranger.output),
    stranger.output,
  );
  assertEquals(count(alpha.output, /Refused a device/), 1, alpha.output);
  assert(!alpha.output.includes("stranger"), alpha.output);
});

Deno.test("groups: a wrong code exits 2 with one line and writes nothing; three tries spend the code", async () => {
  await using site = await Site.create(["alpha", "beta"]);
  const alpha = site.start("alpha", []);
  const code = await codeOf(alpha);
  const port = site.ports.get("alpha")!;
  const wrong = (await site.run([
    "invite",
    "-d",
    site.dir("alpha"),
  ])).stdout.trim();
  // `invite` issued a new code: the printed one is now the wrong one.
  assert(wrong !== code && /^[0-9A-Z-]{14}$/.test(wrong), wrong);
  const join = (c: string) =>
    site.run([
      "-d",
      site.dir("beta"),
      "-n",
      "beta",
      "-p",
      String(site.ports.get("beta")),
      "--no-discovery",
      "-a",
      `127.0.0.1:${port}`,
      "--join",
      c,
    ]);
  for (let i = 0; i < 3; i++) {
    const result = await join(code);
    assertEquals(result.code, 2, result.stderr);
    const lines = result.stderr.split("\n").filter((l) =>
      l.startsWith("dsync:")
    );
    assertEquals(lines.length, 1, result.stderr);
    assert(/join code is wrong/.test(lines[0]!), result.stderr);
    assertEquals([...Deno.readDirSync(site.dir("beta"))], []);
  }
  await alpha.waitForOutput(/0 tries of this code left/);
  // Spent: even the right code is refused now, and says so.
  const spent = await join(wrong);
  assertEquals(spent.code, 2, spent.stderr);
  assert(/spent/.test(spent.stderr), spent.stderr);
  assertEquals([...Deno.readDirSync(site.dir("beta"))], []);
  // A malformed code never reaches the network.
  const typo = await join("K7Q4-M2XD-9TP");
  assertEquals(typo.code, 2);
  assert(/Invalid join code/.test(typo.stderr), typo.stderr);
  // A new code works.
  const fresh = (await site.run(["invite", "-d", site.dir("alpha")])).stdout
    .trim();
  const beta = site.start("beta", ["alpha"], ["--join", fresh]);
  await beta.waitForOutput(/Joined the group through/);
  const none = await site.run(["invite", "-d", `${site.root}/home`]);
  assertEquals(none.code, 2);
  assert(/No dsync is running/.test(none.stderr), none.stderr);
});

Deno.test("groups: a removed member cannot reconnect, its changes reach nobody, the others go on", async () => {
  await using site = await Site.create(["alpha", "beta", "gamma"]);
  const alpha = site.start("alpha", ["beta", "gamma"]);
  const code = await codeOf(alpha);
  const beta = site.start("beta", ["alpha", "gamma"], ["--join", code]);
  await beta.waitForOutput(/Joined the group/);
  const code2 = (await site.run(["invite", "-d", site.dir("alpha")])).stdout
    .trim();
  const gamma = site.start("gamma", ["alpha", "beta"], ["--join", code2]);
  await gamma.waitForOutput(/Joined the group/);
  const gammaFp = await deviceOf(gamma);
  await Deno.writeTextFile(`${site.dir("gamma")}/g1.txt`, "before\n");
  for (const other of ["alpha", "beta"]) {
    await waitIdentical(site.dir(other), site.dir("gamma"), {
      procs: site.procs,
      check: (s) => s.has("g1.txt"),
    });
  }
  const removed = await site.run([
    "remove",
    "-d",
    site.dir("alpha"),
    gammaFp,
  ]);
  assertEquals(removed.code, 0, removed.stderr);
  assert(/Removed gamma/.test(removed.stdout), removed.stdout);
  await beta.waitForOutput(/group's key was changed/);
  await Deno.writeTextFile(`${site.dir("gamma")}/g2.txt`, "after\n");
  await Deno.writeTextFile(`${site.dir("alpha")}/a2.txt`, "after\n");
  await waitIdentical(site.dir("alpha"), site.dir("beta"), {
    procs: site.procs,
    check: (s) => s.has("a2.txt"),
  });
  // Gamma keeps dialing and is refused by both.
  await gamma.waitForOutput(/is not in this folder's group/, 30_000);
  const stop = Date.now() + 3_000;
  await waitFor(() => Date.now() > stop, "gamma to try again", 10_000, 200);
  for (const other of ["alpha", "beta"]) {
    const snap = await snapshot(site.dir(other));
    assert(!snap.has("g2.txt"), `${other} got gamma's change after removal`);
  }
  assert(!(await snapshot(site.dir("gamma"))).has("a2.txt"));
  const members = await site.run(["members", "-d", site.dir("beta")]);
  assert(
    new RegExp(`${gammaFp}  gamma  removed`).test(members.stdout),
    members.stdout,
  );
});

Deno.test("groups: open instances sync with each other and never with a group instance", async () => {
  await using site = await Site.create(["open1", "open2", "member"]);
  await Deno.writeTextFile(`${site.dir("open1")}/o.txt`, "open\n");
  await Deno.writeTextFile(`${site.dir("member")}/m.txt`, "group\n");
  const open1 = site.start("open1", ["open2", "member"], ["--open"]);
  const open2 = site.start("open2", ["open1", "member"], ["--open"]);
  const member = site.start("member", ["open1", "open2"]);
  await open1.waitForOutput(/OPEN mode/);
  await open2.waitForOutput(/OPEN mode/);
  await waitIdentical(site.dir("open1"), site.dir("open2"), {
    procs: site.procs,
    check: (s) => s.has("o.txt"),
  });
  await member.waitForOutput(/Refused a device that is not in this folder/);
  await open1.waitForOutput(/is not in this folder's group/);
  assertEquals(
    [...(await snapshot(site.dir("member"))).keys()].sort(),
    ["m.txt"],
  );
  assert(!(await snapshot(site.dir("open1"))).has("m.txt"));
  const invite = await site.run(["invite", "-d", site.dir("open1")]);
  assertEquals(invite.code, 2, invite.stderr);
  assert(/open folder has no group/.test(invite.stderr), invite.stderr);
});

Deno.test("groups: two groups on one network with the same folder names stay apart and stop dialing each other", async () => {
  const reason = await whyNoNetns();
  if (reason !== undefined) {
    console.log(`Skipping the two-groups mDNS test: ${reason}`);
    return;
  }
  await using lan = await Lan.create();
  const root = await Deno.makeTempDir({ prefix: "dsync-2groups-" });
  const env = isolatedEnv(root);
  const procs: DsyncProcess[] = [];
  const groups = [GroupSecret.generate(), GroupSecret.generate()];
  try {
    const hosts: LanHost[] = [];
    for (const name of ["red1", "red2", "blue1", "blue2"]) {
      hosts.push(await lan.addHost(name));
      // Same folder name ("shared") on every host.
      await Deno.mkdir(`${root}/${name}/shared`, { recursive: true });
      await Deno.writeTextFile(
        `${root}/${name}/shared/${name}.txt`,
        `${name}\n`,
      );
    }
    hosts.forEach((host, i) =>
      procs.push(
        new DsyncProcess(
          ["-d", `${root}/${host.name}/shared`, "-n", "shared", "-p", "22000"],
          { env, wrapper: host.wrapper, group: groups[i < 2 ? 0 : 1]! },
        ),
      )
    );
    const pair = (a: string, b: string) =>
      waitIdentical(`${root}/${a}/shared`, `${root}/${b}/shared`, {
        procs,
        timeoutMs: 45_000,
        check: (s) => s.has(`${a}.txt`) && s.has(`${b}.txt`),
      });
    await pair("red1", "red2");
    await pair("blue1", "blue2");
    // Watch for a while: nobody dials or connects across the groups.
    const since = Date.now();
    await waitFor(() => Date.now() - since > 30_000, "30 s", 40_000, 500);
    for (const [i, proc] of procs.entries()) {
      const name = hosts[i]!.name;
      const mine = [...(await snapshot(`${root}/${name}/shared`)).keys()];
      assertEquals(mine.length, 2, `${name}: ${mine.join(", ")}`);
      const own = i < 2 ? [0, 1] : [2, 3];
      const ips = own.map((k) => hosts[k]!.ip);
      const peers = [
        ...proc.output.matchAll(/Connected to peer \S+ at ([0-9.]+):/g),
      ].map((m) => m[1]!);
      assert(peers.length > 0, proc.output);
      assert(peers.every((ip) => ips.includes(ip)), proc.output);
      // Other groups are never dialed, so never refused either way.
      assertEquals(count(proc.output, /not in this folder's group/), 0);
      assertEquals(count(proc.output, /Dialing .* failed/), 0, proc.output);
    }
    for (const proc of procs) assertEquals(await proc.stop("SIGINT"), 0);
  } finally {
    await Promise.allSettled(procs.map((p) => p.stop("SIGKILL")));
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
