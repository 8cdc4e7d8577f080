/**
 * `Notifier` in memory: API Gateway's `@connections` as the services see
 * it. Connections must be opened (`open`) to receive; a push to a connection
 * never opened, dropped by its client (`drop`) or closed (`disconnect`)
 * answers `gone` (API Gateway's 410), as does closing one of those. Every
 * frame a connection received is kept, in order; `failNext` makes the next
 * pushes to a connection throw, as a 5xx or a timeout of the API would.
 */
import type { Notifier } from '../../../shared/store/notifier';

/** A frame as pushed: its JSON parsed. */
export type PushedFrame = Record<string, unknown>;

export class RecordingNotifier implements Notifier {
  private readonly live = new Set<string>();
  private readonly received = new Map<string, string[]>();
  private readonly failures = new Map<string, number>();
  /** Connections closed by the server (`disconnect`), in order. */
  readonly closed: string[] = [];
  /** Every `send` call, whatever it answered. */
  attempts = 0;

  /** Connections that can receive from now on. */
  open(...connectionIds: string[]): this {
    for (const id of connectionIds) this.live.add(id);
    return this;
  }

  /** The client went away without the server closing it: pushes to it are `gone` from now on. */
  drop(connectionId: string): void {
    this.live.delete(connectionId);
  }

  /** The next `times` pushes to `connectionId` throw (the push is not delivered). */
  failNext(connectionId: string, times = 1): void {
    this.failures.set(connectionId, (this.failures.get(connectionId) ?? 0) + times);
  }

  isOpen(connectionId: string): boolean {
    return this.live.has(connectionId);
  }

  async send(connectionId: string, data: string): Promise<'sent' | 'gone'> {
    this.attempts++;
    const failing = this.failures.get(connectionId) ?? 0;
    if (failing > 0) {
      this.failures.set(connectionId, failing - 1);
      throw new Error(`500 Internal Server Error pushing to ${connectionId}`);
    }
    if (!this.live.has(connectionId)) return 'gone';
    this.received.set(connectionId, [...(this.received.get(connectionId) ?? []), data]);
    return 'sent';
  }

  async disconnect(connectionId: string): Promise<'closed' | 'gone'> {
    if (!this.live.delete(connectionId)) return 'gone';
    this.closed.push(connectionId);
    return 'closed';
  }

  /** The frames `connectionId` received, parsed, in order. */
  framesOf(connectionId: string): PushedFrame[] {
    return (this.received.get(connectionId) ?? []).map((data) => JSON.parse(data) as PushedFrame);
  }

  /** The seqs of the `event` frames `connectionId` received, in order (of `room` only, when given). */
  eventSeqsOf(connectionId: string, room?: string): number[] {
    return this.framesOf(connectionId)
      .filter((f) => f.type === 'event' && (room === undefined || f.room === room))
      .map((f) => (f.event as { seq: number }).seq);
  }
}
