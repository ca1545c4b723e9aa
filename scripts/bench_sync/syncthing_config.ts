/**
 * Turns the config.xml that `syncthing generate` wrote into one for the
 * benchmark: a folder shared with the given peers at fixed addresses (on
 * loopback, or in the benchmark's namespaces), and everything that would
 * reach beyond them turned off
 * (discovery, relays, NAT, STUN, usage and crash reports, upgrades, GUI).
 * Starting from the generated file keeps this version's defaults for every
 * folder setting (e.g. the 10 s file-watcher delay).
 * @module
 */

/** A device the folder is shared with, and where it listens ("host:port"). */
export interface SyncthingPeer {
  id: string;
  address: string;
}

/** The benchmark's settings for one Syncthing instance. */
export interface SyncthingSetup {
  selfId: string;
  /** Where it listens, "host:port". */
  listen: string;
  peers: SyncthingPeer[];
  folderId: string;
  folderPath: string;
}

/** Options set in `<options>`: the loopback-only, no-phoning-home set. */
const OPTIONS: Record<string, string> = {
  globalAnnounceEnabled: "false",
  localAnnounceEnabled: "false",
  relaysEnabled: "false",
  natEnabled: "false",
  startBrowser: "false",
  urAccepted: "-1",
  crashReportingEnabled: "false",
  autoUpgradeIntervalH: "0",
  stunKeepaliveStartS: "0",
  announceLANAddresses: "false",
  // Default true: the benchmark compares at normal priority.
  setLowPriority: "false",
};

/** The first device ID in a generated config.xml (its own). */
export function deviceIdOf(xml: string): string {
  const id = xml.match(/<device id="([A-Z0-9-]{50,70})"/)?.[1];
  if (id === undefined) {
    throw new Error("Cannot find a device ID in Syncthing's config.xml");
  }
  return id;
}

function escapeXml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

function setOption(xml: string, tag: string, value: string): string {
  const element = `<${tag}>${escapeXml(value)}</${tag}>`;
  const pattern = new RegExp(`<${tag}>[^<]*</${tag}>|<${tag}\\s*/>`);
  if (pattern.test(xml)) return xml.replace(pattern, () => element);
  return xml.replace("</options>", () => `    ${element}\n    </options>`);
}

/** The benchmark's config.xml, made from the generated one. */
export function syncthingConfig(generated: string, s: SyncthingSetup): string {
  let xml = generated;
  const self = xml.match(
    new RegExp(`<device id="${s.selfId}"[^>]*>[\\s\\S]*?</device>`),
  )?.[0];
  if (self === undefined) {
    throw new Error(`Cannot find device ${s.selfId} in Syncthing's config.xml`);
  }
  const peers = s.peers.map((p, i) =>
    self.replace(`id="${s.selfId}"`, `id="${p.id}"`)
      .replace(/ name="[^"]*"/, ` name="peer${i + 1}"`)
      .replace(
        /<address>[^<]*<\/address>/,
        `<address>tcp://${escapeXml(p.address)}</address>`,
      )
  ).join("\n    ");
  const template = xml.match(
    /<defaults>\s*(<folder id=""[\s\S]*?<\/folder>)/,
  )?.[1];
  if (template === undefined) {
    throw new Error("Cannot find the default folder in Syncthing's config.xml");
  }
  const shares = [s.selfId, ...s.peers.map((p) => p.id)].map((id) =>
    `<device id="${id}" introducedBy=""><encryptionPassword></encryptionPassword></device>`
  ).join("\n            ");
  const folder = template
    .replace(/<device [^>]*>[\s\S]*?<\/device>\s*/g, "")
    .replace(/<device [^>]*\/>\s*/g, "")
    .replace(
      /^<folder id="" label="" path="[^"]*"/,
      `<folder id="${escapeXml(s.folderId)}" label="${
        escapeXml(s.folderId)
      }" path="${escapeXml(s.folderPath)}"`,
    )
    .replace(/^(<folder [^>]*>)/, `$1\n            ${shares}`);
  if (!folder.startsWith(`<folder id="${escapeXml(s.folderId)}"`)) {
    throw new Error(
      "Cannot adapt the default folder of Syncthing's config.xml",
    );
  }
  xml = xml.replace(self, () => `${folder}\n    ${self}\n    ${peers}`);
  for (const [tag, value] of Object.entries(OPTIONS)) {
    xml = setOption(xml, tag, value);
  }
  xml = setOption(xml, "listenAddress", `tcp://${s.listen}`);
  xml = xml.replace(/<gui enabled="true"/, '<gui enabled="false"');
  return xml;
}
