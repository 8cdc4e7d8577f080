/**
 * Rooms (CONTRACT §5): who hears about what. `order:<id>` carries an order's
 * whole timeline; `retailer:<id>` and `dispatch` carry status changes and
 * alerts (dispatch also hears assignments).
 */
import { ForbiddenError } from './errors';
import type { OrderEvent, Principal } from './model';
import { mayReadOrder, type OrderAccess } from './permissions';

/**
 * The most rooms one connection may hold at once (CONTRACT §5: "more than 500
 * rooms on one connection is `LIMIT_EXCEEDED`"). It also keeps the
 * connection item, which lists its rooms, far below DynamoDB's 400 KB item
 * limit: a room name is at most 137 characters (`retailer:` and a
 * 128-character id), at most 3 UTF-8 bytes each, so 500 of them take at most
 * about 210 KB.
 */
export const MAX_ROOMS_PER_CONNECTION = 500;

export type Room =
  | { readonly type: 'order'; readonly orderId: string }
  | { readonly type: 'retailer'; readonly retailerId: string }
  | { readonly type: 'dispatch' };

/** Parse a room name already checked by `roomSchema`. */
export function parseRoom(name: string): Room {
  if (name === 'dispatch') return { type: 'dispatch' };
  if (name.startsWith('order:')) return { type: 'order', orderId: name.slice('order:'.length) };
  return { type: 'retailer', retailerId: name.slice('retailer:'.length) };
}

export function roomName(room: Room): string {
  switch (room.type) {
    case 'order':
      return `order:${room.orderId}`;
    case 'retailer':
      return `retailer:${room.retailerId}`;
    case 'dispatch':
      return 'dispatch';
  }
}

/**
 * May `p` join a live feed room? Order rooms are authorized against the order
 * itself (`authorizeReadOrder`), so they are not decided here.
 */
export function authorizeFeedRoom(p: Principal, room: Exclude<Room, { type: 'order' }>): void {
  if (p.role === 'dispatcher') return;
  if (room.type === 'retailer' && p.role === 'retailer' && p.retailerId === room.retailerId) return;
  throw new ForbiddenError(
    room.type === 'dispatch' ? 'Only dispatchers may subscribe to dispatch.' : 'You may subscribe only to your own retailer room.',
  );
}

/** Does this event tell the live feeds something (a new order, a status change, an alert)? */
function isFeedEvent(event: OrderEvent): boolean {
  switch (event.kind) {
    case 'created':
    case 'alert':
      return true;
    case 'checkpoint':
      return event.statusChanged;
    default:
      return false;
  }
}

/** The rooms an event of an order owned by `retailerId` is pushed to. */
export function roomsForEvent(event: OrderEvent, retailerId: string): string[] {
  const rooms = [`order:${event.orderId}`];
  if (isFeedEvent(event)) rooms.push(`retailer:${retailerId}`, 'dispatch');
  else if (event.kind === 'assigned') rooms.push('dispatch');
  return rooms;
}

/** Why a connection stops hearing a room (CONTRACT §2): the right to read the order went. */
export const REVOKED_REASON = 'unassigned';

/** The push that tells a connection it has left a room for good. */
export interface RevokedFrame {
  readonly type: 'revoked';
  readonly room: string;
  readonly reason: typeof REVOKED_REASON;
}

export function revokedFrame(room: string): RevokedFrame {
  return { type: 'revoked', room, reason: REVOKED_REASON };
}

/** Who holds a room membership, and until when. */
export interface MemberRights {
  readonly principal: Principal;
  /** The expiry of the connection's token (its `exp` claim), epoch seconds. */
  readonly exp: number;
}

/**
 * What the fan-out does with one member of `room` for an event of an order
 * with `order`'s tenant, retailer and driver, at `nowMs` (epoch ms):
 * `expired` when the member's token has run out (at `exp` exactly pushes
 * stop), `revoke` when it may no longer read the order (the same rule as
 * subscribe: `mayReadOrder`), else `push`. `order` undefined: the event's
 * routing item predates rights stamping and only expiry is checked. Feed
 * rooms are granted on the principal alone, which never changes on a
 * connection, so only expiry is checked for them.
 */
export function pushVerdict(member: MemberRights, room: string, order: OrderAccess | undefined, nowMs: number): 'push' | 'revoke' | 'expired' {
  if (member.exp * 1000 <= nowMs) return 'expired';
  if (order !== undefined && parseRoom(room).type === 'order' && !mayReadOrder(member.principal, order)) return 'revoke';
  return 'push';
}
