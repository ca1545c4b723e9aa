/**
 * User interface: logging setup and pure formatting of figures for humans.
 * @module
 */
export { setupLogging, teardownLogging } from "./logging.ts";
export {
  formatBytes,
  formatCount,
  formatDuration,
  formatRate,
} from "./format.ts";
