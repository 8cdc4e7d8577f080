import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../shared/domain/errors';
import type { OrderEvent, Principal } from '../../shared/domain/model';
import { authorizeFeedRoom, parseRoom, roomName, roomsForEvent, type Room } from '../../shared/domain/rooms';
import { roomSchema } from '../../shared/domain/schemas';
import { caught, dispatcher, driver1, retailerA, retailerB, T1 } from './fixtures';

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
