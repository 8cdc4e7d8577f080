/**
 * Fan-out: a timeline event, once stored, is pushed to every member of the
 * rooms it belongs to. Members are queried per room, never scanned; a member
 * that is gone (410) is removed as it is found.
 */
import type { OrderEvent } from '../domain/model';
import { roomsForEvent } from '../domain/rooms';
import type { Logger } from '../runtime/log';
import type { ConnectionStore } from '../store/connection-store';
import type { Notifier } from '../store/notifier';

/** A stored timeline event with what is needed to route it. */
export interface RoutedEvent {
  readonly tenant: string;
  readonly retailerId: string;
  readonly event: OrderEvent;
}

export interface FanoutResult {
  readonly sent: number;
  readonly gone: number;
}

/** How many recent events remember whom they reached, so a retry skips them. */
const REMEMBERED_EVENTS = 2000;

export class FanoutService {
  /**
   * Per event (`tenant/order/seq`), the connections it already reached in
   * this process. When one member fails and the event is retried, the others
   * are not sent it again. (A retry in another process may still repeat it;
   * subscribers drop repeats by seq.)
   */
  private readonly reached = new Map<string, Set<string>>();

  constructor(
    private readonly connections: ConnectionStore,
    private readonly notifier: Notifier,
    private readonly log: Logger,
  ) {}

  /**
   * Push one event to its rooms. Throws if any live member could not be
   * reached, so the caller retries the event (members drop repeats by seq).
   */
  async deliver({ tenant, retailerId, event }: RoutedEvent): Promise<FanoutResult> {
    const rooms = roomsForEvent(event, retailerId);
    const memberLists = await Promise.all(rooms.map((room) => this.connections.members(tenant, room)));
    const key = `${tenant}/${event.orderId}/${event.seq}`;
    const reached = this.reached.get(key) ?? new Set<string>();
    let sent = 0;
    let gone = 0;
    const failures: unknown[] = [];
    await Promise.all(
      rooms.flatMap((room, i) => {
        const members = memberLists[i] ?? [];
        if (members.length === 0) return [];
        const frame = JSON.stringify({ type: 'event', room, event });
        return members.map(async (connectionId) => {
          const target = `${room} ${connectionId}`;
          if (reached.has(target)) return;
          try {
            if ((await this.notifier.send(connectionId, frame)) === 'sent') {
              sent++;
              reached.add(target);
            } else {
              gone++;
              await this.connections.remove(connectionId);
            }
          } catch (err) {
            failures.push(err);
          }
        });
      }),
    );
    if (failures.length > 0) {
      this.remember(key, reached);
      this.log.warn('fan-out could not reach some members', { orderId: event.orderId, seq: event.seq, failed: failures.length, error: failures[0] });
      throw new FanoutError(event, failures.length);
    }
    this.reached.delete(key);
    return { sent, gone };
  }

  private remember(key: string, reached: Set<string>): void {
    this.reached.delete(key);
    this.reached.set(key, reached);
    if (this.reached.size > REMEMBERED_EVENTS) {
      const oldest = this.reached.keys().next().value;
      if (oldest !== undefined) this.reached.delete(oldest);
    }
  }
}

export class FanoutError extends Error {
  constructor(event: OrderEvent, failed: number) {
    super(`could not push order ${event.orderId} seq ${event.seq} to ${failed} member(s)`);
    this.name = 'FanoutError';
  }
}
