/**
 * The protocol table (shared/domain/protocol.ts): every action has a request
 * and an ack schema, requests parse through it, and replies are shaped as
 * CONTRACT §5 says.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/domain/errors';
import { ACTIONS, ackReply, errorReply, isAction, parseRequest, reqIdOf, reqIdOfText } from '../../shared/domain/protocol';
import { caught } from './fixtures';

describe('the protocol table', () => {
  it('has exactly the actions of CONTRACT §5, each with a request schema whose action is its own name', () => {
    expect(Object.keys(ACTIONS).sort()).toEqual(['ackAlert', 'auth', 'checkpoint', 'message', 'ping', 'read', 'subscribe', 'unsubscribe']);
    for (const action of Object.keys(ACTIONS)) {
      expect(isAction(action)).toBe(true);
      // Another action's name is refused by this action's schema.
      const other = action === 'ping' ? 'auth' : 'ping';
      expect(ACTIONS[action as keyof typeof ACTIONS].request.safeParse({ action: other }).success).toBe(false);
    }
  });

  it('parses a request with its own schema, and names the bad field of a bad one', () => {
    expect(parseRequest('read', { action: 'read', orderId: 'o-1', seq: 3, reqId: 'r' })).toEqual({ action: 'read', orderId: 'o-1', seq: 3, reqId: 'r' });
    const err = caught(() => parseRequest('read', { action: 'read', orderId: 'o-1', seq: 0 }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toMatch(/"seq"/);
  });

  it.each([
    ['subscribe', { room: 'order:o-1', headSeq: 4, items: [{ orderId: 'o-1', seq: 4, kind: 'message' }], more: false }],
    ['subscribe', { room: 'dispatch' }],
    ['unsubscribe', { room: 'dispatch' }],
    ['checkpoint', { orderId: 'o-1', seq: 5, status: 'picked_up', duplicate: false, applied: true }],
    ['message', { orderId: 'o-1', seq: 6, duplicate: true }],
    ['read', { orderId: 'o-1', seq: 6 }],
    ['ackAlert', { alert: { alertId: 'a-1', state: 'acknowledged' } }],
    ['ping', { now: '2026-12-04T10:00:00.000Z' }],
    ['auth', { exp: 1_800_000_000 }],
  ] as const)('describes the %s ack the server sends', (action, fields) => {
    expect(ACTIONS[action].ack.safeParse(fields).success).toBe(true);
  });

  it.each([
    ['checkpoint', { orderId: 'o-1', seq: 5, status: 'lost', duplicate: false, applied: true }],
    ['checkpoint', { orderId: 'o-1', seq: 5, status: 'picked_up', duplicate: false }],
    ['subscribe', { room: 'order:o-1', items: [{ seq: 1 }] }],
    ['ackAlert', { alert: {} }],
    ['auth', {}],
  ] as const)('refuses a %s ack that is not what the contract says', (action, fields) => {
    expect(ACTIONS[action].ack.safeParse(fields).success).toBe(false);
  });
});

describe('replies', () => {
  it('an ack is type, the reqId when there was one, then the fields', () => {
    expect(JSON.stringify(ackReply('r-1', { now: 'x' }))).toBe('{"type":"ack","reqId":"r-1","now":"x"}');
    expect(ackReply(undefined, { now: 'x' })).toEqual({ type: 'ack', now: 'x' });
    expect('reqId' in ackReply(undefined, { now: 'x' })).toBe(false);
  });

  it('an error carries code and message, and details only when there are some', () => {
    expect(errorReply({ code: 'FORBIDDEN', message: 'no', details: undefined }, 'r')).toEqual({ type: 'error', reqId: 'r', code: 'FORBIDDEN', message: 'no' });
    expect(errorReply({ code: 'RATE_LIMITED', message: 'slow', details: { retryAfterMs: 50 } }, undefined)).toEqual({
      type: 'error',
      code: 'RATE_LIMITED',
      message: 'slow',
      details: { retryAfterMs: 50 },
    });
  });

  it('echoes a reqId only when it is a non-empty string of at most 128 characters', () => {
    expect(reqIdOf({ reqId: 'x'.repeat(128) })).toBe('x'.repeat(128));
    for (const value of [{ reqId: 'x'.repeat(129) }, { reqId: '' }, { reqId: 7 }, { reqId: null }, {}, null, 'reqId', [{ reqId: 'a' }]]) {
      expect(reqIdOf(value)).toBeUndefined();
    }
    expect(reqIdOfText('{"reqId":"a","action":"nope"}')).toBe('a');
    expect(reqIdOfText('{"reqId":"a"')).toBeUndefined();
    expect(reqIdOfText(`{"reqId":"a","pad":"${'x'.repeat(128 * 1024)}"}`)).toBeUndefined();
  });
});
