/**
 * Shared builders for the unit tests: principals, order heads, checkpoint
 * frames and a helper that captures a thrown error for inspection.
 */
import type { OrderHead, Principal } from '../../shared/domain/model';
import { checkpointFrameSchema, type CheckpointFrame, type CreateOrderBody, parseOrThrow } from '../../shared/domain/schemas';
import type { Status } from '../../shared/domain/statuses';

export const TENANT = 'acme';
export const T0 = '2024-05-01T08:00:00.000Z';
export const T1 = '2024-05-01T09:30:00.000Z';

export const dispatcher: Principal = { sub: 'disp-1', tenant: TENANT, role: 'dispatcher' };
export const driver1: Principal = { sub: 'drv-1', tenant: TENANT, role: 'driver' };
export const driver2: Principal = { sub: 'drv-2', tenant: TENANT, role: 'driver' };
export const retailerA: Principal = { sub: 'ret-user-a', tenant: TENANT, role: 'retailer', retailerId: 'ret-A' };
export const retailerB: Principal = { sub: 'ret-user-b', tenant: TENANT, role: 'retailer', retailerId: 'ret-B' };

/** An order of retailer `ret-A`, assigned to `drv-1`, out for delivery, never read. */
export function makeHead(overrides: Partial<OrderHead> = {}): OrderHead {
  return {
    tenant: TENANT,
    orderId: 'ord-1',
    retailerId: 'ret-A',
    driverId: 'drv-1',
    status: 'out_for_delivery',
    statusSince: T0,
    headSeq: 5,
    recipient: { name: 'Ada Lovelace', phone: '+15550100001' },
    destination: { address: '1 Main St', lat: 51.5, lng: -0.12 },
    createdAt: T0,
    updatedAt: T0,
    pickedUpAt: T0,
    createDigest: 'digest',
    readMarks: {},
    ...overrides,
  };
}

/** A raw checkpoint frame for `status` carrying whatever that status requires (reason, proof). */
export function rawCheckpoint(status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    action: 'checkpoint',
    eventId: 'evt-1',
    orderId: 'ord-1',
    status,
    // T0 on the device: at or before the server times these tests use, within CONTRACT §3's bounds.
    occurredAt: '2024-05-01T08:00:00Z',
    ...(status === 'delivered' && { proof: { recipientType: 'self' } }),
    ...((status === 'attempt_failed' || status === 'exception') && { reason: 'nobody home' }),
    ...extra,
  };
}

/** A parsed (hence well-typed) checkpoint frame. */
export function checkpoint(status: Status, extra: Record<string, unknown> = {}): CheckpointFrame {
  return parseOrThrow(checkpointFrameSchema, rawCheckpoint(status, extra), 'checkpoint');
}

/** Run `fn` and return what it threw; fails the test if it did not throw. */
export function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw, but it returned');
}

/** A create-order body (CONTRACT §4) of retailer ret-A. */
export const CREATE_BODY: CreateOrderBody = {
  orderId: 'ord-1',
  retailerId: 'ret-A',
  recipient: { name: 'Ada Lovelace', phone: '+15550100001' },
  destination: { address: '1 Main St', lat: 51.5, lng: -0.12 },
  promisedBy: '2024-05-02T18:00:00Z',
};
