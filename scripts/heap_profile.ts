/**
 * Where a running dsync's memory goes, over the V8 inspector: start the
 * process with `--inspect=127.0.0.1:9229` (e.g. `deno run --inspect=... -A
 * main.ts -d DIR`), then
 *
 *   deno run -A scripts/heap_profile.ts sample [--port 9229] [--seconds 10] [--top 35]
 *   deno run -A scripts/heap_profile.ts snapshot [--port 9229] [--out FILE] [--top 40]
 *   deno run -A scripts/heap_profile.ts snapshot --file FILE [--top 40]
 *
 * `sample` records what is allocated for `--seconds`, objects collected
 * since included (V8's sampling heap profiler), and prints the bytes by
 * allocating function, then by function with its callees. `snapshot` takes
 * a heap snapshot (after a full collection: what is live) or reads one, and
 * prints the live bytes by constructor, then the largest owners of big
 * arrays, off-heap buffers and short path-like strings as retainer chains (three
 * hops up the first retainer of each). A CPU profile is read with
 * `scripts/cpu_prof_summary.ts`.
 * @module
 */
import { parseArgs } from "node:util";

/** One node of a sampling heap profile (`HeapProfiler.stopSampling`). */
export interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/** Bytes allocated per function: by itself, and with what it called. */
export interface AllocationSummary {
  totalBytes: number;
  self: [string, number][];
  inclusive: [string, number][];
}

function frameName(cf: SamplingNode["callFrame"]): string {
  const file = cf.url.replace(/^.*\/(src|scripts|tests)\//, "$1/");
  return `${cf.functionName || "(anonymous)"} ${file}:${cf.lineNumber + 1}`;
}

/** Sums a sampling profile by function; each list is largest first, `top` long. */
export function summarizeSampling(
  head: SamplingNode,
  top: number,
): AllocationSummary {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalBytes = 0;
  const walk = (node: SamplingNode, onStack: Set<string>): number => {
    const name = frameName(node.callFrame);
    totalBytes += node.selfSize;
    self.set(name, (self.get(name) ?? 0) + node.selfSize);
    const first = !onStack.has(name);
    if (first) onStack.add(name);
    let sub = node.selfSize;
    for (const child of node.children) sub += walk(child, onStack);
    if (first) {
      onStack.delete(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + sub);
    }
    return sub;
  };
  walk(head, new Set());
  const largest = (m: Map<string, number>) =>
    [...m].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).slice(0, top);
  return { totalBytes, self: largest(self), inclusive: largest(inclusive) };
}

/** The parts of a `.heapsnapshot` this script reads. */
export interface HeapSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Live bytes by constructor and the owners of the largest holdings. */
export interface SnapshotSummary {
  totalBytes: number;
  byConstructor: { name: string; count: number; bytes: number }[];
  owners: { chain: string; count: number; bytes: number }[];
}

/** Big arrays and off-heap buffers from this size count as holdings. */
const BIG_BYTES = 16 * 1024;

/**
 * Sums a heap snapshot by constructor (objects and closures by name, other
 * node types by type) and groups holdings (arrays and native buffers of
 * {@linkcode BIG_BYTES} or more, strings that look like relative paths) by
 * the chain of their first three retainers.
 */
export function summarizeSnapshot(
  s: HeapSnapshot,
  top: number,
): SnapshotSummary {
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const nodeTypes = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const [iType, iName, iSize, iEdges] = [
    "type",
    "name",
    "self_size",
    "edge_count",
  ]
    .map((f) => nf.indexOf(f)) as [number, number, number, number];
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"]
    .map((f) => ef.indexOf(f)) as [number, number, number];
  const count = s.nodes.length / nf.length;
  const typeOf = (n: number) => nodeTypes[s.nodes[n * nf.length + iType]!]!;
  const nameOf = (n: number) => s.strings[s.nodes[n * nf.length + iName]!]!;
  const sizeOf = (n: number) => s.nodes[n * nf.length + iSize]!;

  const retainer = new Int32Array(count).fill(-1);
  const via: string[] = new Array(count);
  let e = 0;
  for (let n = 0; n < count; n++) {
    const edges = s.nodes[n * nf.length + iEdges]!;
    for (let k = 0; k < edges; k++, e += ef.length) {
      const type = edgeTypes[s.edges[e + eType]!];
      if (type === "weak") continue;
      const to = s.edges[e + eTo]! / nf.length;
      if (retainer[to] !== -1) continue;
      retainer[to] = n;
      via[to] = type === "element" || type === "hidden"
        ? "[]"
        : String(s.strings[s.edges[e + eName]!]);
    }
  }
  const label = (n: number) => {
    const type = typeOf(n);
    return type === "object" || type === "closure"
      ? `${nameOf(n).slice(0, 40)}`
      : `(${type})`;
  };
  const chainOf = (n: number) => {
    const parts: string[] = [];
    for (let cur = n, hop = 0; hop < 3 && retainer[cur]! >= 0; hop++) {
      parts.push(`.${via[cur]} of ${label(retainer[cur]!)}`);
      cur = retainer[cur]!;
    }
    return parts.join(" ");
  };

  const constructors = new Map<string, { count: number; bytes: number }>();
  const owners = new Map<string, { count: number; bytes: number }>();
  let totalBytes = 0;
  const add = (
    m: Map<string, { count: number; bytes: number }>,
    key: string,
    bytes: number,
  ) => {
    const entry = m.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += bytes;
    m.set(key, entry);
  };
  for (let n = 0; n < count; n++) {
    const type = typeOf(n);
    const bytes = sizeOf(n);
    totalBytes += bytes;
    add(constructors, label(n), bytes);
    const holding = type === "string"
      ? bytes < 4096 && /^[^/\s]+(\/[^/\s]+)+$/.test(nameOf(n))
        ? "path string"
        : undefined
      : (type === "array" || type === "native") && bytes >= BIG_BYTES
      ? `(${type}) ${bytes >= 1 << 20 ? ">= 1 MiB" : ">= 16 KiB"}`
      : undefined;
    if (holding !== undefined) add(owners, `${holding} ${chainOf(n)}`, bytes);
  }
  const largest = (m: Map<string, { count: number; bytes: number }>) =>
    [...m].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top);
  return {
    totalBytes,
    byConstructor: largest(constructors).map(([name, v]) => ({ name, ...v })),
    owners: largest(owners).map(([chain, v]) => ({ chain, ...v })),
  };
}

/** A connection to the first target of an inspector on `port`. */
async function inspector(port: number) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`))
    .json() as { webSocketDebuggerUrl: string }[];
  const url = list[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error(`No inspector target on port ${port}`);
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`Cannot connect to ${url}`));
  });
  let id = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  const events = new Map<string, (params: unknown) => void>();
  ws.onmessage = (event) => {
    const m = JSON.parse(event.data);
    if (m.id !== undefined) waiting.get(m.id)?.(m.result);
    else events.get(m.method)?.(m.params);
  };
  return {
    call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      return new Promise((resolve) => {
        const n = ++id;
        waiting.set(n, (r) => resolve(r as T));
        ws.send(JSON.stringify({ id: n, method, params }));
      });
    },
    on(method: string, handle: (params: unknown) => void): void {
      events.set(method, handle);
    },
    close: () => ws.close(),
  };
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1).padStart(8) + " MB";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      port: { type: "string", default: "9229" },
      seconds: { type: "string", default: "10" },
      top: { type: "string" },
      out: { type: "string" },
      file: { type: "string" },
    },
  });
  const mode = positionals[0];
  if (mode !== "sample" && mode !== "snapshot") {
    console.error(
      "Usage: heap_profile.ts sample|snapshot [--port 9229] [--seconds 10] [--out FILE | --file FILE] [--top N]",
    );
    Deno.exit(2);
  }
  const port = Number(values.port);
  if (mode === "sample") {
    const top = Number(values.top ?? 35);
    const c = await inspector(port);
    await c.call("HeapProfiler.enable");
    await c.call("HeapProfiler.startSampling", {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
    const { profile } = await c.call<{ profile: { head: SamplingNode } }>(
      "HeapProfiler.stopSampling",
    );
    c.close();
    const summary = summarizeSampling(profile.head, top);
    console.log(`${mb(summary.totalBytes)} allocated (sampled)`);
    console.log("\nby allocating function:");
    for (const [name, bytes] of summary.self) console.log(mb(bytes), name);
    console.log("\nby function, with its callees:");
    for (const [name, bytes] of summary.inclusive) console.log(mb(bytes), name);
    return;
  }
  const top = Number(values.top ?? 40);
  let text: string;
  if (values.file !== undefined) text = await Deno.readTextFile(values.file);
  else {
    const c = await inspector(port);
    const chunks: string[] = [];
    c.on("HeapProfiler.addHeapSnapshotChunk", (p) => {
      chunks.push((p as { chunk: string }).chunk);
    });
    await c.call("HeapProfiler.enable");
    await c.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    c.close();
    text = chunks.join("");
    if (values.out !== undefined) await Deno.writeTextFile(values.out, text);
  }
  const summary = summarizeSnapshot(JSON.parse(text) as HeapSnapshot, top);
  console.log(`${mb(summary.totalBytes)} live`);
  console.log("\nby constructor (count):");
  for (const c of summary.byConstructor) {
    console.log(mb(c.bytes), String(c.count).padStart(9), c.name);
  }
  console.log("\nlargest holdings, by first retainers (count):");
  for (const o of summary.owners) {
    console.log(mb(o.bytes), String(o.count).padStart(9), o.chain);
  }
}

if (import.meta.main) await main();
