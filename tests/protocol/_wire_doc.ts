/**
 * The message layouts of docs/PROTOCOL.md ("Message layouts"), read from the
 * page's markdown tables, and a decoder and encoder driven by them alone.
 * Nothing here imports src/protocol: what this code knows of the wire comes
 * from the document, so a test comparing it with the codec catches a page
 * and a codec that drifted apart.
 * @module
 */

/** A field encoding, as named in the page's "Encodings" list. */
export type Encoding =
  | { readonly kind: "bool" | "enum" | "flags" | "uvarint" | "zigzag" }
  | { readonly kind: "string" | "bytes" | "record" }
  | { readonly kind: "raw"; readonly length: number };

/** One row of a layout table. */
export interface FieldRow {
  /** As written: `sequence`, `version.replica`, `records`. */
  readonly name: string;
  readonly encoding: Encoding;
  /** The present cell verbatim: rows with the same loop text repeat together. */
  readonly present: string;
  /** Kinds the record must have, live; undefined: always present. */
  readonly liveKinds: readonly string[] | undefined;
  /** The count field a repeated row loops over. */
  readonly loopCount: string | undefined;
  readonly min: bigint | undefined;
  readonly max: bigint | undefined;
  /** `enum` values by byte, or `flags` names by bit. */
  readonly values: ReadonlyMap<number, string>;
}

/** One `####` table: a message (with its type byte) or the file record. */
export interface Layout {
  readonly title: string;
  /** The type byte; undefined for "File record". */
  readonly typeByte: number | undefined;
  readonly rows: readonly FieldRow[];
}

const ENCODINGS = new Set([
  "bool",
  "enum",
  "flags",
  "uvarint",
  "zigzag",
  "string",
  "bytes",
  "record",
]);

const NUMBER_MAX = (1n << 53n) - 1n;

/** `262144`, `2^63`, `2^53 − 1`, `−2^63` (the page writes U+2212 for minus). */
function parseNumber(text: string): bigint {
  const t = text.replaceAll("\u2212", "-").replaceAll(" ", "");
  const m = /^(-?)(?:(\d+)|2\^(\d+))(?:-(\d+))?$/.exec(t);
  if (m === null) throw new Error(`Cannot read number "${text}"`);
  let v = m[2] !== undefined ? BigInt(m[2]) : 1n << BigInt(m[3]!);
  if (m[1] === "-") v = -v;
  if (m[4] !== undefined) v -= BigInt(m[4]);
  return v;
}

function stripTicks(cell: string): string {
  return cell.replaceAll("`", "").trim();
}

function parseEncoding(cell: string): Encoding {
  const name = stripTicks(cell);
  const raw = /^raw (\d+)$/.exec(name);
  if (raw !== null) return { kind: "raw", length: Number(raw[1]) };
  if (!ENCODINGS.has(name)) throw new Error(`Unknown encoding "${name}"`);
  return { kind: name } as Encoding;
}

function parseRow(cells: ReadonlyMap<string, string>): FieldRow {
  const cell = (column: string): string => {
    const v = cells.get(column);
    if (v === undefined) throw new Error(`Table has no "${column}" column`);
    return v;
  };
  const encoding = parseEncoding(cell("encoding"));
  const present = cell("present").trim();
  let liveKinds: string[] | undefined;
  let loopCount: string | undefined;
  for (const part of present.split(", ")) {
    const live = /^live (.+)$/.exec(part);
    const loop = /^each of `(\w+)`$/.exec(part);
    if (part === "always") continue;
    if (live !== null) liveKinds = live[1]!.split(" or ");
    else if (loop !== null) loopCount = loop[1];
    else if (loopCount === undefined) {
      throw new Error(`Cannot read present "${present}"`);
    } // else a note on the loop ("after all lengths"), part of its text
  }
  const range = cell("range").trim();
  const values = new Map<number, string>();
  let min: bigint | undefined;
  let max: bigint | undefined;
  if (encoding.kind === "enum" || encoding.kind === "flags") {
    for (const m of range.matchAll(/(?:bit )?(\d+) = `(\w+)`/g)) {
      values.set(Number(m[1]), m[2]!);
    }
    if (values.size === 0) throw new Error(`No values in "${range}"`);
  } else if (encoding.kind !== "bool" && range !== "") {
    const parts = range.split(" … ");
    min = parseNumber(parts[0]!);
    max = parseNumber(parts[1] ?? parts[0]!);
  }
  return {
    name: stripTicks(cell("field")),
    encoding,
    present,
    liveKinds,
    loopCount,
    min,
    max,
    values,
  };
}

function splitRow(line: string): string[] {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map(
    (c) => c.trim(),
  );
}

/** Reads every layout table under "### Message layouts" of `markdown`. */
export function parseLayouts(markdown: string): Layout[] {
  const start = markdown.indexOf("\n### Message layouts\n");
  if (start < 0) throw new Error('No "Message layouts" section');
  const rest = markdown.slice(start + 1);
  const next = rest.indexOf("\n### ", 1);
  const section = next < 0 ? rest : rest.slice(0, next);
  const layouts: Layout[] = [];
  let title: string | undefined;
  let typeByte: number | undefined;
  let header: string[] | undefined;
  let rows: FieldRow[] = [];
  const flush = () => {
    if (title !== undefined && rows.length > 0) {
      layouts.push({ title, typeByte, rows });
    }
    rows = [];
    header = undefined;
  };
  for (const line of section.split("\n")) {
    const heading = /^#### (.+?)(?: — type `([0-9a-f]{2})`)?$/.exec(line);
    if (heading !== null) {
      flush();
      title = heading[1]!;
      typeByte = heading[2] === undefined
        ? undefined
        : parseInt(heading[2], 16);
      continue;
    }
    if (title === undefined || !line.startsWith("|")) continue;
    const cells = splitRow(line);
    if (header === undefined) {
      header = cells.map((c) => c.toLowerCase());
      continue;
    }
    if (cells.every((c) => /^-+$/.test(c))) continue;
    const byColumn = new Map<string, string>();
    header.forEach((h, i) => byColumn.set(h, cells[i] ?? ""));
    rows.push(parseRow(byColumn));
  }
  flush();
  return layouts;
}

/** `IndexBatch` → `index_batch`: a layout's title as a message `type`. */
export function typeTagOf(title: string): string {
  return title.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** Whether a row applies to `obj` (its `kind` and `deleted` read already). */
function applies(row: FieldRow, obj: Obj): boolean {
  if (row.liveKinds === undefined) return true;
  return obj.deleted === false && row.liveKinds.includes(obj.kind);
}

/** Rows in groups: a single row, or consecutive rows of one loop. */
function groups(rows: readonly FieldRow[]): FieldRow[][] {
  const out: FieldRow[][] = [];
  for (const row of rows) {
    const last = out.at(-1);
    if (
      row.loopCount !== undefined && last !== undefined &&
      last[0]!.present === row.present
    ) {
      last.push(row);
    } else out.push([row]);
  }
  return out;
}

/** `version.replica` → ["version", "replica"]; `records` → ["records", undefined]. */
function splitName(name: string): [string, string | undefined] {
  const dot = name.indexOf(".");
  return dot < 0
    ? [name, undefined]
    : [name.slice(0, dot), name.slice(dot + 1)];
}

/** The layouts by title and by type byte, for the doc codec. */
export class WireDoc {
  readonly layouts: readonly Layout[];
  readonly #byTitle = new Map<string, Layout>();

  constructor(layouts: readonly Layout[]) {
    this.layouts = layouts;
    for (const l of layouts) this.#byTitle.set(l.title, l);
  }

  layout(title: string): Layout {
    const l = this.#byTitle.get(title);
    if (l === undefined) throw new Error(`No layout "${title}"`);
    return l;
  }

  /** The message layouts (those with a type byte). */
  messages(): Layout[] {
    return this.layouts.filter((l) => l.typeByte !== undefined);
  }

  /** Decodes one message per the page; throws on anything the page refuses. */
  decode(bytes: Uint8Array): Obj {
    const r = new DocReader(bytes);
    const code = r.byte("type");
    const layout = this.messages().find((l) => l.typeByte === code);
    if (layout === undefined) throw new Error(`Unknown type byte ${code}`);
    const msg: Obj = { type: typeTagOf(layout.title) };
    this.#decodeInto(layout, r, msg);
    if (r.remaining !== 0) throw new Error(`${r.remaining} trailing bytes`);
    return msg;
  }

  /** Encodes a message object per the page (it checks encodings, not rules). */
  encode(msg: Obj): Uint8Array {
    const layout = this.messages().find((l) => typeTagOf(l.title) === msg.type);
    if (layout === undefined) throw new Error(`No layout for ${msg.type}`);
    const w: number[] = [layout.typeByte!];
    this.#encodeFrom(layout, msg, w);
    return new Uint8Array(w);
  }

  #decodeInto(layout: Layout, r: DocReader, obj: Obj): void {
    const counts = new Map<string, number>();
    for (const group of groups(layout.rows)) {
      const first = group[0]!;
      if (!applies(first, obj)) continue;
      if (first.loopCount === undefined) {
        const v = this.#decodeValue(first, r, obj);
        if (first.name.endsWith("Count")) counts.set(first.name, Number(v));
        else if (first.encoding.kind !== "flags") obj[first.name] = v;
        continue;
      }
      const n = counts.get(first.loopCount);
      if (n === undefined) throw new Error(`No ${first.loopCount} before`);
      for (const row of group) {
        const [list] = splitName(row.name);
        obj[list] ??= Array.from({ length: n }, () => ({}));
      }
      for (let i = 0; i < n; i++) {
        for (const row of group) {
          const [list, key] = splitName(row.name);
          const v = this.#decodeValue(row, r, obj);
          if (key === undefined) obj[list][i] = v;
          else obj[list][i][key] = v;
        }
      }
    }
  }

  #decodeValue(row: FieldRow, r: DocReader, obj: Obj): unknown {
    const what = row.name;
    const e = row.encoding;
    switch (e.kind) {
      case "bool": {
        const b = r.byte(what);
        if (b > 1) throw new Error(`${what}: bool byte ${b}`);
        return b === 1;
      }
      case "enum": {
        const b = r.byte(what);
        const v = row.values.get(b);
        if (v === undefined) throw new Error(`${what}: enum byte ${b}`);
        return v;
      }
      case "flags": {
        let b = r.byte(what);
        for (const [bit, name] of row.values) {
          obj[name] = (b & (1 << bit)) !== 0;
          b &= ~(1 << bit);
        }
        if (b !== 0) throw new Error(`${what}: unknown flag bits ${b}`);
        return undefined;
      }
      case "uvarint": {
        const v = r.uvarint(what, maxBytesOf(row));
        inRange(row, v);
        return row.max !== undefined && row.max <= NUMBER_MAX ? Number(v) : v;
      }
      case "zigzag": {
        const u = r.uvarint(what, 10);
        const v = (u & 1n) === 0n ? u >> 1n : -(u >> 1n) - 1n;
        inRange(row, v);
        return v;
      }
      case "string":
      case "bytes": {
        const n = r.uvarint(`${what} length`, 8);
        inRange(row, n);
        const raw = r.take(what, Number(n));
        if (e.kind === "bytes") return raw;
        return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
          .decode(raw);
      }
      case "raw":
        return r.take(what, e.length);
      case "record": {
        const record: Obj = {};
        this.#decodeInto(this.layout("File record"), r, record);
        return record;
      }
    }
  }

  #encodeFrom(layout: Layout, obj: Obj, w: number[]): void {
    for (const group of groups(layout.rows)) {
      const first = group[0]!;
      if (!applies(first, obj)) continue;
      if (first.loopCount === undefined) {
        this.#encodeValue(first, countOrValue(layout, first, obj), obj, w);
        continue;
      }
      const [firstList] = splitName(first.name);
      const n = (obj[firstList] as unknown[]).length;
      for (let i = 0; i < n; i++) {
        for (const row of group) {
          const [list, key] = splitName(row.name);
          const item = obj[list][i];
          this.#encodeValue(row, key === undefined ? item : item[key], obj, w);
        }
      }
    }
  }

  #encodeValue(row: FieldRow, v: unknown, obj: Obj, w: number[]): void {
    const e = row.encoding;
    switch (e.kind) {
      case "bool":
        w.push(v ? 1 : 0);
        return;
      case "enum": {
        const entry = [...row.values].find(([, name]) => name === v);
        if (entry === undefined) throw new Error(`${row.name}: no ${v}`);
        w.push(entry[0]);
        return;
      }
      case "flags": {
        let b = 0;
        for (const [bit, name] of row.values) if (obj[name]) b |= 1 << bit;
        w.push(b);
        return;
      }
      case "uvarint":
        putUvarint(w, BigInt(v as number | bigint));
        return;
      case "zigzag": {
        const n = v as bigint;
        putUvarint(w, n < 0n ? (-n << 1n) - 1n : n << 1n);
        return;
      }
      case "string":
      case "bytes": {
        const bytes = e.kind === "bytes"
          ? v as Uint8Array
          : new TextEncoder().encode(v as string);
        putUvarint(w, BigInt(bytes.length));
        w.push(...bytes);
        return;
      }
      case "raw": {
        const bytes = v as Uint8Array;
        if (bytes.length !== e.length) {
          throw new Error(
            `${row.name}: ${bytes.length} bytes, not ${e.length}`,
          );
        }
        w.push(...bytes);
        return;
      }
      case "record":
        this.#encodeFrom(this.layout("File record"), v as Obj, w);
        return;
    }
  }
}

/** A count field's value is the length of the list its loop fills. */
function countOrValue(layout: Layout, row: FieldRow, obj: Obj): unknown {
  if (!row.name.endsWith("Count")) return obj[row.name];
  const user = layout.rows.find((r) => r.loopCount === row.name);
  if (user === undefined) throw new Error(`Nothing loops over ${row.name}`);
  return (obj[splitName(user.name)[0]] as unknown[] | undefined)?.length ?? 0;
}

/** The page: 8 bytes for fields up to 2^53 − 1, 10 for 64-bit ones. */
function maxBytesOf(row: FieldRow): number {
  return row.max !== undefined && row.max <= NUMBER_MAX ? 8 : 10;
}

function inRange(row: FieldRow, v: bigint): void {
  if (row.min !== undefined && v < row.min) {
    throw new Error(`${row.name}: ${v} below ${row.min}`);
  }
  if (row.max !== undefined && v > row.max) {
    throw new Error(`${row.name}: ${v} above ${row.max}`);
  }
}

function putUvarint(w: number[], v: bigint): void {
  for (;;) {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    if (v === 0n) {
      w.push(low);
      return;
    }
    w.push(low | 0x80);
  }
}

/** A cursor that refuses what the page's "Encodings" list refuses. */
class DocReader {
  readonly #bytes: Uint8Array;
  #pos = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get remaining(): number {
    return this.#bytes.length - this.#pos;
  }

  byte(what: string): number {
    const b = this.#bytes[this.#pos];
    if (b === undefined) throw new Error(`Truncated in ${what}`);
    this.#pos++;
    return b;
  }

  take(what: string, n: number): Uint8Array {
    if (n > this.remaining) throw new Error(`Truncated in ${what}`);
    const out = this.#bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  uvarint(what: string, maxBytes: number): bigint {
    let v = 0n;
    for (let i = 0;; i++) {
      if (i === maxBytes) throw new Error(`${what}: varint too long`);
      const b = this.byte(what);
      if (maxBytes === 10 && i === 9 && b > 1) {
        throw new Error(`${what}: varint above 64 bits`);
      }
      v |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) {
        if (i > 0 && b === 0) throw new Error(`${what}: non-canonical varint`);
        return v;
      }
    }
  }
}
