/**
 * A mistake in how dsync was invoked: bad flags, a bad config file, a folder
 * that does not exist, a permission Deno refused. The CLI prints its message
 * as one line and exits with code 2.
 */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}
