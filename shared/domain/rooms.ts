/**
 * Rooms (CONTRACT §5): who hears about what. `order:<id>` carries an order's
 * whole timeline; `retailer:<id>` and `dispatch` carry status changes and
 * alerts (dispatch also hears assignments).
 */
import { ForbiddenError } from './errors';
import type { OrderEvent, Principal } from './model';

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
