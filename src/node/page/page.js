// The status page: one EventSource, a `status` event carrying the whole
// document each time it changes. Every name comes from the folder and is
// set as text, never as HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const units = ["B", "KB", "MB", "GB", "TB"];
  const bytes = (n) => {
    let i = 0;
    while (n >= 1000 && i < units.length - 1) {
      n /= 1000;
      i++;
    }
    return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
  };
  const rate = (n) => `${bytes(Math.round(n))}/s`;
  const duration = (s) => {
    if (s < 60) return `${Math.round(s)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  };
  const time = (ms) => new Date(ms).toLocaleTimeString();
  const el = (tag, text, attrs) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, v);
    return node;
  };
  const cell = (row, label, content, cls) => {
    const td = el("td", undefined, { "data-label": label });
    if (cls) td.className = cls;
    if (content instanceof Node) td.append(content);
    else td.textContent = content;
    row.append(td);
  };
  // Rows stay the same nodes while they show the same thing: the page
  // refreshes on every status event (rates change each second), and a
  // click whose press and release land on two versions of a button is
  // lost. A row of the same device or path keeps every cell that did not
  // change (its buttons among them); only changed cells are replaced.
  const keyOf = (node) =>
    node.getAttribute("data-fingerprint") ?? node.getAttribute("data-path");
  const patch = (old, item) => {
    const cells = [...item.children];
    if (
      keyOf(old) === null || old.children.length !== cells.length ||
      !old.cloneNode(false).isEqualNode(item.cloneNode(false))
    ) {
      old.replaceWith(item);
      return;
    }
    cells.forEach((cell, j) => {
      const now = old.children[j];
      if (!now.isEqualNode(cell)) now.replaceWith(cell);
    });
  };
  const fill = (list, items) => {
    items.forEach((item, i) => {
      const old = list.children[i];
      if (old === undefined) list.append(item);
      else if (!old.isEqualNode(item)) patch(old, item);
    });
    while (list.children.length > items.length) list.lastElementChild.remove();
  };

  const peerState = (p) => {
    if (!p.connected) return "disconnected";
    if (!p.indexReceived) return "receiving its index";
    if (!p.indexSent) return "sending our index";
    if (!p.confirmed) return "pulling from us";
    return "in sync";
  };

  // Buttons call the same API as the commands; the cookie carries the token.
  const say = (text) => {
    $("outcome").textContent = text;
  };
  async function call(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const reply = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(reply.error ?? `HTTP ${response.status}`);
    return reply;
  }
  const act = (button, work) => {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await work();
      } catch (err) {
        say(`${button.textContent} failed: ${err.message}`);
      } finally {
        button.disabled = false;
      }
    });
  };

  let paused = false;
  act($("pause"), async () => {
    await call("POST", paused ? "/api/resume" : "/api/pause", {});
    say(paused ? "Resumed." : "Paused: nothing is sent or received.");
  });
  act($("invite"), async () => {
    const { code, expiresAt } = await call("POST", "/api/invite", {});
    const box = $("invite-code");
    box.textContent = code;
    box.hidden = false;
    say(
      `Type this code on the new device (dsync -d FOLDER --join ${code}); ` +
        `it works until ${time(expiresAt)}.`,
    );
  });

  async function loadVersions() {
    const { versions, total } = await call("GET", "/api/versions");
    $("no-versions").hidden = versions.length > 0;
    fill(
      $("versions").tBodies[0],
      versions.map((v) => {
        const row = el("tr", undefined, { "data-path": v.path });
        cell(row, "Path", v.path, "path");
        cell(row, "Kept at", new Date(v.at).toLocaleString());
        cell(row, "Size", bytes(v.size));
        const button = el("button", "Restore", {
          type: "button",
          "aria-label": `Restore ${v.path} as kept at ${
            new Date(v.at).toLocaleString()
          }`,
        });
        act(button, async () => {
          await call("POST", "/api/restore", { path: v.path, at: v.at });
          say(`Restored ${v.path}; the devices get it now.`);
          await loadVersions();
        });
        cell(row, "Restore", button);
        return row;
      }),
    );
    if (total > versions.length) {
      say(`Showing the newest ${versions.length} of ${total} versions.`);
    }
  }
  let versionsFor = -1;
  const refreshVersions = (doc) => {
    // Versions come from peers' changes: look again when those change.
    const stamp = doc.recent.length === 0
      ? 0
      : doc.recent[doc.recent.length - 1].time;
    if (stamp === versionsFor) return;
    versionsFor = stamp;
    loadVersions().catch((err) => say(`Versions: ${err.message}`));
  };

  function render(doc) {
    const f = doc.folder;
    paused = f.state === "paused";
    $("pause").textContent = paused ? "Resume" : "Pause";
    $("invite").hidden = doc.group === "open";
    refreshVersions(doc);
    const connected = doc.peers.filter((p) => p.connected).length;
    $("device").textContent = doc.device.name;
    $("folder-path").textContent = f.path;
    const state = $("state");
    state.className = "state" + (f.state === "in sync" ? " in-sync" : "");
    state.textContent = f.state === "in sync"
      ? `In sync with ${connected} ${connected === 1 ? "device" : "devices"}` +
        (doc.notSynced.files.length > 0
          ? `; ${doc.notSynced.files.length} files cannot be synced`
          : "")
      : f.state === "no peers"
      ? "No device connected"
      : f.state === "scanning"
      ? "Scanning the folder"
      : f.state === "paused"
      ? "Paused (dsync resume starts it again)"
      : "Syncing";
    document.title = `dsync: ${f.state}`;
    fill($("waiting"), f.waiting.map((w) => el("li", w)));
    $("f-path").textContent = f.path;
    $("f-files").textContent = f.files.toLocaleString();
    $("f-size").textContent = bytes(f.bytes);
    $("f-mode").textContent = f.mode === "send-only"
      ? `send only (${f.differing} files differ from the group)`
      : f.mode === "receive-only"
      ? `receive only (${f.localChanges} local changes kept here)`
      : "send and receive";
    $("f-state").textContent = f.state;
    $("f-group").textContent = doc.group;
    $("f-device").textContent =
      `${doc.device.name} (${doc.device.fingerprint})`;

    const rows = doc.peers.map((p) => {
      const row = el("tr", undefined, { "data-fingerprint": p.fingerprint });
      const who = el("span");
      who.append(
        el("strong", p.name ?? "(no name)"),
        " ",
        el("code", p.fingerprint),
      );
      cell(row, "Device", who);
      const badge = el("span", peerState(p), {
        class: "badge " + (p.connected ? "ok" : "off"),
      });
      const since = p.connected
        ? ` since ${time(p.connectedSince)}`
        : p.disconnectedAt
        ? ` at ${time(p.disconnectedAt)}`
        : "";
      const st = el("span");
      st.append(badge, since);
      cell(row, "State", st);
      if (p.holds) {
        const box = el("span");
        const h = p.holds;
        const figure = `${h.percent}% (${
          bytes(h.bytes)
        }, ${h.files.toLocaleString()} files)`;
        // Until the peer confirms, its figure is only a lower bound: no
        // bar that looks like progress, but what is known.
        const exact = h.known === "confirmed";
        box.append(
          el("progress", undefined, {
            max: "100",
            ...(exact ? { value: String(h.percent) } : {}),
            "aria-label": `${p.name} holds`,
          }),
          exact
            ? figure
            : h.known === "confirming"
            ? `confirming; at least ${figure}`
            : `${figure} when last connected`,
        );
        cell(row, "Holds", box);
      } else cell(row, "Holds", "unknown");
      cell(row, "Rates", `${rate(p.rateIn)} / ${rate(p.rateOut)}`);
      cell(row, "Address", p.address ?? "");
      if (doc.group !== "open") {
        const remove = el("button", "Remove", {
          type: "button",
          "aria-label": `Remove ${p.name ?? p.fingerprint} from the group`,
        });
        act(remove, async () => {
          const who = p.name ?? p.fingerprint;
          if (!confirm(`Remove ${who} from the group? It gets no more data.`)) {
            return;
          }
          await call("POST", "/api/remove", { fingerprint: p.fingerprint });
          say(`Removed ${who}; the others got a new group key.`);
        });
        cell(row, "Remove", remove);
      } else cell(row, "Remove", "");
      return row;
    });
    fill($("peers").tBodies[0], rows);
    $("no-peers").hidden = rows.length > 0;

    const r = doc.remaining;
    $("remaining").textContent = doc.transfers.length === 0
      ? "Nothing is being transferred."
      : `${bytes(r.bytes)} to go` +
        (r.etaSeconds === null ? "" : `, about ${duration(r.etaSeconds)} left`);
    fill(
      $("transfers"),
      doc.transfers.map((t) => {
        const li = el("li", undefined, { "data-path": t.path });
        const pct = t.total > 0 ? Math.floor((100 * t.done) / t.total) : 100;
        li.append(
          el(
            "div",
            `${t.path}: ${bytes(t.done)} of ${bytes(t.total)} (${pct}%)`,
          ),
          el("progress", undefined, {
            max: String(Math.max(1, t.total)),
            value: String(t.done),
            "aria-label": t.path,
          }),
        );
        return li;
      }),
    );

    const ns = doc.notSynced;
    const reasons = Object.entries(ns.counts).filter(([, n]) => n > 0);
    $("notsynced-counts").textContent = reasons.length === 0
      ? "Every file is synced."
      : reasons.map(([why, n]) => `${n} ${why}`).join(", ");
    const why = (x) =>
      x.reason === "name not allowed on peer"
        ? `its name is not allowed on ${x.peer}`
        : x.reason === "name not allowed here"
        ? `from ${x.peer}; its name is not allowed here`
        : x.reason;
    fill(
      $("notsynced"),
      ns.files.map((x) => el("li", `${x.path} (${why(x)})`)),
    );

    $("no-conflicts").hidden = doc.conflicts.length > 0;
    fill(
      $("conflicts"),
      doc.conflicts.map((c) => {
        const li = el("li");
        const link = (p) => el("a", p, { href: `file://${f.path}/${p}` });
        li.append(link(c.path), " is the losing copy of ", link(c.original));
        return li;
      }),
    );

    $("no-recent").hidden = doc.recent.length > 0;
    fill(
      $("recent").tBodies[0],
      doc.recent.slice().reverse().map((c) => {
        const row = el("tr");
        cell(row, "Time", time(c.time));
        cell(row, "Device", c.device);
        cell(row, "Change", c.kind === "dir" ? `${c.action} folder` : c.action);
        cell(row, "Path", c.path, "path");
        cell(
          row,
          "Size",
          c.action === "deleted" || c.kind === "dir" ? "" : bytes(c.size),
        );
        return row;
      }),
    );
  }

  const events = new EventSource("/api/events");
  events.addEventListener("status", (e) => {
    $("link").hidden = true;
    render(JSON.parse(e.data));
  });
  events.addEventListener("error", () => {
    $("link").hidden = false;
  });
})();
