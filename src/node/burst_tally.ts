/**
 * One burst of changes as its log lines need it: per device a count, the
 * bytes, the deletes, and only the first few changes kept whole. The feed
 * kept every change of a burst until it was over, and a burst lasts as
 * long as changes keep coming: 100,000 `Change` objects held through the
 * initial sync of a large folder, on both sides (issue #21, large
 * folders). Pure.
 * @module
 */
import { formatBytes, formatCount, formatDuration } from "../ui/mod.ts";
import type { Change } from "./change.ts";

/** Bursts up to this many changes per device are logged change by change. */
export const DETAILED_BURST = 10;

interface DeviceBurst {
  count: number;
  bytes: number;
  deleted: number;
  /** The first changes, while there are at most DETAILED_BURST of them. */
  first: Change[];
}

/** The changes of one burst, by device; see the module comment. */
export class BurstTally {
  readonly #byDevice = new Map<string, DeviceBurst>();
  #count = 0;

  /** Changes counted. */
  get size(): number {
    return this.#count;
  }

  /** Changes kept whole (at most DETAILED_BURST + 1 per device). */
  get kept(): number {
    let n = 0;
    for (const burst of this.#byDevice.values()) n += burst.first.length;
    return n;
  }

  /** Counts `change` for its device. */
  add(change: Change): void {
    let burst = this.#byDevice.get(change.device);
    if (burst === undefined) {
      burst = { count: 0, bytes: 0, deleted: 0, first: [] };
      this.#byDevice.set(change.device, burst);
    }
    burst.count++;
    burst.bytes += change.size;
    if (change.action === "deleted") burst.deleted++;
    if (burst.first.length <= DETAILED_BURST) burst.first.push(change);
    this.#count++;
  }

  /**
   * Counts `change`, added before, as `theirs` (the same change of
   * another device) instead.
   */
  replace(change: Change, theirs: Change): void {
    const burst = this.#byDevice.get(change.device);
    if (burst === undefined) return;
    burst.count--;
    burst.bytes -= change.size;
    if (change.action === "deleted") burst.deleted--;
    const at = burst.first.indexOf(change);
    if (at >= 0) burst.first.splice(at, 1);
    if (burst.count === 0) this.#byDevice.delete(change.device);
    this.#count--;
    this.add(theirs);
  }

  /**
   * The log lines of the burst: per device, one line a change when there
   * are few ("beta: updated notes/plan.md (12 KB)"), one summary line when
   * there are many ("beta: 533 changes received, 210 MB, 4.1 s").
   */
  lines(durationMs: number): string[] {
    const lines: string[] = [];
    for (const [device, burst] of this.#byDevice) {
      if (burst.count <= DETAILED_BURST) {
        for (const c of burst.first) {
          const what = c.kind === "dir" ? "folder " : "";
          const size = c.kind === "file" && c.action !== "deleted"
            ? ` (${formatBytes(c.size)})`
            : "";
          lines.push(`${device}: ${c.action} ${what}${c.path}${size}`);
        }
        continue;
      }
      const verb = device === "here" ? "changed" : "received";
      const gone = burst.deleted > 0
        ? ` (${formatCount(burst.deleted)} deleted)`
        : "";
      lines.push(
        `${device}: ${formatCount(burst.count)} changes ${verb}${gone}, ${
          formatBytes(burst.bytes)
        }, ${formatDuration(durationMs)}`,
      );
    }
    return lines;
  }
}
