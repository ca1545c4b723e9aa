/**
 * Why work in progress in the puller was abandoned: it is closing, or it
 * was paused (the work is then taken again on resume).
 * @module
 */

/** The puller is closing; work in progress was abandoned. */
export class PullerClosedError extends Error {
  constructor() {
    super("The puller is closing");
    this.name = "PullerClosedError";
  }
}

/** The puller was paused; work in progress was set aside to resume. */
export class PullerPausedError extends Error {
  constructor() {
    super("The puller is paused");
    this.name = "PullerPausedError";
  }
}
