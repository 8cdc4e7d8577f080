/**
 * Fan-out: a timeline event, once stored, is pushed to every member of the
 * rooms it belongs to. Members are queried per room, never scanned; a member
 * that is gone (410) is removed as it is found.
 *
 * An order room's member list is kept between events of that order while the
 * room's membership epoch stays the same: every join and leave moves the
 * epoch on before its ack (`OrderStore.bumpRoomEpoch`), and every event carries the
 * epoch it was stored under, so an event from after a join or leave always
 * finds a list read after it (read consistently).
 *
 * Rights are checked on every push (CONTRACT §2), without reading anything
 * more: each membership carries its holder (principal and token expiry) and
 * each event the order's tenant, retailer and driver as of that event, and
 * `pushVerdict` applies the rule subscribe used. A member that may no longer
 * read the order (a driver reassigned away) leaves the room and gets one
 * `revoked` push instead of the event, and the room's epoch moves on; a member
 * whose token has expired gets nothing, and its connection is closed
 * (`DeleteConnection`) and removed.
 */
import type { OrderEvent } from '../domain/model';
import type { OrderAccess } from '../domain/permissions';
import { eventRooms, pushVerdict, revokedFrame } from '../domain/rooms';
import type { Logger } from '../runtime/log';
import { RecentMap } from '../runtime/recent-map';
import type { ConnectionHolder, ConnectionStore, Membership } from '../store/connection-store';
import type { Notifier } from '../store/notifier';
import type { RoutedEvent } from '../store/stream-records';

/** The decoded stream record the fan-out routes (defined with its item mapping). */
export type { RoutedEvent } from '../store/stream-records';

export interface FanoutResult {
  readonly sent: number;
  readonly gone: number;
}

/** Moves an order room's membership epoch on (`OrderStore.bumpRoomEpoch`), so every process reads its members again. */
export interface RoomEpochs {
  bumpRoomEpoch(tenant: string, orderId: string): Promise<unknown>;
}

/** How many recent events remember whom they reached, so a retry skips them. */
const REMEMBERED_EVENTS = 2000;
/** How many order rooms' member lists a process keeps. */
const REMEMBERED_ROOMS = 10_000;

interface KnownRoom {
  readonly epoch: number;
  members: Membership[];
}

/** A `revoked` push owed to a connection whose membership this process removed. */
interface OwedRevoke {
  readonly room: string;
  readonly connectionId: string;
}

export class FanoutService {
  /**
   * Per event (`tenant/order/seq`), the connections it already reached in
   * this process. When one member fails and the event is retried, the others
   * are not sent it again. (A retry in another process may still repeat it;
   * subscribers drop repeats by seq.)
   */
  private readonly reached = new RecentMap<string, Set<string>>(REMEMBERED_EVENTS);
  /**
   * Per event, the `revoked` pushes that failed after their membership was
   * removed (by this process alone: the conditional removal makes exactly one
   * remover tell the connection). A retry of the event here sends them again.
   */
  private readonly owedRevokes = new RecentMap<string, Map<string, OwedRevoke>>(REMEMBERED_EVENTS);
  /** Order rooms' member lists, by `tenant room`, with the epoch they were read at. */
  private readonly rooms = new RecentMap<string, KnownRoom>(REMEMBERED_ROOMS);

  /**
   * @param connections room memberships and connections
   * @param notifier `@connections`: pushes, and closing expired connections
   * @param log no tokens or phone numbers are logged
   * @param epochs moves an order room's membership epoch on after this process revokes members
   */
  constructor(
    private readonly connections: ConnectionStore,
    private readonly notifier: Notifier,
    private readonly log: Logger,
    private readonly epochs: RoomEpochs,
  ) {}

  /**
   * Push one event to its rooms: to each member that may still read it and
   * whose token has not expired (at its `exp`, pushes stop). A member whose
   * right has gone is removed from the room and sent
   * `{"type":"revoked","room":…,"reason":"unassigned"}` once, never the event;
   * an expired member is closed and removed. Throws `FanoutError` if any live
   * member (or an owed `revoked`) could not be reached, so the caller retries
   * the event (members drop repeats by seq).
   */
  async deliver(routed: RoutedEvent): Promise<FanoutResult> {
    const { tenant, retailerId, event, roomEpoch } = routed;
    const order: OrderAccess | undefined =
      routed.driverId === undefined ? undefined : { tenant, retailerId, ...(routed.driverId !== null && { driverId: routed.driverId }) };
    // Each room with its kind, once per event: no room name is parsed back per member.
    const rooms = eventRooms(event, retailerId);
    const memberLists = await Promise.all(rooms.map(({ name, kind }) => this.membersOf(tenant, name, kind.resumable ? roomEpoch : undefined)));
    const key = `${tenant}/${event.orderId}/${event.seq}`;
    const reached = this.reached.get(key) ?? new Set<string>();
    const owed = this.owedRevokes.get(key) ?? new Map<string, OwedRevoke>();
    const nowMs = Date.now();
    let sent = 0;
    let gone = 0;
    let revokedHere = false;
    const failures: unknown[] = [];
    /** Expired connections met by this event, each closed and removed once. */
    const expiring = new Map<string, Promise<void>>();

    const tellRevoked = async (target: string, { room, connectionId }: OwedRevoke): Promise<void> => {
      try {
        // Gone (410) too: there is nobody left to tell.
        await this.notifier.send(connectionId, JSON.stringify(revokedFrame(room)));
        owed.delete(target);
        reached.add(target);
      } catch (err) {
        failures.push(err);
      }
    };

    await Promise.all([
      ...[...owed].map(([target, revoke]) => tellRevoked(target, revoke)),
      ...rooms.flatMap(({ name: room, kind }, i) => {
        const members = memberLists[i] ?? [];
        if (members.length === 0) return [];
        const frame = JSON.stringify({ type: 'event', room, event });
        return members.map(async (member) => {
          const { connectionId } = member;
          const target = `${room} ${connectionId}`;
          if (reached.has(target) || owed.has(target)) return;
          try {
            const holder = await this.holderOf(tenant, room, member, nowMs);
            const verdict = holder === null ? 'expired' : pushVerdict(holder, kind, order, nowMs);
            if (verdict === 'expired') {
              this.forgetMember(tenant, room, connectionId);
              if (!expiring.has(connectionId)) expiring.set(connectionId, this.expire(connectionId));
              await expiring.get(connectionId);
              return;
            }
            if (verdict === 'revoke') {
              // Exactly one remover tells it: whoever finds the membership still there.
              const left = await this.connections.leave(connectionId, tenant, room);
              this.forgetMember(tenant, room, connectionId);
              if (!left) return;
              revokedHere = true;
              const revoke = { room, connectionId };
              owed.set(target, revoke);
              await tellRevoked(target, revoke);
              return;
            }
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
    ]);
    if (revokedHere) await this.moveEpoch(tenant, event.orderId);
    if (failures.length > 0) {
      this.reached.set(key, reached);
      if (owed.size > 0) this.owedRevokes.set(key, owed);
      this.log.warn('fan-out could not reach some members', { orderId: event.orderId, seq: event.seq, failed: failures.length, error: failures[0] });
      throw new FanoutError(event, failures.length);
    }
    this.reached.delete(key);
    this.owedRevokes.delete(key);
    return { sent, gone };
  }

  private async membersOf(tenant: string, room: string, epoch: number | undefined): Promise<Membership[]> {
    if (epoch === undefined) return this.connections.memberships(tenant, room);
    const key = `${tenant} ${room}`;
    const now = Math.floor(Date.now() / 1000);
    const known = this.rooms.get(key);
    if (known !== undefined && known.epoch === epoch) {
      return known.members.filter((m) => m.expiresAt > now);
    }
    const members = await this.connections.memberships(tenant, room, { consistent: true });
    if (known === undefined || epoch >= known.epoch) this.rooms.set(key, { epoch, members });
    return members;
  }

  /**
   * Who holds a membership, as of now. The membership says, unless it has
   * none (written before memberships carried it) or its expiry has passed (a
   * renewal may still be on its way to it): then the connection decides, and
   * the kept list learns it. Null when the connection is gone.
   */
  private async holderOf(tenant: string, room: string, member: Membership, nowMs: number): Promise<ConnectionHolder | null> {
    if (member.holder !== undefined && member.holder.exp * 1000 > nowMs) return member.holder;
    const record = await this.connections.get(member.connectionId);
    if (record === null) return null;
    const holder: ConnectionHolder = { principal: record.principal, exp: record.exp };
    const known = this.rooms.get(`${tenant} ${room}`);
    if (known !== undefined) {
      known.members = known.members.map((m) => (m.connectionId === member.connectionId ? { ...m, holder } : m));
    }
    return holder;
  }

  /** Close an expired connection (its `$disconnect` follows in the cloud) and remove it with its memberships. */
  private async expire(connectionId: string): Promise<void> {
    try {
      await this.notifier.disconnect(connectionId);
      await this.connections.remove(connectionId);
    } catch (err) {
      // It gets nothing either way; the next event that meets it tries again.
      this.log.warn('could not close an expired connection', { connectionId, error: err });
    }
  }

  /** Members were revoked here: every process's kept list of the room must be read again. */
  private async moveEpoch(tenant: string, orderId: string): Promise<void> {
    try {
      await this.epochs.bumpRoomEpoch(tenant, orderId);
    } catch (err) {
      // Kept lists elsewhere still hold the revoked member: each push to it is
      // checked again, and its removal (already done) tells it nothing twice.
      this.log.warn('could not move the room epoch after a revocation', { orderId, error: err });
    }
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
