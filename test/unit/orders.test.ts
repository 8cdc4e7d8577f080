import { describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, IllegalTransitionError, ValidationError } from '../../shared/domain/errors';
import { acceptsAssignment, CLOSED_STATUSES, STATUSES } from '../../shared/domain/statuses';
import {
  digestCreate,
  newOrder,
  orderView,
  planAssign,
  planCheckpoint,
  planMessage,
  planRead,
} from '../../shared/domain/orders';
import type { Principal } from '../../shared/domain/model';
import { messageFrameSchema, parseOrThrow, type CreateOrderBody } from '../../shared/domain/schemas';
import {
  caught,
  CREATE_BODY,
  checkpoint,
  dispatcher,
  driver1,
  driver2,
  makeHead,
  retailerA,
  retailerB,
  T0,
  T1,
} from './fixtures';

const body: CreateOrderBody = CREATE_BODY;

describe('newOrder', () => {
  it('builds a head in status created at seq 1 and a created event with seq 1', () => {
    // Act
    const { head, event } = newOrder(retailerA, 'ord-1', body, T0);

    // Assert
    expect(head).toMatchObject({
      tenant: 'acme',
      orderId: 'ord-1',
      retailerId: 'ret-A',
      status: 'created',
      statusSince: T0,
      headSeq: 1,
      recipient: body.recipient,
      destination: body.destination,
      promisedBy: body.promisedBy,
      createdAt: T0,
      updatedAt: T0,
      readMarks: {},
    });
    expect(head.driverId).toBeUndefined();
    expect(head.pickedUpAt).toBeUndefined();
    expect(event).toEqual({
      orderId: 'ord-1',
      seq: 1,
      kind: 'created',
      at: T0,
      actor: { sub: 'ret-user-a', role: 'retailer' },
      status: 'created',
      retailerId: 'ret-A',
      recipientName: 'Ada Lovelace',
      destination: body.destination,
      promisedBy: body.promisedBy,
    });
  });

  it('leaves promisedBy out entirely when the body has none', () => {
    // Arrange
    const { promisedBy: _dropped, ...noPromise } = body;

    // Act
    const { head, event } = newOrder(dispatcher, 'ord-2', noPromise, T0);

    // Assert
    expect(head).not.toHaveProperty('promisedBy');
    expect(event).not.toHaveProperty('promisedBy');
    expect(event.actor).toEqual({ sub: 'disp-1', role: 'dispatcher' });
  });

  it('does not put the phone number in the created event', () => {
    // Act
    const { event } = newOrder(retailerA, 'ord-1', body, T0);

    // Assert
    expect(JSON.stringify(event)).not.toContain('+15550100001');
  });
});

describe('digestCreate', () => {
  it('is the same whatever the key order, at every level', () => {
    // Arrange: the same body, keys written in reverse order at every level
    const reordered: CreateOrderBody = {
      promisedBy: '2024-05-02T18:00:00Z',
      destination: { lng: -0.12, lat: 51.5, address: '1 Main St' },
      recipient: { phone: '+15550100001', name: 'Ada Lovelace' },
      retailerId: 'ret-A',
      orderId: 'ord-1',
    };

    // Act
    const a = digestCreate('ret-A', body);
    const b = digestCreate('ret-A', reordered);

    // Assert
    expect(Object.keys(reordered)[0]).toBe('promisedBy');
    expect(Object.keys(reordered.destination)[0]).toBe('lng');
    expect(b).toBe(a);
    expect(newOrder(retailerA, 'ord-1', reordered, T1).head.createDigest).toBe(newOrder(retailerA, 'ord-1', body, T0).head.createDigest);
  });

  it('is deterministic and a plausible hash', () => {
    // Act
    const a = digestCreate('ret-A', body);

    // Assert
    expect(digestCreate('ret-A', structuredClone(body))).toBe(a);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('treats an undefined optional field like an absent one', () => {
    // Arrange
    const { promisedBy: _dropped, ...absent } = body;
    const undefinedField: CreateOrderBody = { ...absent, promisedBy: undefined };

    // Act + Assert
    expect(digestCreate('ret-A', undefinedField)).toBe(digestCreate('ret-A', absent));
  });

  it.each([
    ['recipient name', { ...body, recipient: { ...body.recipient, name: 'Ada King' } }],
    ['recipient phone', { ...body, recipient: { ...body.recipient, phone: '+15550100002' } }],
    ['phone removed', { ...body, recipient: { name: body.recipient.name } }],
    ['address', { ...body, destination: { ...body.destination, address: '2 Main St' } }],
    ['latitude', { ...body, destination: { ...body.destination, lat: 51.6 } }],
    ['promisedBy', { ...body, promisedBy: '2024-05-03T18:00:00Z' }],
    ['orderId', { ...body, orderId: 'ord-9' }],
  ] as [string, CreateOrderBody][])('changes when the %s changes', (_label, changed) => {
    // Act + Assert
    expect(digestCreate('ret-A', changed)).not.toBe(digestCreate('ret-A', body));
  });

  it('changes with the retailerId', () => {
    expect(digestCreate('ret-B', { ...body, retailerId: 'ret-B' })).not.toBe(digestCreate('ret-A', body));
  });
});

describe('planCheckpoint', () => {
  it('a same-status checkpoint is a progress update: status and statusSince untouched', () => {
    // Arrange
    const head = makeHead({ status: 'out_for_delivery', statusSince: T0 });
    const frame = checkpoint('out_for_delivery', { location: { lat: 51.51, lng: -0.13, accuracyM: 8 }, note: 'traffic' });

    // Act
    const { event, change } = planCheckpoint(driver1, head, frame, T1);

    // Assert
    expect(event).toMatchObject({
      orderId: 'ord-1',
      kind: 'checkpoint',
      at: T1,
      actor: { sub: 'drv-1', role: 'driver' },
      eventId: 'evt-1',
      status: 'out_for_delivery',
      previousStatus: 'out_for_delivery',
      statusChanged: false,
      occurredAt: '2024-05-01T08:00:00Z',
      location: { lat: 51.51, lng: -0.13, accuracyM: 8 },
      note: 'traffic',
    });
    expect(change).not.toHaveProperty('status');
    expect(change).not.toHaveProperty('statusSince');
    expect(change.lastLocation).toEqual({ lat: 51.51, lng: -0.13, accuracyM: 8 });
  });

  it('a progress update without a location leaves status, clock, pickup and position alone', () => {
    // Act
    const { change } = planCheckpoint(driver1, makeHead(), checkpoint('out_for_delivery'), T1);

    // Assert
    for (const key of ['status', 'statusSince', 'pickedUpAt', 'lastLocation', 'driverId']) {
      expect(change).not.toHaveProperty(key);
    }
  });

  it('a legal move changes status and restarts statusSince at server time', () => {
    // Arrange
    const head = makeHead({ status: 'picked_up', statusSince: T0 });

    // Act
    const { event, change } = planCheckpoint(driver1, head, checkpoint('in_transit'), T1);

    // Assert
    expect(event.statusChanged).toBe(true);
    expect(event.previousStatus).toBe('picked_up');
    expect(event.status).toBe('in_transit');
    expect(change).toMatchObject({ status: 'in_transit', statusSince: T1 });
    expect(change).not.toHaveProperty('pickedUpAt');
  });

  it('sets pickedUpAt on the first picked_up', () => {
    // Arrange
    const head = makeHead({ status: 'packed', pickedUpAt: undefined });

    // Act
    const { change } = planCheckpoint(driver1, head, checkpoint('picked_up'), T1);

    // Assert
    expect(change).toMatchObject({ status: 'picked_up', statusSince: T1, pickedUpAt: T1 });
  });

  it('does not move pickedUpAt on a later picked_up (exception -> picked_up)', () => {
    // Arrange
    const head = makeHead({ status: 'exception', pickedUpAt: T0 });

    // Act
    const { change } = planCheckpoint(driver1, head, checkpoint('picked_up'), T1);

    // Assert
    expect(change).not.toHaveProperty('pickedUpAt');
    expect(change.status).toBe('picked_up');
  });

  it('does not set pickedUpAt for moves into other statuses', () => {
    // Arrange
    const head = makeHead({ status: 'created', pickedUpAt: undefined });

    // Act
    const { change } = planCheckpoint(dispatcher, head, checkpoint('packed'), T1);

    // Assert
    expect(change).toMatchObject({ status: 'packed', statusSince: T1 });
    expect(change).not.toHaveProperty('pickedUpAt');
  });

  it('sets pickedUpAt when the carrier has the parcel without a picked_up (exception -> in_transit)', () => {
    // Arrange: created -> exception never passed picked_up
    const head = makeHead({ status: 'exception', pickedUpAt: undefined });

    // Act
    const { change } = planCheckpoint(dispatcher, head, checkpoint('in_transit'), T1);

    // Assert
    expect(change).toMatchObject({ status: 'in_transit', pickedUpAt: T1 });
  });

  it('carries reason and proof into the event, and only when given', () => {
    // Act
    const failed = planCheckpoint(driver1, makeHead(), checkpoint('attempt_failed', { reason: 'no answer' }), T1);
    const delivered = planCheckpoint(driver1, makeHead(), checkpoint('delivered', { proof: { recipientType: 'neighbor', recipientName: 'Bob' } }), T1);
    const plain = planCheckpoint(driver1, makeHead({ status: 'at_hub' }), checkpoint('in_transit'), T1);

    // Assert
    expect(failed.event.reason).toBe('no answer');
    expect(delivered.event.proof).toEqual({ recipientType: 'neighbor', recipientName: 'Bob' });
    for (const key of ['reason', 'proof', 'note', 'location']) expect(plain.event).not.toHaveProperty(key);
  });

  it('an illegal move throws IllegalTransitionError with the allowed list', () => {
    // Arrange
    const head = makeHead({ status: 'created' });

    // Act
    const err = caught(() => planCheckpoint(dispatcher, head, checkpoint('delivered'), T1));

    // Assert
    expect(err).toBeInstanceOf(IllegalTransitionError);
    const illegal = err as IllegalTransitionError;
    expect(illegal.code).toBe('ILLEGAL_TRANSITION');
    expect(illegal.httpStatus).toBe(409);
    expect(illegal.details).toEqual({
      from: 'created',
      to: 'delivered',
      allowed: ['picking', 'packed', 'picked_up', 'cancelled', 'exception'],
    });
    expect(illegal.message).toContain('"created"');
    expect(illegal.message).toContain('"delivered"');
  });

  it('a move out of a final status is illegal with an empty allowed list', () => {
    // Arrange
    const head = makeHead({ status: 'returned' });

    // Act
    const err = caught(() => planCheckpoint(dispatcher, head, checkpoint('returning'), T1)) as IllegalTransitionError;

    // Assert
    expect(err).toBeInstanceOf(IllegalTransitionError);
    expect(err.details).toEqual({ from: 'returned', to: 'returning', allowed: [] });
    expect(err.message).toMatch(/final/);
  });

  it('checks permission before the transition: an unassigned driver gets FORBIDDEN, not ILLEGAL_TRANSITION', () => {
    // Act
    const err = caught(() => planCheckpoint(driver2, makeHead({ status: 'created' }), checkpoint('delivered'), T1));

    // Assert
    expect(err).toBeInstanceOf(ForbiddenError);
  });

  it('a retailer cancels before pickup, but not after', () => {
    // Arrange
    const before = makeHead({ status: 'packed', pickedUpAt: undefined, driverId: undefined });
    const after = makeHead({ status: 'exception', pickedUpAt: T0 });

    // Act
    const ok = planCheckpoint(retailerA, before, checkpoint('cancelled'), T1);
    const err = caught(() => planCheckpoint(retailerA, after, checkpoint('cancelled'), T1));

    // Assert
    expect(ok.change).toMatchObject({ status: 'cancelled', statusSince: T1 });
    expect(ok.event.actor).toEqual({ sub: 'ret-user-a', role: 'retailer' });
    expect(err).toBeInstanceOf(ForbiddenError);
  });
});

describe('planMessage', () => {
  const frame = parseOrThrow(messageFrameSchema, { action: 'message', messageId: 'm-1', orderId: 'ord-1', text: 'hi' });

  it('records a message event and changes nothing on the head', () => {
    // Act
    const { event, change } = planMessage(retailerA, makeHead(), frame, T1);

    // Assert
    expect(event).toEqual({
      orderId: 'ord-1',
      kind: 'message',
      at: T1,
      actor: { sub: 'ret-user-a', role: 'retailer' },
      messageId: 'm-1',
      text: 'hi',
    });
    expect(change).toEqual({});
  });

  it('refuses those who may not access the order', () => {
    expect(caught(() => planMessage(retailerB, makeHead(), frame, T1))).toBeInstanceOf(ForbiddenError);
    expect(caught(() => planMessage(driver2, makeHead(), frame, T1))).toBeInstanceOf(ForbiddenError);
  });
});

describe('planRead', () => {
  const head = makeHead({ headSeq: 5, readMarks: { 'drv-1': 3 } });

  it('returns null when the mark does not advance', () => {
    // Act + Assert
    expect(planRead(driver1, head, 3, T1)).toBeNull();
    expect(planRead(driver1, head, 2, T1)).toBeNull();
  });

  it('records a read event and the new mark when it advances', () => {
    // Act
    const plan = planRead(driver1, head, 5, T1);

    // Assert
    expect(plan).not.toBeNull();
    expect(plan?.event).toEqual({ orderId: 'ord-1', kind: 'read', at: T1, actor: { sub: 'drv-1', role: 'driver' }, readSeq: 5 });
    expect(plan?.change).toEqual({ readMark: { sub: 'drv-1', seq: 5 } });
  });

  it('a first read by someone with no mark is recorded', () => {
    // Act
    const plan = planRead(dispatcher, head, 1, T1);

    // Assert
    expect(plan?.change).toEqual({ readMark: { sub: 'disp-1', seq: 1 } });
  });

  it('a mark beyond headSeq is VALIDATION naming seq', () => {
    // Act
    const err = caught(() => planRead(driver1, head, 6, T1));

    // Assert
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('VALIDATION');
    expect((err as ValidationError).message).toContain('"seq"');
  });

  it('refuses those who may not read the order, before looking at seq', () => {
    expect(caught(() => planRead(retailerB, head, 99, T1))).toBeInstanceOf(ForbiddenError);
  });
});

describe('planAssign', () => {
  it('returns null when the same driver is assigned again', () => {
    expect(planAssign(dispatcher, makeHead({ driverId: 'drv-1' }), 'drv-1', T1)).toBeNull();
  });

  it('a first assignment has no previousDriverId', () => {
    // Act
    const plan = planAssign(dispatcher, makeHead({ driverId: undefined }), 'drv-1', T1);

    // Assert
    expect(plan?.event).toEqual({
      orderId: 'ord-1',
      kind: 'assigned',
      at: T1,
      actor: { sub: 'disp-1', role: 'dispatcher' },
      driverId: 'drv-1',
    });
    expect(plan?.change).toEqual({ driverId: 'drv-1' });
  });

  it('a reassignment names the previous driver', () => {
    // Act
    const plan = planAssign(dispatcher, makeHead({ driverId: 'drv-1' }), 'drv-2', T1);

    // Assert
    expect(plan?.event.previousDriverId).toBe('drv-1');
    expect(plan?.event.driverId).toBe('drv-2');
    expect(plan?.change).toEqual({ driverId: 'drv-2' });
  });

  it.each(['delivered', 'returned', 'cancelled', 'followed_up'] as const)(
    'refuses any driver for an order in %s with CONFLICT (409), the one it has included (CONTRACT §4)',
    (status) => {
      for (const [driverId, had] of [
        ['drv-2', 'drv-1'],
        ['drv-1', 'drv-1'],
        ['drv-1', undefined],
      ] as const) {
        const err = caught(() => planAssign(dispatcher, makeHead({ status, driverId: had }), driverId, T1));
        expect(err).toBeInstanceOf(ConflictError);
        expect(err).toMatchObject({ code: 'CONFLICT', httpStatus: 409, details: { status } });
        expect((err as Error).message).toContain(status);
      }
    },
  );

  it('the statuses that refuse a driver are exactly delivered and the final ones', () => {
    expect([...CLOSED_STATUSES].sort()).toEqual(['cancelled', 'delivered', 'followed_up', 'returned']);
    for (const status of STATUSES) {
      const open = !CLOSED_STATUSES.includes(status);
      expect(acceptsAssignment(status), status).toBe(open);
      if (open) expect(planAssign(dispatcher, makeHead({ status, driverId: 'drv-1' }), 'drv-2', T1)?.change, status).toEqual({ driverId: 'drv-2' });
    }
  });
});

describe('orderView', () => {
  const head = makeHead({ promisedBy: '2024-05-02T18:00:00Z', openAlertId: 'al-1', readMarks: { 'drv-1': 2 } });

  it.each([
    ['dispatcher', dispatcher],
    ['assigned driver', driver1],
  ] as [string, Principal][])('shows the phone to the %s', (_label, p) => {
    // Act
    const view = orderView(p, head);

    // Assert
    expect(view.recipient).toEqual({ name: 'Ada Lovelace', phone: '+15550100001' });
  });

  it.each([
    ['owning retailer', retailerA],
    ['unassigned driver', driver2],
  ] as [string, Principal][])('hides the phone from the %s', (_label, p) => {
    // Act
    const view = orderView(p, head);

    // Assert
    expect(view.recipient).toEqual({ name: 'Ada Lovelace' });
    expect(JSON.stringify(view)).not.toContain('+15550100001');
  });

  it('carries every field CONTRACT §4 names, and no storage internals', () => {
    // Act
    const view = orderView(dispatcher, head);

    // Assert
    expect(view).toMatchObject({
      orderId: 'ord-1',
      tenant: 'acme',
      retailerId: 'ret-A',
      driverId: 'drv-1',
      status: 'out_for_delivery',
      statusSince: T0,
      headSeq: 5,
      destination: head.destination,
      promisedBy: '2024-05-02T18:00:00Z',
      createdAt: T0,
      openAlertId: 'al-1',
      readMarks: { 'drv-1': 2 },
    });
    expect(view).not.toHaveProperty('createDigest');
    expect(view).not.toHaveProperty('pickedUpAt');
  });

  it('omits driverId and promisedBy when the order has none', () => {
    // Act
    const view = orderView(dispatcher, makeHead({ driverId: undefined }));

    // Assert
    expect(view).not.toHaveProperty('driverId');
    expect(view).not.toHaveProperty('promisedBy');
  });

  it('returns a copy of readMarks, not the head’s own object', () => {
    // Act
    const view = orderView(dispatcher, head);
    view.readMarks['x'] = 1;

    // Assert
    expect(head.readMarks).toEqual({ 'drv-1': 2 });
  });
});
