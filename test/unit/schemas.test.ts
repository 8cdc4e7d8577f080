import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ValidationError } from '../../shared/domain/errors';
import { ACTIONS, isAction } from '../../shared/domain/protocol';
import {
  ackAlertFrameSchema,
  authFrameSchema,
  assignBodySchema,
  checkpointFrameSchema,
  claimsSchema,
  MAX_TOKEN_EXP,
  createOrderBodySchema,
  listOrdersQuerySchema,
  messageFrameSchema,
  parseOrThrow,
  pingFrameSchema,
  readFrameSchema,
  RECIPIENT_TYPES,
  subscribeFrameSchema,
  timelineQuerySchema,
  unsubscribeFrameSchema,
} from '../../shared/domain/schemas';
import { STATUSES } from '../../shared/domain/statuses';
import { caught, rawCheckpoint } from './fixtures';

/** Parse and expect a VALIDATION error whose message names `field`. */
function expectInvalid(schema: z.ZodType, value: unknown, field: string): ValidationError {
  const err = caught(() => parseOrThrow(schema, value, 'frame'));
  expect(err).toBeInstanceOf(ValidationError);
  const v = err as ValidationError;
  expect(v.code).toBe('VALIDATION');
  expect(v.httpStatus).toBe(400);
  expect(v.message).toContain(`"${field}"`);
  return v;
}

function expectValid(schema: z.ZodType, value: unknown): void {
  expect(() => parseOrThrow(schema, value, 'frame')).not.toThrow();
}

const id128 = 'x'.repeat(128);
const id129 = 'x'.repeat(129);

describe('checkpoint frame', () => {
  it('accepts a minimal progress checkpoint', () => {
    // Arrange
    const frame = rawCheckpoint('picking');

    // Act
    const parsed = parseOrThrow(checkpointFrameSchema, frame);

    // Assert
    expect(parsed).toMatchObject({ action: 'checkpoint', status: 'picking', eventId: 'evt-1', orderId: 'ord-1' });
  });

  it.each(['lost', 'CREATED', '', 'delivered '])('status %j, not in §3, is VALIDATION naming "status"', (status) => {
    expectInvalid(checkpointFrameSchema, rawCheckpoint(status), 'status');
  });

  it('a missing or non-string status is VALIDATION naming "status"', () => {
    // Arrange
    const { status: _dropped, ...noStatus } = rawCheckpoint('picking');

    // Act + Assert
    expectInvalid(checkpointFrameSchema, noStatus, 'status');
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { status: 7 }), 'status');
  });

  it.each(['2024-05-01T10:00:00', '2024-05-01 10:00:00Z', '2024-05-01', 'yesterday', '1714557600000'])(
    'occurredAt %j (no zone / not ISO) is rejected naming "occurredAt"',
    (occurredAt) => {
      expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { occurredAt }), 'occurredAt');
    },
  );

  it.each(['2024-05-01T10:00:00Z', '2024-05-01T10:00:00.123Z', '2024-05-01T10:00:00+02:00', '2024-05-01T10:00:00-05:30'])(
    'occurredAt %j (with a zone) is accepted',
    (occurredAt) => {
      expectValid(checkpointFrameSchema, rawCheckpoint('picking', { occurredAt }));
    },
  );

  it('occurredAt as a number is rejected naming "occurredAt"', () => {
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { occurredAt: 1714557600000 }), 'occurredAt');
  });

  it.each([90, -90, 0, 45.123456])('lat %d is accepted', (lat) => {
    expectValid(checkpointFrameSchema, rawCheckpoint('picking', { location: { lat, lng: 0 } }));
  });

  it.each([90.0001, -90.0001, 180])('lat %d is rejected naming "location.lat"', (lat) => {
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { location: { lat, lng: 0 } }), 'location.lat');
  });

  it.each([180, -180])('lng %d is accepted', (lng) => {
    expectValid(checkpointFrameSchema, rawCheckpoint('picking', { location: { lat: 0, lng } }));
  });

  it.each([180.0001, -180.0001])('lng %d is rejected naming "location.lng"', (lng) => {
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { location: { lat: 0, lng } }), 'location.lng');
  });

  it('a location without lat or lng, or with a string coordinate, is rejected', () => {
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { location: { lng: 0 } }), 'location.lat');
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { location: { lat: 0 } }), 'location.lng');
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { location: { lat: '1', lng: 0 } }), 'location.lat');
  });

  it('accuracyM must be >= 0', () => {
    expectValid(checkpointFrameSchema, rawCheckpoint('picking', { location: { lat: 0, lng: 0, accuracyM: 0 } }));
    expectValid(checkpointFrameSchema, rawCheckpoint('picking', { location: { lat: 0, lng: 0, accuracyM: 12.5 } }));
    expectInvalid(
      checkpointFrameSchema,
      rawCheckpoint('picking', { location: { lat: 0, lng: 0, accuracyM: -0.01 } }),
      'location.accuracyM',
    );
  });

  it.each(['eventId', 'orderId'])('%s: empty and 129 characters rejected, 1 and 128 accepted', (field) => {
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { [field]: '' }), field);
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { [field]: id129 }), field);
    expectValid(checkpointFrameSchema, rawCheckpoint('picking', { [field]: 'a' }));
    expectValid(checkpointFrameSchema, rawCheckpoint('picking', { [field]: id128 }));
  });

  it('a missing eventId is rejected naming it', () => {
    // Arrange
    const { eventId: _dropped, ...frame } = rawCheckpoint('picking');

    // Act + Assert
    expectInvalid(checkpointFrameSchema, frame, 'eventId');
  });

  it('note: 4000 characters accepted, 4001 rejected', () => {
    expectValid(checkpointFrameSchema, rawCheckpoint('picking', { note: 'n'.repeat(4000) }));
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { note: 'n'.repeat(4001) }), 'note');
  });

  it('delivered without proof is rejected naming "proof"; with proof it parses', () => {
    // Arrange
    const { proof: _dropped, ...noProof } = rawCheckpoint('delivered');

    // Act + Assert
    expectInvalid(checkpointFrameSchema, noProof, 'proof');
    expectInvalid(checkpointFrameSchema, { ...noProof, proof: {} }, 'proof.recipientType');
    expectInvalid(checkpointFrameSchema, { ...noProof, proof: { recipientType: 'dog' } }, 'proof.recipientType');
    for (const recipientType of RECIPIENT_TYPES) {
      expectValid(checkpointFrameSchema, { ...noProof, proof: { recipientType, recipientName: 'Bob' } });
    }
  });

  it.each(['attempt_failed', 'exception'])('%s without a reason (or with an empty one) is rejected naming "reason"', (status) => {
    // Arrange
    const { reason: _dropped, ...noReason } = rawCheckpoint(status);

    // Act + Assert
    expectInvalid(checkpointFrameSchema, noReason, 'reason');
    expectInvalid(checkpointFrameSchema, { ...noReason, reason: '' }, 'reason');
    expectValid(checkpointFrameSchema, { ...noReason, reason: 'recipient absent' });
  });

  it('a wrong action literal is rejected', () => {
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { action: 'message' }), 'action');
  });

  it('reqId is optional but bounded like an id', () => {
    expectValid(checkpointFrameSchema, rawCheckpoint('picking', { reqId: 'r1' }));
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { reqId: '' }), 'reqId');
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picking', { reqId: id129 }), 'reqId');
  });
});

describe('message frame', () => {
  const base = { action: 'message', messageId: 'msg-1', orderId: 'ord-1' };

  it('needs text or an attachment', () => {
    const err = expectInvalid(messageFrameSchema, base, 'text');
    expect(err.message).toMatch(/text or an attachment/);
  });

  it('accepts text alone, an attachment alone, or both', () => {
    expectValid(messageFrameSchema, { ...base, text: 'on my way' });
    expectValid(messageFrameSchema, { ...base, attachment: { kind: 'image', key: 'photos/1.jpg' } });
    expectValid(messageFrameSchema, { ...base, text: 'here', attachment: { kind: 'location', lat: 1, lng: 2 } });
  });

  it('text: 4000 characters accepted, 4001 and empty rejected', () => {
    expectValid(messageFrameSchema, { ...base, text: 't'.repeat(4000) });
    expectInvalid(messageFrameSchema, { ...base, text: 't'.repeat(4001) }, 'text');
    expectInvalid(messageFrameSchema, { ...base, text: '' }, 'text');
  });

  it('a location attachment needs lat and lng; image and file need key', () => {
    expectInvalid(messageFrameSchema, { ...base, attachment: { kind: 'location', lat: 1 } }, 'attachment');
    expectInvalid(messageFrameSchema, { ...base, attachment: { kind: 'image' } }, 'attachment');
    expectInvalid(messageFrameSchema, { ...base, attachment: { kind: 'file', lat: 1, lng: 1 } }, 'attachment');
    expectInvalid(messageFrameSchema, { ...base, attachment: { kind: 'video', key: 'k' } }, 'attachment.kind');
    expectInvalid(messageFrameSchema, { ...base, attachment: { kind: 'location', lat: 91, lng: 1 } }, 'attachment.lat');
  });

  it('messageId: empty and 129 characters rejected, 128 accepted', () => {
    expectInvalid(messageFrameSchema, { ...base, messageId: '', text: 'x' }, 'messageId');
    expectInvalid(messageFrameSchema, { ...base, messageId: id129, text: 'x' }, 'messageId');
    expectValid(messageFrameSchema, { ...base, messageId: id128, text: 'x' });
  });
});

describe('client text is well-formed Unicode', () => {
  const lone = ['\uD800zz', 'zz\uDC00', 'a\uDBFFb', '\uDC00\uD800'];

  it.each(lone)('refuses %j (a lone surrogate) in ids, texts, notes, reasons and names, naming the field', (bad) => {
    expectInvalid(messageFrameSchema, { action: 'message', messageId: bad, orderId: 'o', text: 'x' }, 'messageId');
    expectInvalid(messageFrameSchema, { action: 'message', messageId: 'm', orderId: 'o', text: bad }, 'text');
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picked_up', { eventId: bad }), 'eventId');
    expectInvalid(checkpointFrameSchema, rawCheckpoint('picked_up', { note: bad }), 'note');
    expectInvalid(checkpointFrameSchema, rawCheckpoint('attempt_failed', { reason: bad }), 'reason');
    expectInvalid(createOrderBodySchema, { retailerId: 'r', recipient: { name: bad }, destination: { address: 'a' } }, 'recipient.name');
  });

  it('accepts surrogate pairs (emoji) and any other text', () => {
    expectValid(messageFrameSchema, { action: 'message', messageId: '\u{1F4E6}-1', orderId: 'o', text: 'parcel \u{1F4E6} left at n\u00B0 7' });
    expectValid(checkpointFrameSchema, rawCheckpoint('picked_up', { eventId: 'ev-\u{1F69A}', note: '\u{1F69A}' }));
  });
});

describe('numbers are what DynamoDB stores', () => {
  const at = (location: Record<string, unknown>) => rawCheckpoint('picked_up', { location });

  it('accepts 0, 1e-130 and 2^53 - 1 in magnitude', () => {
    expectValid(checkpointFrameSchema, at({ lat: 0, lng: -0, accuracyM: 0 }));
    expectValid(checkpointFrameSchema, at({ lat: 1e-130, lng: -1e-130, accuracyM: Number.MAX_SAFE_INTEGER }));
  });

  it.each([
    ['lat', { lat: 1e-131, lng: 0 }],
    ['lng', { lat: 0, lng: -5e-324 }],
    ['accuracyM', { lat: 0, lng: 0, accuracyM: Number.MAX_SAFE_INTEGER + 2 }],
    ['accuracyM', { lat: 0, lng: 0, accuracyM: 1e21 }],
  ])('refuses %s out of that range, naming it', (field, location) => {
    expectInvalid(checkpointFrameSchema, at(location), `location.${field}`);
  });
});

describe('subscribe and unsubscribe frames', () => {
  it.each(['dispatch', 'order:ord-1', 'retailer:ret-A', 'order:a:b', `order:${id128}`, `retailer:${id128}`])(
    'room %j is accepted',
    (room) => {
      expectValid(subscribeFrameSchema, { action: 'subscribe', room });
      expectValid(unsubscribeFrameSchema, { action: 'unsubscribe', room });
    },
  );

  it.each(['', 'order:', 'retailer:', 'Dispatch', 'dispatch:', 'driver:drv-1', 'orders:1', 'ord-1', `order:${id129}`])(
    'room %j is rejected naming "room"',
    (room) => {
      expectInvalid(subscribeFrameSchema, { action: 'subscribe', room }, 'room');
      expectInvalid(unsubscribeFrameSchema, { action: 'unsubscribe', room }, 'room');
    },
  );

  it('sinceSeq is an optional non-negative integer', () => {
    expectValid(subscribeFrameSchema, { action: 'subscribe', room: 'order:o', sinceSeq: 0 });
    expectValid(subscribeFrameSchema, { action: 'subscribe', room: 'order:o', sinceSeq: 42 });
    expectInvalid(subscribeFrameSchema, { action: 'subscribe', room: 'order:o', sinceSeq: -1 }, 'sinceSeq');
    expectInvalid(subscribeFrameSchema, { action: 'subscribe', room: 'order:o', sinceSeq: 1.5 }, 'sinceSeq');
    expectInvalid(subscribeFrameSchema, { action: 'subscribe', room: 'order:o', sinceSeq: '3' }, 'sinceSeq');
  });
});

describe('read, ackAlert and ping frames', () => {
  it('read needs an orderId and a seq >= 1', () => {
    expectValid(readFrameSchema, { action: 'read', orderId: 'o', seq: 1 });
    expectInvalid(readFrameSchema, { action: 'read', orderId: 'o', seq: 0 }, 'seq');
    expectInvalid(readFrameSchema, { action: 'read', orderId: '', seq: 1 }, 'orderId');
  });

  it('ackAlert needs an alertId', () => {
    expectValid(ackAlertFrameSchema, { action: 'ackAlert', alertId: 'al-1' });
    expectInvalid(ackAlertFrameSchema, { action: 'ackAlert' }, 'alertId');
  });

  it('ping needs only its action', () => {
    expectValid(pingFrameSchema, { action: 'ping' });
    expectValid(pingFrameSchema, { action: 'ping', reqId: 'r' });
  });

  it('auth needs a non-empty token of reasonable size', () => {
    expectValid(authFrameSchema, { action: 'auth', reqId: 'r', token: 'a.b.c' });
    expectInvalid(authFrameSchema, { action: 'auth' }, 'token');
    expectInvalid(authFrameSchema, { action: 'auth', token: '' }, 'token');
    expectInvalid(authFrameSchema, { action: 'auth', token: 42 }, 'token');
    expectInvalid(authFrameSchema, { action: 'auth', token: 'x'.repeat(16_385) }, 'token');
  });

  it('isAction knows exactly the actions of CONTRACT §5', () => {
    // Arrange
    const actions = ['subscribe', 'unsubscribe', 'checkpoint', 'message', 'read', 'ackAlert', 'ping', 'auth'];

    // Act + Assert
    expect(Object.keys(ACTIONS).sort()).toEqual([...actions].sort());
    for (const a of actions) expect(isAction(a)).toBe(true);
    for (const a of ['toString', 'constructor', '__proto__', 'Ping', '', 1]) expect(isAction(a)).toBe(false);
  });
});

describe('claims', () => {
  const base = { sub: 'u1', tenant: 'acme', exp: 1_900_000_000 };

  it('a retailer token needs retailerId', () => {
    const err = expectInvalid(claimsSchema, { ...base, role: 'retailer' }, 'retailerId');
    expect(err.message).toMatch(/retailer token needs retailerId/);
    expectValid(claimsSchema, { ...base, role: 'retailer', retailerId: 'ret-A' });
  });

  it('drivers and dispatchers need no retailerId', () => {
    expectValid(claimsSchema, { ...base, role: 'driver' });
    expectValid(claimsSchema, { ...base, role: 'dispatcher' });
  });

  it('role must be driver, retailer or dispatcher', () => {
    expectInvalid(claimsSchema, { ...base, role: 'admin' }, 'role');
  });

  it('exp is epoch seconds up to 9999-12-31T23:59:59Z: a huge or negative one is refused, not stored', () => {
    expect(new Date(MAX_TOKEN_EXP * 1000).toISOString()).toBe('9999-12-31T23:59:59.000Z');
    expectValid(claimsSchema, { ...base, role: 'driver', exp: MAX_TOKEN_EXP });
    for (const exp of [MAX_TOKEN_EXP + 1, 1e20, Number.MAX_VALUE, -1]) expectInvalid(claimsSchema, { ...base, role: 'driver', exp }, 'exp');
  });

  it('tenant must use the safe alphabet; sub and exp are required', () => {
    expectInvalid(claimsSchema, { ...base, role: 'driver', tenant: 'a/b' }, 'tenant');
    expectInvalid(claimsSchema, { ...base, role: 'driver', tenant: '' }, 'tenant');
    expectInvalid(claimsSchema, { ...base, role: 'driver', tenant: 't'.repeat(65) }, 'tenant');
    expectValid(claimsSchema, { ...base, role: 'driver', tenant: 't'.repeat(64) });
    expectInvalid(claimsSchema, { tenant: 'acme', role: 'driver', exp: 1 }, 'sub');
    expectInvalid(claimsSchema, { sub: 'u', tenant: 'acme', role: 'driver' }, 'exp');
  });
});

describe('createOrder body', () => {
  const body = {
    retailerId: 'ret-A',
    recipient: { name: 'Ada', phone: '+15550100001' },
    destination: { address: '1 Main St', lat: 51.5, lng: -0.1 },
    promisedBy: '2024-05-02T18:00:00+01:00',
  };

  it('accepts a full body and a minimal one', () => {
    expectValid(createOrderBodySchema, body);
    expectValid(createOrderBodySchema, { retailerId: 'r', recipient: { name: 'A' }, destination: { address: 'x' } });
  });

  it.each(['+1234567', '+123456789012345', '+4930123456'])('phone %s (E.164) is accepted', (phone) => {
    expectValid(createOrderBodySchema, { ...body, recipient: { name: 'Ada', phone } });
  });

  it.each(['15550100001', '+0123456789', '+123456', '+1234567890123456', '+1 555 010 0001', '+1-555-0100', ''])(
    'phone %j (not E.164) is rejected naming "recipient.phone"',
    (phone) => {
      expectInvalid(createOrderBodySchema, { ...body, recipient: { name: 'Ada', phone } }, 'recipient.phone');
    },
  );

  it('names nested fields when they are wrong', () => {
    expectInvalid(createOrderBodySchema, { ...body, recipient: { name: '' } }, 'recipient.name');
    expectInvalid(createOrderBodySchema, { ...body, destination: { address: '' } }, 'destination.address');
    expectInvalid(createOrderBodySchema, { ...body, destination: { address: 'a', lat: 100 } }, 'destination.lat');
    expectInvalid(createOrderBodySchema, { ...body, promisedBy: '2024-05-02T18:00:00' }, 'promisedBy');
    expectInvalid(createOrderBodySchema, { ...body, retailerId: '' }, 'retailerId');
    expectInvalid(createOrderBodySchema, { ...body, orderId: id129 }, 'orderId');
  });

  it('assign body needs a driverId', () => {
    expectValid(assignBodySchema, { driverId: 'drv-1' });
    expectInvalid(assignBodySchema, {}, 'driverId');
  });
});

describe('HTTP query schemas', () => {
  it('list query: status must be one of §3, stalled true/false, limit coerced 1..500', () => {
    // Act
    const parsed = parseOrThrow(listOrdersQuerySchema, { status: 'at_hub', stalled: 'true', limit: '50' });

    // Assert
    expect(parsed).toEqual({ status: 'at_hub', stalled: 'true', limit: 50 });
    expectInvalid(listOrdersQuerySchema, { status: 'lost' }, 'status');
    expectInvalid(listOrdersQuerySchema, { stalled: 'yes' }, 'stalled');
    expectInvalid(listOrdersQuerySchema, { limit: '0' }, 'limit');
    expectInvalid(listOrdersQuerySchema, { limit: '501' }, 'limit');
    expect(parseOrThrow(listOrdersQuerySchema, { limit: '500' })).toEqual({ limit: 500 });
  });

  it.each(['abc', '0', '2.5', '501', '-1', '', '1e2', '0x10', '2.0', ' 1', '1 ', '+5'])('limit=%j is VALIDATION with a message a person can read', (limit) => {
    const err = expectInvalid(timelineQuerySchema, { limit }, 'limit');
    expect(err.message).toContain('"limit" must be an integer from 1 to 500');
  });

  it.each(['1e2', '0x10', '2.0', ' 3', '-0', '99999999999999999'])('sinceSeq=%j (not plain decimal digits, or past 2^53) is VALIDATION', (sinceSeq) => {
    expectInvalid(timelineQuerySchema, { sinceSeq }, 'sinceSeq');
  });

  it('timeline query: sinceSeq >= 0, limit 1..500, both coerced from strings', () => {
    // Act
    const parsed = parseOrThrow(timelineQuerySchema, { sinceSeq: '0', limit: '500' });

    // Assert
    expect(parsed).toEqual({ sinceSeq: 0, limit: 500 });
    expectInvalid(timelineQuerySchema, { sinceSeq: '-1' }, 'sinceSeq');
    expectInvalid(timelineQuerySchema, { limit: '501' }, 'limit');
    expectInvalid(timelineQuerySchema, { sinceSeq: 'abc' }, 'sinceSeq');
  });
});

describe('parseOrThrow', () => {
  it('names the "what", the first bad field, and lists every issue in details', () => {
    // Arrange
    const frame = rawCheckpoint('picking', { eventId: '', location: { lat: 100, lng: 0 } });

    // Act
    const err = caught(() => parseOrThrow(checkpointFrameSchema, frame, 'checkpoint')) as ValidationError;

    // Assert
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/^Invalid checkpoint: "/);
    const details = err.details as { issues: { field: string; message: string }[] };
    expect(details.issues.map((i) => i.field).sort()).toEqual(['eventId', 'location.lat']);
  });

  it('names "(root)" when the value is not an object at all', () => {
    // Act
    const err = caught(() => parseOrThrow(checkpointFrameSchema, 'nope')) as ValidationError;

    // Assert
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain('"(root)"');
  });

  it('returns the parsed data, dropping unknown keys', () => {
    // Act
    const parsed = parseOrThrow(pingFrameSchema, { action: 'ping', extra: 1 });

    // Assert
    expect(parsed).toEqual({ action: 'ping' });
  });
});

// ---------------------------------------------------------------- properties

const idArb = fc.string({ minLength: 1, maxLength: 128 });
const zoneArb = fc.constantFrom('Z', '+00:00', '+02:00', '-05:30', '+14:00', '-12:00');
const isoArb = fc
  .tuple(
    fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }),
    zoneArb,
    fc.boolean(),
  )
  .map(([d, zone, millis]) => {
    const iso = d.toISOString();
    return (millis ? iso : iso.replace(/\.\d{3}Z$/, 'Z')).replace(/Z$/, zone);
  });
/** Numbers DynamoDB stores: 0 or at least 1e-130 in magnitude (`storableNumber`). */
const storable = (n: number) => n === 0 || Math.abs(n) >= 1e-130;
const locationArb = fc.record(
  {
    lat: fc.double({ min: -90, max: 90, noNaN: true }).filter(storable),
    lng: fc.double({ min: -180, max: 180, noNaN: true }).filter(storable),
    accuracyM: fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true }).filter(storable),
  },
  { requiredKeys: ['lat', 'lng'] },
);
const proofArb = fc.record(
  {
    recipientType: fc.constantFrom(...RECIPIENT_TYPES),
    recipientName: fc.string({ minLength: 1, maxLength: 200 }),
    photoKey: idArb,
    signatureKey: idArb,
  },
  { requiredKeys: ['recipientType'] },
);
const reasonArb = fc.string({ minLength: 1, maxLength: 1000 });
const validCheckpointArb = fc
  .tuple(
    fc.constantFrom(...STATUSES),
    fc.record(
      {
        reqId: idArb,
        eventId: idArb,
        orderId: idArb,
        occurredAt: isoArb,
        location: locationArb,
        note: fc.oneof(fc.string({ maxLength: 300 }), fc.constant('n'.repeat(4000))),
        reason: reasonArb,
        proof: proofArb,
      },
      { requiredKeys: ['eventId', 'orderId', 'occurredAt'] },
    ),
    reasonArb,
    proofArb,
  )
  .map(([status, fields, reason, proof]) => ({
    action: 'checkpoint',
    status,
    ...fields,
    ...((status === 'attempt_failed' || status === 'exception') && { reason }),
    ...(status === 'delivered' && { proof }),
  }));

describe('properties', () => {
  it('every valid checkpoint frame parses, keeping its status and ids', () => {
    fc.assert(
      fc.property(validCheckpointArb, (frame) => {
        // Act
        const parsed = parseOrThrow(checkpointFrameSchema, frame, 'checkpoint');

        // Assert
        expect(parsed.status).toBe(frame.status);
        expect(parsed.eventId).toBe(frame.eventId);
        expect(parsed.orderId).toBe(frame.orderId);
        expect(parsed.occurredAt).toBe(frame.occurredAt);
      }),
      { numRuns: 300 },
    );
  });

  const schemas: [string, z.ZodType][] = [
    ...Object.entries(ACTIONS).map(([action, { request }]): [string, z.ZodType] => [action, request]),
    ['createOrderBody', createOrderBodySchema],
    ['claims', claimsSchema],
    ['assignBody', assignBodySchema],
    ['listOrdersQuery', listOrdersQuerySchema],
    ['timelineQuery', timelineQuerySchema],
  ];

  /** Any JSON value, plus objects that look like frames so parsing gets past the first key. */
  const jsonInputArb = fc.oneof(
    fc.jsonValue(),
    fc
      .tuple(fc.constantFrom(...Object.keys(ACTIONS)), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 8 }))
      .map(([action, rest]) => ({ ...rest, action })),
    fc
      .tuple(fc.constantFrom(...STATUSES, 'lost'), fc.jsonValue())
      .map(([status, location]) => ({ ...rawCheckpoint(status), location })),
  );

  it.each(schemas)('parseOrThrow(%s, arbitrary JSON) returns or throws ValidationError, never anything else', (_name, schema) => {
    fc.assert(
      fc.property(jsonInputArb, (value) => {
        // Act
        let thrown: unknown;
        try {
          parseOrThrow(schema, value);
        } catch (err) {
          thrown = err;
        }

        // Assert
        if (thrown !== undefined) {
          expect(thrown).toBeInstanceOf(ValidationError);
          expect((thrown as ValidationError).code).toBe('VALIDATION');
          expect((thrown as ValidationError).message).toMatch(/^Invalid request: ".+" /);
        }
      }),
      { numRuns: 200 },
    );
  });
});
