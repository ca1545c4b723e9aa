import { renderStatus } from "./progress.ts";
import type { StatusView } from "./status_view.ts";
import { showInvisible } from "./visible_text.ts";

const encoder = new TextEncoder();
const CLEAR_LINE = "\x1b[2K";
const UP = (n: number) => `\x1b[${n}A`;

/**
 * Keeps a block of status lines at the bottom of a terminal, redrawn in
 * place. Log output must go through `interrupt()` so it lands above the block.
 */
export class TtyStatus {
  readonly #out: { writeSync(p: Uint8Array): number };
  readonly #columns: () => number;
  #drawn = 0;

  constructor(
    out: { writeSync(p: Uint8Array): number } = Deno.stderr,
    columns: () => number = () => {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return 80;
      }
    },
  ) {
    this.#out = out;
    this.#columns = columns;
  }

  /** Redraws the block for `view`. */
  draw(view: StatusView, now: number): void {
    const lines = renderStatus(
      shownView(view),
      now,
      Math.max(20, this.#columns() - 1),
    );
    let text = this.#erase();
    for (const line of lines) text += `${CLEAR_LINE}${line}\n`;
    this.#drawn = lines.length;
    this.#write(text);
  }

  /** Writes `text` (whole lines) above the status block. */
  interrupt(text: string): void {
    const erase = this.#erase();
    this.#drawn = 0;
    this.#write(erase + text);
  }

  /** Removes the block (at exit). */
  clear(): void {
    this.#write(this.#erase());
    this.#drawn = 0;
  }

  #erase(): string {
    if (this.#drawn === 0) return "";
    return `${UP(this.#drawn)}${`${CLEAR_LINE}\n`.repeat(this.#drawn)}${
      UP(this.#drawn)
    }`;
  }

  #write(text: string): void {
    if (text !== "") this.#out.writeSync(encoder.encode(text));
  }
}

/** `view` with peer names and paths safe to show (before widths are fitted). */
function shownView(view: StatusView): StatusView {
  return {
    ...view,
    peers: view.peers.map((p) => ({ ...p, name: showInvisible(p.name) })),
    transfers: view.transfers.map((t) => ({
      ...t,
      path: showInvisible(t.path),
    })),
  };
}
