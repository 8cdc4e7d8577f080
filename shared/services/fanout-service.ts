/**
 * Fan-out: a timeline event, once stored, is pushed to every member of the
 * rooms it belongs to. Members are queried per room, never scanned; a member
 * that is gone (410) is removed as it is found.
 *
 * An order room's member list is kept between events of that order while the
 * room's membership epoch stays the same: every join and leave moves the
 * epoch on before its ack (`OrderStore.openRoom`), and every event carries the
 * epoch it was stored under, so an event from after a join or leave always
 * finds a list read after it (read consistently).
 */
import type { OrderEvent } from '../domain/model';
import { roomsForEvent } from '../domain/rooms';
import type { Logger } from '../runtime/log';
import { RecentMap } from '../runtime/recent-map';
import type { ConnectionStore, Membership } from '../store/connection-store';
import type { Notifier } from '../store/notifier';

/** A stored timeline event with what is needed to route it. */
export interface RoutedEvent {
  readonly tenant: string;
  readonly retailerId: string;
  readonly event: OrderEvent;
  /** The order room's membership epoch the event was stored under (absent: read the members). */
  readonly roomEpoch?: number;
}

export interface FanoutResult {
  readonly sent: number;
  readonly gone: number;
}

/** How many recent events remember whom they reached, so a retry skips them. */
const REMEMBERED_EVENTS = 2000;
/** How many order rooms' member lists a process keeps. */
const REMEMBERED_ROOMS = 10_000;

interface KnownRoom {
  readonly epoch: number;
  members: Membership[];
}

export class FanoutService {
  /**
   * Per event (`tenant/order/seq`), the connections it already reached in
   * this process. When one member fails and the event is retried, the others
   * are not sent it again. (A retry in another process may still repeat it;
   * subscribers drop repeats by seq.)
   */
  private readonly reached = new RecentMap<string, Set<string>>(REMEMBERED_EVENTS);
  /** Order rooms' member lists, by `tenant room`, with the epoch they were read at. */
  private readonly rooms = new RecentMap<string, KnownRoom>(REMEMBERED_ROOMS);

  constructor(
    private readonly connections: ConnectionStore,
    private readonly notifier: Notifier,
    private readonly log: Logger,
  ) {}

  /**
   * Push one event to its rooms. Throws if any live member could not be
   * reached, so the caller retries the event (members drop repeats by seq).
   */
  async deliver({ tenant, retailerId, event, roomEpoch }: RoutedEvent): Promise<FanoutResult> {
    const rooms = roomsForEvent(event, retailerId);
    const memberLists = await Promise.all(rooms.map((room) => this.membersOf(tenant, room, room.startsWith('order:') ? roomEpoch : undefined)));
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
              this.forgetMember(tenant, room, connectionId);
              await this.connections.remove(connectionId);
            }
          } catch (err) {
            failures.push(err);
          }
        });
      }),
    );
    if (failures.length > 0) {
      this.reached.set(key, reached);
      this.log.warn('fan-out could not reach some members', { orderId: event.orderId, seq: event.seq, failed: failures.length, error: failures[0] });
      throw new FanoutError(event, failures.length);
    }
    this.reached.delete(key);
    return { sent, gone };
  }

  private async membersOf(tenant: string, room: string, epoch: number | undefined): Promise<string[]> {
    if (epoch === undefined) return this.connections.members(tenant, room);
    const key = `${tenant} ${room}`;
    const now = Math.floor(Date.now() / 1000);
    const known = this.rooms.get(key);
    if (known !== undefined && known.epoch === epoch) {
      return known.members.filter((m) => m.expiresAt > now).map((m) => m.connectionId);
    }
    const members = await this.connections.memberships(tenant, room, { consistent: true });
    if (known === undefined || epoch >= known.epoch) this.rooms.set(key, { epoch, members });
    return members.map((m) => m.connectionId);
  }

  private forgetMember(tenant: string, room: string, connectionId: string): void {
    const known = this.rooms.get(`${tenant} ${room}`);
    if (known !== undefined) known.members = known.members.filter((m) => m.connectionId !== connectionId);
  }
}

export class FanoutError extends Error {
  constructor(event: OrderEvent, failed: number) {
    super(`could not push order ${event.orderId} seq ${event.seq} to ${failed} member(s)`);
    this.name = 'FanoutError';
  }
}
