/**
 * Requests sent to a peer and not answered yet, by id: what chunk and
 * block requesters both keep. Ids count up and wrap at the protocol's
 * {@linkcode MAX_REQUEST_ID}, skipping any still in flight.
 * @module
 */
import { MAX_REQUEST_ID } from "../../protocol/mod.ts";

/** The requests in flight, each under its own id. */
export class InFlight<P> {
  readonly #pending = new Map<number, P>();
  #nextId = 1;

  /** How many are in flight. */
  get size(): number {
    return this.#pending.size;
  }

  /** An id no request in flight has: the next one, counting up and wrapping. */
  freeId(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id >= MAX_REQUEST_ID ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
  }

  /** Keeps `pending` under `id` (from {@linkcode freeId}). */
  set(id: number, pending: P): void {
    this.#pending.set(id, pending);
  }

  /** The request under `id`, left in flight. */
  get(id: number): P | undefined {
    return this.#pending.get(id);
  }

  /** The request under `id`, no longer in flight. */
  take(id: number): P | undefined {
    const pending = this.#pending.get(id);
    if (pending !== undefined) this.#pending.delete(id);
    return pending;
  }

  /** The ids in flight now (a copy: taking them while iterating is safe). */
  ids(): number[] {
    return [...this.#pending.keys()];
  }
}
