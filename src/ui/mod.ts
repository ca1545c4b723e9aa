/**
 * User interface: logging setup and pure formatting of figures for humans.
 * @module
 */
export { type LogOutput, setupLogging, teardownLogging } from "./logging.ts";
export {
  fitLeft,
  MAX_TRANSFER_LINES,
  renderBar,
  renderPeer,
  renderStatus,
  renderSummary,
  renderTransfer,
  SHOW_TRANSFER_AFTER_MS,
} from "./progress.ts";
export type { PeerView, StatusView, TransferView } from "./status_view.ts";
export { TtyStatus } from "./tty_status.ts";
export {
  formatBytes,
  formatCount,
  formatDuration,
  formatRate,
  plural,
} from "./format.ts";
export {
  describeScan,
  describeTotals,
  type ScanFigures,
  type TransferTotals,
} from "./summary_lines.ts";
export { showInvisible } from "./visible_text.ts";
