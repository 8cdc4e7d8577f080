import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../shared/domain/errors';
import type { OrderEvent, Principal } from '../../shared/domain/model';
import { authorizeFeedRoom, parseRoom, pushVerdict, revokedFrame, roomName, roomsForEvent, type Room } from '../../shared/domain/rooms';
import { roomSchema } from '../../shared/domain/schemas';
import { caught, dispatcher, driver1, driver2, retailerA, retailerB, T1, TENANT } from './fixtures';

const actor = { sub: 'drv-1', role: 'driver' } as const;
const base = { orderId: 'ord-1', seq: 7, at: T1, actor };

const progress: OrderEvent = {
  ...base,
  kind: 'checkpoint',
  eventId: 'e1',
  status: 'in_transit',
  previousStatus: 'in_transit',
  statusChanged: false,
  occurredAt: T1,
  location: { lat: 1, lng: 2 },
};
const move: OrderEvent = { ...progress, status: 'at_hub', statusChanged: true };
const created: OrderEvent = {
  ...base,
  seq: 1,
  kind: 'created',
  status: 'created',
  retailerId: 'ret-A',
  recipientName: 'Ada',
  destination: { address: '1 Main St' },
};
const alert: OrderEvent = {
  ...base,
  actor: { sub: 'system', role: 'system' },
  kind: 'alert',
  alertId: 'al-1',
  level: 1,
  state: 'open',
  status: 'in_transit',
  stuckSeconds: 3600,
};
const assigned: OrderEvent = { ...base, actor: { sub: 'disp-1', role: 'dispatcher' }, kind: 'assigned', driverId: 'drv-1' };
const message: OrderEvent = { ...base, kind: 'message', messageId: 'm1', text: 'hi' };
const read: OrderEvent = { ...base, kind: 'read', readSeq: 6 };

describe('parseRoom and roomName', () => {
  it.each([
    ['dispatch', { type: 'dispatch' }],
    ['order:ord-1', { type: 'order', orderId: 'ord-1' }],
    ['retailer:ret-A', { type: 'retailer', retailerId: 'ret-A' }],
    ['order:a:b', { type: 'order', orderId: 'a:b' }],
    ['retailer:dispatch', { type: 'retailer', retailerId: 'dispatch' }],
  ] as [string, Room][])('%s <-> %j', (name, room) => {
    // Act
    const parsed = parseRoom(name);
    const named = roomName(room);

    // Assert
    expect(parsed).toEqual(room);
    expect(named).toBe(name);
  });

  it('round-trips any valid id, and every name it makes passes roomSchema', () => {
    // Arrange
    const roomArb = fc.oneof(
      fc.constant<Room>({ type: 'dispatch' }),
      fc.string({ minLength: 1, maxLength: 128 }).map((orderId): Room => ({ type: 'order', orderId })),
      fc.string({ minLength: 1, maxLength: 128 }).map((retailerId): Room => ({ type: 'retailer', retailerId })),
    );

    fc.assert(
      fc.property(roomArb, (room) => {
        // Act
        const name = roomName(room);

        // Assert
        expect(parseRoom(name)).toEqual(room);
        expect(roomSchema.safeParse(name).success).toBe(true);
      }),
    );
  });
});

describe('roomsForEvent', () => {
  it('a progress checkpoint goes to the order room only', () => {
    // Act
    const rooms = roomsForEvent(progress, 'ret-A');

    // Assert
    expect(rooms).toEqual(['order:ord-1']);
  });

  it.each([
    ['status change', move],
    ['created', created],
    ['alert', alert],
  ] as [string, OrderEvent][])('a %s goes to the order room, the retailer room and dispatch', (_label, event) => {
    // Act
    const rooms = roomsForEvent(event, 'ret-A');

    // Assert
    expect([...rooms].sort()).toEqual(['dispatch', 'order:ord-1', 'retailer:ret-A']);
  });

  it('an assignment goes to the order room and dispatch, not the retailer', () => {
    // Act
    const rooms = roomsForEvent(assigned, 'ret-A');

    // Assert
    expect([...rooms].sort()).toEqual(['dispatch', 'order:ord-1']);
  });

  it.each([
    ['message', message],
    ['read', read],
  ] as [string, OrderEvent][])('a %s stays in the order room', (_label, event) => {
    expect(roomsForEvent(event, 'ret-A')).toEqual(['order:ord-1']);
  });

  it('uses the retailerId it is given, not anything in the event', () => {
    // Act
    const rooms = roomsForEvent(created, 'ret-Z');

    // Assert
    expect(rooms).toContain('retailer:ret-Z');
    expect(rooms).not.toContain('retailer:ret-A');
  });
});

describe('authorizeFeedRoom', () => {
  it('a dispatcher may join dispatch and any retailer room', () => {
    expect(() => authorizeFeedRoom(dispatcher, { type: 'dispatch' })).not.toThrow();
    expect(() => authorizeFeedRoom(dispatcher, { type: 'retailer', retailerId: 'ret-B' })).not.toThrow();
  });

  it('a retailer may join its own retailer room only', () => {
    // Act + Assert
    expect(() => authorizeFeedRoom(retailerA, { type: 'retailer', retailerId: 'ret-A' })).not.toThrow();
    const err = caught(() => authorizeFeedRoom(retailerB, { type: 'retailer', retailerId: 'ret-A' }));
    expect(err).toBeInstanceOf(ForbiddenError);
    expect((err as ForbiddenError).code).toBe('FORBIDDEN');
  });

  it.each([
    ['retailer', retailerA],
    ['driver', driver1],
  ] as [string, Principal][])('a %s may not join dispatch', (_label, p) => {
    // Act
    const err = caught(() => authorizeFeedRoom(p, { type: 'dispatch' }));

    // Assert
    expect(err).toBeInstanceOf(ForbiddenError);
    expect((err as ForbiddenError).code).toBe('FORBIDDEN');
  });

  it('a driver may not join a retailer room, even one whose id equals its sub', () => {
    // Act
    const err = caught(() => authorizeFeedRoom(driver1, { type: 'retailer', retailerId: 'drv-1' }));

    // Assert
    expect(err).toBeInstanceOf(ForbiddenError);
  });
});

describe('pushVerdict: rights and expiry checked on every push (CONTRACT §2)', () => {
  const nowMs = Date.parse(T1);
  const live = Math.floor(nowMs / 1000) + 60;
  const order = { tenant: TENANT, retailerId: 'ret-A', driverId: 'drv-1' };
  const reassigned = { ...order, driverId: 'drv-2' };

  it.each([
    ['dispatcher', dispatcher],
    ['owning retailer', retailerA],
    ['assigned driver', driver1],
  ] as [string, Principal][])('pushes to the %s while it may read the order', (_label, principal) => {
    expect(pushVerdict({ principal, exp: live }, 'order:ord-1', order, nowMs)).toBe('push');
  });

  it('revokes the driver reassigned away, and only it', () => {
    expect(pushVerdict({ principal: driver1, exp: live }, 'order:ord-1', reassigned, nowMs)).toBe('revoke');
    expect(pushVerdict({ principal: driver2, exp: live }, 'order:ord-1', reassigned, nowMs)).toBe('push');
    expect(pushVerdict({ principal: retailerA, exp: live }, 'order:ord-1', reassigned, nowMs)).toBe('push');
    expect(pushVerdict({ principal: dispatcher, exp: live }, 'order:ord-1', reassigned, nowMs)).toBe('push');
  });

  it('revokes a retailer of another retailerId and anyone of another tenant', () => {
    expect(pushVerdict({ principal: retailerB, exp: live }, 'order:ord-1', order, nowMs)).toBe('revoke');
    expect(pushVerdict({ principal: { ...dispatcher, tenant: 'other' }, exp: live }, 'order:ord-1', order, nowMs)).toBe('revoke');
  });

  it('stops at exp exactly: expired from that millisecond on, whatever the rights', () => {
    const exp = Math.floor(nowMs / 1000) + 1;
    expect(pushVerdict({ principal: dispatcher, exp }, 'order:ord-1', order, exp * 1000 - 1)).toBe('push');
    expect(pushVerdict({ principal: dispatcher, exp }, 'order:ord-1', order, exp * 1000)).toBe('expired');
    expect(pushVerdict({ principal: driver1, exp }, 'order:ord-1', reassigned, exp * 1000)).toBe('expired');
    expect(pushVerdict({ principal: dispatcher, exp }, 'dispatch', order, exp * 1000)).toBe('expired');
  });

  it('checks feed rooms for expiry only: their right rests on the principal, which a connection never changes', () => {
    expect(pushVerdict({ principal: dispatcher, exp: live }, 'dispatch', reassigned, nowMs)).toBe('push');
    expect(pushVerdict({ principal: retailerA, exp: live }, 'retailer:ret-A', reassigned, nowMs)).toBe('push');
  });

  it('checks only expiry for an event stored before rights were stamped on it', () => {
    expect(pushVerdict({ principal: driver1, exp: live }, 'order:ord-1', undefined, nowMs)).toBe('push');
  });

  it("spells the revoked push as the contract does", () => {
    expect(revokedFrame('order:ord-1')).toEqual({ type: 'revoked', room: 'order:ord-1', reason: 'unassigned' });
  });
});
