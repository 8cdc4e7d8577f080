/**
 * "One id, one request" (CONTRACT §4, §5): the canonical digest and the pure
 * rule that tells a true replay from another request under a used id.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestCreate } from '../../shared/domain/orders';
import { canonicalDigest, canonicalJson, judgeReplay, requestDigest } from '../../shared/domain/request-digest';
import { checkpointFrameSchema, messageFrameSchema, parseOrThrow, type CreateOrderBody } from '../../shared/domain/schemas';
import { CREATE_BODY } from './fixtures';

/** A checkpoint frame with every field set, as the router parses it. */
const fullCheckpoint = parseOrThrow(checkpointFrameSchema, {
  action: 'checkpoint',
  reqId: 'req-1',
  eventId: 'ev-1',
  orderId: 'ord-1',
  status: 'delivered',
  occurredAt: '2024-05-01T10:00:00Z',
  location: { lat: 51.5, lng: -0.12, accuracyM: 8 },
  note: 'left with the neighbour',
  reason: 'nobody home',
  proof: { recipientType: 'neighbor', recipientName: 'Bo', photoKey: 'p-1', signatureKey: 's-1' },
});

const fullMessage = parseOrThrow(messageFrameSchema, {
  action: 'message',
  reqId: 'req-1',
  messageId: 'm-1',
  orderId: 'ord-1',
  text: 'At the door',
  attachment: { kind: 'image', key: 'img-1', name: 'door.jpg' },
});

/** The same object with its keys (at every depth) in reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)]));
  }
  return value;
}

const same = (stored: string, incoming: string, kind: 'checkpoint' | 'message' = 'checkpoint') =>
  judgeReplay({ kind, digest: stored }, { kind, digest: incoming });

describe('canonicalJson', () => {
  it('ignores key order at every depth, keeps array order, leaves out undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"x":2,"y":1}]},"b":1}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalJson([1, undefined, 'x'])).toBe('[1,null,"x"]');
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('keeps a `__proto__` key as data', () => {
    const parsed: unknown = JSON.parse('{"__proto__":{"polluted":1},"a":1}');
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"polluted":1},"a":1}');
    expect(canonicalJson(parsed)).not.toBe(canonicalJson({ a: 1 }));
  });

  it('gives the same text for any key order, and parses back to the value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(reversedKeys(value))).toBe(text);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe('requestDigest and judgeReplay: the same request or CONFLICT', () => {
  it('the same request, in any key order, with any reqId or none, is a duplicate', () => {
    const digest = requestDigest('checkpoint', fullCheckpoint);
    expect(requestDigest('checkpoint', reversedKeys(fullCheckpoint) as typeof fullCheckpoint)).toBe(digest);
    expect(requestDigest('checkpoint', { ...fullCheckpoint, reqId: 'another' })).toBe(digest);
    const { reqId: _reqId, ...withoutReqId } = fullCheckpoint;
    expect(requestDigest('checkpoint', withoutReqId)).toBe(digest);
    expect(same(digest, requestDigest('checkpoint', { ...fullCheckpoint, reqId: 'r-2' }))).toBe('duplicate');
    expect(digest).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it.each([
    ['orderId', { orderId: 'ord-2' }],
    ['status', { status: 'out_for_delivery' }],
    ['occurredAt', { occurredAt: '2024-05-01T10:00:01Z' }],
    ['occurredAt written another way', { occurredAt: '2024-05-01T10:00:00.000Z' }],
    ['location.lat', { location: { lat: 51.6, lng: -0.12, accuracyM: 8 } }],
    ['location.accuracyM', { location: { lat: 51.5, lng: -0.12 } }],
    ['location left out', { location: undefined }],
    ['note', { note: 'left with the neighbour.' }],
    ['note left out', { note: undefined }],
    ['reason', { reason: 'dog' }],
    ['proof.recipientType', { proof: { ...fullCheckpoint.proof, recipientType: 'proxy' } }],
    ['proof.recipientName', { proof: { ...fullCheckpoint.proof, recipientName: 'Bob' } }],
  ] as const)('a checkpoint differing in %s is CONFLICT', (_field, change) => {
    const stored = requestDigest('checkpoint', fullCheckpoint);
    expect(same(stored, requestDigest('checkpoint', { ...fullCheckpoint, ...change }))).toBe('conflict');
  });

  it.each([
    ['text', { text: 'At the gate' }],
    ['text left out', { text: undefined }],
    ['attachment.key', { attachment: { kind: 'image', key: 'img-2', name: 'door.jpg' } }],
    ['attachment.kind', { attachment: { kind: 'file', key: 'img-1', name: 'door.jpg' } }],
    ['attachment left out', { attachment: undefined }],
  ] as const)('a message differing in %s is CONFLICT', (_field, change) => {
    const stored = requestDigest('message', fullMessage);
    expect(same(stored, requestDigest('message', { ...fullMessage, ...change }), 'message')).toBe('conflict');
  });

  it('a message and a checkpoint never match, whatever their other fields', () => {
    const fields = { eventId: 'X', orderId: 'ord-1', text: 'hi' };
    const asMessage = requestDigest('message', { ...fields, action: 'message' });
    const asCheckpoint = requestDigest('checkpoint', { ...fields, action: 'checkpoint' });
    expect(asMessage).not.toBe(asCheckpoint);
    // Even with equal digests (and for a key stored before digests), the kind decides.
    expect(judgeReplay({ kind: 'message', digest: asMessage }, { kind: 'checkpoint', digest: asMessage })).toBe('conflict');
    expect(judgeReplay({ kind: 'message' }, { kind: 'checkpoint', digest: asCheckpoint })).toBe('conflict');
    expect(judgeReplay({ kind: 'checkpoint' }, { kind: 'message', digest: asMessage })).toBe('conflict');
  });

  it('a key stored before digests existed matches on kind alone', () => {
    expect(judgeReplay({ kind: 'checkpoint' }, { kind: 'checkpoint', digest: requestDigest('checkpoint', fullCheckpoint) })).toBe('duplicate');
    expect(judgeReplay({ kind: 'message' }, { kind: 'message', digest: requestDigest('message', fullMessage) })).toBe('duplicate');
  });

  it('any change to any field of a frame is CONFLICT; only reqId and key order are not (property)', () => {
    const frame = { action: 'checkpoint', reqId: 'r', eventId: 'e', orderId: 'o', status: 'picked_up', occurredAt: '2024-05-01T10:00:00Z' };
    const keys = ['eventId', 'orderId', 'status', 'occurredAt', 'note'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.string({ minLength: 1 }), fc.string(), (key, value, reqId) => {
        fc.pre((frame as Record<string, string>)[key] !== value);
        const stored = requestDigest('checkpoint', frame);
        expect(same(stored, requestDigest('checkpoint', { ...frame, [key]: value }))).toBe('conflict');
        expect(same(stored, requestDigest('checkpoint', { ...frame, reqId }))).toBe('duplicate');
      }),
    );
  });
});

describe('digestCreate (CONTRACT §4) is the same canonical digest', () => {
  const body: CreateOrderBody = CREATE_BODY;

  it('has not changed form: heads stored before still compare (value computed by the previous implementation)', () => {
    expect(digestCreate('ret-A', body)).toBe('eJzj6sMnTRIWLcMvrt7fOd-vjpciFuVFthc5VgH3g78');
    expect(digestCreate('ret-A', body)).toBe(canonicalDigest({ ...body, retailerId: 'ret-A' }));
  });

  it('is independent of key order and differs for another body', () => {
    expect(digestCreate('ret-A', reversedKeys(body) as CreateOrderBody)).toBe(digestCreate('ret-A', body));
    expect(digestCreate('ret-A', { ...body, destination: { address: '2 Main St' } })).not.toBe(digestCreate('ret-A', body));
  });
});
