import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../shared/domain/errors';
import type { Principal } from '../../shared/domain/model';
import {
  authorizeCheckpoint,
  authorizeCreateOrder,
  authorizeDispatcher,
  authorizeMessage,
  authorizeReadOrder,
  authorizeRenewal,
  isAssignedDriver,
  isOwnRetailer,
  listScope,
  mayReadOrder,
  maySeePhone,
  type OrderAccess,
  RETAILER_STATUSES,
} from '../../shared/domain/permissions';
import { STATUSES, type Status } from '../../shared/domain/statuses';
import { caught, dispatcher, driver1, driver2, makeHead, retailerA, retailerB, TENANT } from './fixtures';

function expectForbidden(fn: () => unknown): ForbiddenError {
  const err = caught(fn);
  expect(err).toBeInstanceOf(ForbiddenError);
  const forbidden = err as ForbiddenError;
  expect(forbidden.code).toBe('FORBIDDEN');
  expect(forbidden.httpStatus).toBe(403);
  return forbidden;
}

const T_PICKED = '2024-05-01T08:30:00Z';

/** A retailer user whose sub happens to equal the assigned driver's id: role must still decide. */
const retailerNamedLikeDriver: Principal = { sub: 'drv-1', tenant: TENANT, role: 'retailer', retailerId: 'ret-B' };
/** A driver whose sub happens to equal the order's retailerId. */
const driverNamedLikeRetailer: Principal = { sub: 'ret-A', tenant: TENANT, role: 'driver' };
/** A dispatcher whose sub happens to match nothing on the order. */
const otherDispatcher: Principal = { sub: 'disp-9', tenant: TENANT, role: 'dispatcher' };

describe('read and message access (CONTRACT §2)', () => {
  const head = makeHead(); // retailer ret-A, driver drv-1

  const allowed: [string, Principal][] = [
    ['dispatcher', dispatcher],
    ['another dispatcher', otherDispatcher],
    ['the assigned driver', driver1],
    ['the owning retailer', retailerA],
  ];
  const refused: [string, Principal][] = [
    ['an unassigned driver', driver2],
    ['another retailer', retailerB],
    ['a retailer whose sub equals the driver id', retailerNamedLikeDriver],
    ['a driver whose sub equals the retailer id', driverNamedLikeRetailer],
  ];

  it.each(allowed)('%s may read and message', (_label, p) => {
    // Act + Assert
    expect(mayReadOrder(p, head)).toBe(true);
    expect(() => authorizeReadOrder(p, head)).not.toThrow();
    expect(() => authorizeMessage(p, head)).not.toThrow();
  });

  it.each(refused)('%s gets FORBIDDEN for read and message', (_label, p) => {
    // Act + Assert
    expect(mayReadOrder(p, head)).toBe(false);
    const readErr = expectForbidden(() => authorizeReadOrder(p, head));
    expectForbidden(() => authorizeMessage(p, head));
    expect(readErr.message).toContain('ord-1');
  });

  it('a driver has no access to an order with no driver assigned', () => {
    // Arrange
    const unassigned = makeHead({ driverId: undefined });

    // Act + Assert
    expect(isAssignedDriver(driver1, unassigned)).toBe(false);
    expectForbidden(() => authorizeReadOrder(driver1, unassigned));
  });

  it('a driver loses access once the order is reassigned, and the new driver gains it', () => {
    // Arrange
    const reassigned = makeHead({ driverId: 'drv-2' });

    // Act + Assert
    expectForbidden(() => authorizeReadOrder(driver1, reassigned));
    expectForbidden(() => authorizeMessage(driver1, reassigned));
    expectForbidden(() => authorizeCheckpoint(driver1, reassigned, 'out_for_delivery'));
    expect(() => authorizeReadOrder(driver2, reassigned)).not.toThrow();
    expect(() => authorizeCheckpoint(driver2, reassigned, 'delivered')).not.toThrow();
  });

  it('a retailer principal without a retailerId owns nothing', () => {
    // Arrange
    const broken: Principal = { sub: 'x', tenant: TENANT, role: 'retailer' };

    // Act + Assert
    expect(isOwnRetailer(broken, makeHead())).toBe(false);
    expectForbidden(() => authorizeReadOrder(broken, makeHead()));
  });
});

describe('mayReadOrder: the one read rule, on tenant, retailerId and driverId alone (CONTRACT §2)', () => {
  // What a stream item carries: no head, just what the right rests on.
  const order: OrderAccess = { tenant: TENANT, retailerId: 'ret-A', driverId: 'drv-1' };
  const unassigned: OrderAccess = { tenant: TENANT, retailerId: 'ret-A' };

  const cases: [label: string, p: Principal, access: OrderAccess, expected: boolean][] = [
    ['a dispatcher, assigned order', dispatcher, order, true],
    ['a dispatcher, unassigned order', dispatcher, unassigned, true],
    ['a dispatcher of another tenant', { ...dispatcher, tenant: 'other' }, order, false],
    ['the owning retailer', retailerA, order, true],
    ['the owning retailer, unassigned order', retailerA, unassigned, true],
    ['another retailer', retailerB, order, false],
    ['the owning retailer id in another tenant', { ...retailerA, tenant: 'other' }, order, false],
    ['a retailer without retailerId', { sub: 'x', tenant: TENANT, role: 'retailer' }, order, false],
    ['the assigned driver', driver1, order, true],
    ['the driver after a reassignment away', driver1, { ...order, driverId: 'drv-2' }, false],
    ['the new driver after a reassignment', driver2, { ...order, driverId: 'drv-2' }, true],
    ['a driver, unassigned order', driver1, unassigned, false],
    ['the assigned driver id in another tenant', { ...driver1, tenant: 'other' }, order, false],
    ['a retailer whose sub equals the driver id', retailerNamedLikeDriver, order, false],
    ['a driver whose sub equals the retailer id', driverNamedLikeRetailer, { ...order, driverId: undefined }, false],
  ];

  it.each(cases)('%s -> %s', (_label, p, access, expected) => {
    // Act + Assert
    expect(mayReadOrder(p, access)).toBe(expected);
  });

  it('decides a head exactly as it decides the head\'s tenant, retailerId and driverId', () => {
    // Arrange
    const heads = [makeHead(), makeHead({ driverId: 'drv-2' }), makeHead({ driverId: undefined }), makeHead({ retailerId: 'ret-B' })];

    // Act + Assert
    for (const head of heads) {
      for (const p of [dispatcher, driver1, driver2, retailerA, retailerB]) {
        const { tenant, retailerId, driverId } = head;
        expect(mayReadOrder(p, head)).toBe(mayReadOrder(p, { tenant, retailerId, ...(driverId !== undefined && { driverId }) }));
        if (mayReadOrder(p, head)) expect(() => authorizeReadOrder(p, head)).not.toThrow();
        else expectForbidden(() => authorizeReadOrder(p, head));
      }
    }
  });
});

describe('authorizeRenewal: only the same identity renews a connection (CONTRACT §2)', () => {
  it.each([dispatcher, driver1, retailerA] as Principal[])('lets %o renew as itself', (p) => {
    expect(() => authorizeRenewal(p, { ...p })).not.toThrow();
  });

  it.each([
    ['another sub', driver1, driver2],
    ['another tenant', driver1, { ...driver1, tenant: 'other' }],
    ['another role', driver1, { ...driver1, role: 'dispatcher' }],
    ['another retailerId', retailerA, { ...retailerA, retailerId: 'ret-B' }],
    ['a retailerId gained', dispatcher, { ...dispatcher, retailerId: 'ret-A' }],
  ] as [string, Principal, Principal][])('refuses %s with FORBIDDEN', (_label, current, next) => {
    const err = expectForbidden(() => authorizeRenewal(current, next));
    expect(err.message).toMatch(/another identity/);
  });
});

describe('authorizeCheckpoint (CONTRACT §2)', () => {
  const all = STATUSES.map((s): [Status] => [s]);

  it.each(all)('dispatcher may post %s on any order, assigned or not, picked up or not', (status) => {
    // Arrange
    const heads = [makeHead(), makeHead({ driverId: undefined, pickedUpAt: undefined }), makeHead({ retailerId: 'ret-Z' })];

    // Act + Assert
    for (const head of heads) expect(() => authorizeCheckpoint(dispatcher, head, status)).not.toThrow();
  });

  it.each(all)('the assigned driver may post %s', (status) => {
    // Act + Assert
    expect(() => authorizeCheckpoint(driver1, makeHead(), status)).not.toThrow();
  });

  it.each(all)('an unassigned driver is FORBIDDEN to post %s', (status) => {
    // Act + Assert
    expectForbidden(() => authorizeCheckpoint(driver2, makeHead(), status));
    expectForbidden(() => authorizeCheckpoint(driver1, makeHead({ driverId: undefined }), status));
    expectForbidden(() => authorizeCheckpoint(driverNamedLikeRetailer, makeHead({ driverId: undefined }), status));
  });

  it('a retailer may post only cancelled and followed_up', () => {
    // Arrange
    const beforePickup = makeHead({ status: 'created', pickedUpAt: undefined, driverId: undefined });
    const others = STATUSES.filter((s) => s !== 'cancelled' && s !== 'followed_up');

    // Act + Assert
    expect([...RETAILER_STATUSES].sort()).toEqual(['cancelled', 'followed_up']);
    expect(() => authorizeCheckpoint(retailerA, beforePickup, 'cancelled')).not.toThrow();
    expect(() => authorizeCheckpoint(retailerA, makeHead({ status: 'delivered' }), 'followed_up')).not.toThrow();
    for (const status of others) {
      const err = expectForbidden(() => authorizeCheckpoint(retailerA, beforePickup, status));
      expect(err.message).toMatch(/cancelled or followed_up/);
    }
  });

  it.each(['created', 'picking', 'packed'] as const)('a retailer may cancel from %s, before pickup', (status) => {
    // Arrange
    const head = makeHead({ status, pickedUpAt: undefined });

    // Act + Assert
    expect(() => authorizeCheckpoint(retailerA, head, 'cancelled')).not.toThrow();
  });

  it('a retailer may cancel an exception that happened before pickup', () => {
    // Arrange
    const head = makeHead({ status: 'exception', pickedUpAt: undefined });

    // Act + Assert
    expect(() => authorizeCheckpoint(retailerA, head, 'cancelled')).not.toThrow();
  });

  it('a retailer may not cancel once the order has been picked up (pickedUpAt set)', () => {
    // Arrange
    const head = makeHead({ status: 'exception', pickedUpAt: T_PICKED });

    // Act
    const err = expectForbidden(() => authorizeCheckpoint(retailerA, head, 'cancelled'));

    // Assert
    expect(err.message).toMatch(/before it is picked up/);
  });

  it('a retailer may still post followed_up on a picked-up order', () => {
    // Arrange
    const head = makeHead({ status: 'delivered', pickedUpAt: T_PICKED });

    // Act + Assert
    expect(() => authorizeCheckpoint(retailerA, head, 'followed_up')).not.toThrow();
  });

  it.each(['cancelled', 'followed_up'] as const)('another retailer is FORBIDDEN to post %s', (status) => {
    // Arrange
    const head = makeHead({ status: 'created', pickedUpAt: undefined });

    // Act + Assert
    expectForbidden(() => authorizeCheckpoint(retailerB, head, status));
    expectForbidden(() => authorizeCheckpoint(retailerNamedLikeDriver, makeHead(), status));
  });
});

describe('authorizeCreateOrder', () => {
  it('a dispatcher may create for any retailer', () => {
    expect(() => authorizeCreateOrder(dispatcher, 'ret-A')).not.toThrow();
    expect(() => authorizeCreateOrder(dispatcher, 'ret-Z')).not.toThrow();
  });

  it('a retailer may create only for its own retailerId', () => {
    // Act + Assert
    expect(() => authorizeCreateOrder(retailerA, 'ret-A')).not.toThrow();
    const err = expectForbidden(() => authorizeCreateOrder(retailerA, 'ret-B'));
    expect(err.message).toMatch(/own retailerId/);
  });

  it('a driver may not create orders at all', () => {
    // Act + Assert
    expectForbidden(() => authorizeCreateOrder(driver1, 'ret-A'));
    expectForbidden(() => authorizeCreateOrder(driverNamedLikeRetailer, 'ret-A'));
  });
});

describe('authorizeDispatcher', () => {
  it('lets dispatchers through and names the action for everyone else', () => {
    // Act + Assert
    expect(() => authorizeDispatcher(dispatcher, 'assign drivers')).not.toThrow();
    for (const p of [driver1, retailerA]) {
      const err = expectForbidden(() => authorizeDispatcher(p, 'assign drivers'));
      expect(err.message).toContain('assign drivers');
    }
  });
});

describe('listScope', () => {
  it('a dispatcher lists the whole tenant, or one retailer when asked', () => {
    // Act
    const all = listScope(dispatcher, undefined);
    const one = listScope(dispatcher, 'ret-B');

    // Assert
    expect(all).toEqual({ by: 'tenant' });
    expect(one).toEqual({ by: 'retailer', retailerId: 'ret-B' });
  });

  it('a retailer lists its own orders, with or without naming itself', () => {
    // Act + Assert
    expect(listScope(retailerA, undefined)).toEqual({ by: 'retailer', retailerId: 'ret-A' });
    expect(listScope(retailerA, 'ret-A')).toEqual({ by: 'retailer', retailerId: 'ret-A' });
  });

  it('a retailer asking for another retailer gets FORBIDDEN', () => {
    expectForbidden(() => listScope(retailerA, 'ret-B'));
  });

  it('a driver lists the orders assigned to them, and may not filter by retailer', () => {
    // Act + Assert
    expect(listScope(driver1, undefined)).toEqual({ by: 'driver', driverId: 'drv-1' });
    expectForbidden(() => listScope(driver1, 'ret-A'));
  });
});

describe('maySeePhone', () => {
  const head = makeHead();

  it.each([
    ['dispatcher', dispatcher, true],
    ['assigned driver', driver1, true],
    ['unassigned driver', driver2, false],
    ['owning retailer', retailerA, false],
    ['other retailer', retailerB, false],
    ['retailer named like the driver', retailerNamedLikeDriver, false],
  ] as [string, Principal, boolean][])('%s -> %s', (_label, p, expected) => {
    // Act
    const actual = maySeePhone(p, head);

    // Assert
    expect(actual).toBe(expected);
  });

  it('no driver sees the phone of an unassigned order', () => {
    expect(maySeePhone(driver1, makeHead({ driverId: undefined }))).toBe(false);
  });
});
