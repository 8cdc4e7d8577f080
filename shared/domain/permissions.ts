/**
 * Role permissions (CONTRACT §2). Every function here either returns or throws
 * `ForbiddenError`. Tenant isolation is not decided here: stores are always
 * asked within the principal's tenant, so another tenant's things are simply
 * not found.
 */
import { ForbiddenError } from './errors';
import type { OrderHead, Principal } from './model';
import type { Status } from './statuses';

/** Statuses a retailer may post (subject to the order's history, see `authorizeCheckpoint`). */
export const RETAILER_STATUSES: readonly Status[] = ['cancelled', 'followed_up'];

/**
 * What the right to read an order rests on: its tenant, its retailer and its
 * current driver. An order head has all three; so does each event's routing
 * item on the stream, which is how the fan-out re-checks rights on every push.
 */
export type OrderAccess = Pick<OrderHead, 'tenant' | 'retailerId' | 'driverId'>;

export function isAssignedDriver(p: Principal, order: OrderAccess): boolean {
  return p.role === 'driver' && order.driverId !== undefined && order.driverId === p.sub;
}

export function isOwnRetailer(p: Principal, order: OrderAccess): boolean {
  return p.role === 'retailer' && p.retailerId !== undefined && order.retailerId === p.retailerId;
}

/**
 * May `p` read, subscribe to and (when this returns true) message on an order
 * with this tenant, retailer and driver? The one rule behind every read,
 * subscribe and push (CONTRACT §2): dispatchers of the tenant, the order's own
 * retailer, its assigned driver. Pure; never throws.
 */
export function mayReadOrder(p: Principal, order: OrderAccess): boolean {
  if (p.tenant !== order.tenant) return false;
  return p.role === 'dispatcher' || isOwnRetailer(p, order) || isAssignedDriver(p, order);
}

export function authorizeReadOrder(p: Principal, head: OrderHead): void {
  if (!mayReadOrder(p, head)) throw new ForbiddenError(`You may not see order "${head.orderId}".`);
}

export function authorizeMessage(p: Principal, head: OrderHead): void {
  if (!mayReadOrder(p, head)) throw new ForbiddenError(`You may not post messages on order "${head.orderId}".`);
}

/**
 * May `p` post a checkpoint with `status` on this order? Drivers post on
 * orders assigned to them; retailers post `cancelled` before pickup and
 * `followed_up`; dispatchers post anything.
 */
export function authorizeCheckpoint(p: Principal, head: OrderHead, status: Status): void {
  if (p.role === 'dispatcher') return;
  if (p.role === 'driver') {
    if (isAssignedDriver(p, head)) return;
    throw new ForbiddenError(`Order "${head.orderId}" is not assigned to you.`);
  }
  if (!isOwnRetailer(p, head)) throw new ForbiddenError(`You may not post on order "${head.orderId}".`);
  if (!RETAILER_STATUSES.includes(status)) {
    throw new ForbiddenError(`A retailer may only post ${RETAILER_STATUSES.join(' or ')}.`);
  }
  if (status === 'cancelled' && head.status !== 'cancelled' && head.pickedUpAt !== undefined) {
    throw new ForbiddenError('A retailer may cancel an order only before it is picked up.');
  }
}

export function authorizeCreateOrder(p: Principal, retailerId: string): void {
  if (p.role === 'dispatcher') return;
  if (p.role === 'retailer' && p.retailerId === retailerId) return;
  throw new ForbiddenError(
    p.role === 'retailer' ? 'A retailer may create orders only for its own retailerId.' : 'Drivers may not create orders.',
  );
}

export function authorizeDispatcher(p: Principal, what: string): void {
  if (p.role !== 'dispatcher') throw new ForbiddenError(`Only dispatchers may ${what}.`);
}

/** Which orders a list request may cover: the principal's own scope. */
export type ListScope =
  | { readonly by: 'tenant' }
  | { readonly by: 'retailer'; readonly retailerId: string }
  | { readonly by: 'driver'; readonly driverId: string };

export function listScope(p: Principal, retailerId: string | undefined): ListScope {
  switch (p.role) {
    case 'dispatcher':
      return retailerId === undefined ? { by: 'tenant' } : { by: 'retailer', retailerId };
    case 'retailer':
      if (retailerId !== undefined && retailerId !== p.retailerId) {
        throw new ForbiddenError('A retailer may list only its own orders.');
      }
      return { by: 'retailer', retailerId: p.retailerId as string };
    case 'driver':
      if (retailerId !== undefined) throw new ForbiddenError('A driver lists the orders assigned to them.');
      return { by: 'driver', driverId: p.sub };
  }
}

/**
 * May a connection of `current` go on as `next` (the `auth` action, CONTRACT
 * §2 and §5)? Only the same identity may renew: the same `sub`, `tenant` and
 * `role`, and for a retailer the same `retailerId`, since rights were granted
 * to that identity. Throws `ForbiddenError` otherwise.
 */
export function authorizeRenewal(current: Principal, next: Principal): void {
  const same =
    current.sub === next.sub && current.tenant === next.tenant && current.role === next.role && current.retailerId === next.retailerId;
  if (!same) {
    throw new ForbiddenError('The new token is for another identity: sub, tenant, role and retailerId must stay the same. Connect again to change identity.');
  }
}

/** Who sees a recipient's phone number: dispatchers and the assigned driver. */
export function maySeePhone(p: Principal, head: OrderHead): boolean {
  return p.role === 'dispatcher' || isAssignedDriver(p, head);
}
