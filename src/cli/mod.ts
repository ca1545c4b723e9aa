/**
 * Command line: flags, help, `dsync.toml` loading and merging, exit codes.
 * @module
 */
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, runCli } from "./run_cli.ts";
export { parseFlags } from "./flags.ts";
export type { Flags } from "./flags.ts";
export { defaultConfigPath, loadConfig, parseConfig } from "./config_file.ts";
export type { FileConfig } from "./config_file.ts";
export { checkFolder, invocationDir, mergeSettings } from "./settings.ts";
export type { Settings } from "./settings.ts";
export {
  formatPeerAddress,
  parseGuiAddress,
  parsePeerAddress,
  parsePort,
} from "./peer_address.ts";
export type { PeerAddress } from "./peer_address.ts";
export { UsageError } from "./usage_error.ts";
export { helpText, VERSION } from "./help.ts";
export {
  describePermissionError,
  missingPermission,
  requiredPermissions,
} from "./permission_error.ts";
export type { PermissionNeeds } from "./permission_error.ts";
