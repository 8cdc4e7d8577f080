/**
 * The one requester (web/sdk/requester.ts) that the SDK, the tests' client,
 * the bench and the simulator share: replies are paired with requests by
 * reqId, whatever order they come in; errors, timeouts and closes settle
 * each request once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Requester, WaypostRequestError } from '../../web/sdk/requester';

function wire() {
  const sent: Record<string, unknown>[] = [];
  let n = 0;
  const requester = new Requester({ send: (text) => sent.push(JSON.parse(text) as Record<string, unknown>), newReqId: () => `q${++n}`, timeoutMs: 1000 });
  return { requester, sent };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Requester', () => {
  it('sends the frame with a fresh reqId and resolves each request with its own reply, in any order', async () => {
    const { requester, sent } = wire();
    const ping = requester.request({ action: 'ping' });
    const read = requester.request({ action: 'read', orderId: 'o-1', seq: 2 });
    expect(sent).toEqual([
      { action: 'ping', reqId: 'q1' },
      { action: 'read', orderId: 'o-1', seq: 2, reqId: 'q2' },
    ]);
    expect(requester.receive({ type: 'ack', reqId: 'q2', orderId: 'o-1', seq: 2 })).toBe(true);
    expect(requester.receive({ type: 'ack', reqId: 'q1', now: 'n' })).toBe(true);
    expect(await read).toEqual({ type: 'ack', reqId: 'q2', orderId: 'o-1', seq: 2 });
    expect((await ping).now).toBe('n');
    expect(requester.waiting).toBe(0);
  });

  it('rejects an error reply with its code, message and details; exchange resolves it as it came', async () => {
    const { requester } = wire();
    const refused = requester.request({ action: 'ackAlert', alertId: 'a' });
    requester.receive({ type: 'error', reqId: 'q1', code: 'RATE_LIMITED', message: 'slow', details: { retryAfterMs: 40 } });
    const err = await refused.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaypostRequestError);
    expect(err).toMatchObject({ code: 'RATE_LIMITED', message: 'slow', details: { retryAfterMs: 40 } });

    const raw = requester.exchange({ action: 'nope' }, { reqId: 'mine' });
    requester.receive({ type: 'error', reqId: 'mine', code: 'UNKNOWN_ACTION', message: 'Unknown action "nope".' });
    expect(await raw).toEqual({ type: 'error', reqId: 'mine', code: 'UNKNOWN_ACTION', message: 'Unknown action "nope".' });
  });

  it('leaves pushes, replies nobody waits for and a second reply to the caller', async () => {
    const { requester } = wire();
    const ping = requester.request({ action: 'ping' });
    expect(requester.receive({ type: 'event', room: 'dispatch', event: {} })).toBe(false);
    expect(requester.receive({ type: 'ack', reqId: 'other' })).toBe(false);
    expect(requester.receive({ type: 'ack' })).toBe(false);
    expect(requester.receive({ type: 'ack', reqId: 'q1', now: 'n' })).toBe(true);
    expect(requester.receive({ type: 'ack', reqId: 'q1', now: 'again' })).toBe(false);
    expect((await ping).now).toBe('n');
  });

  it('fails a request with TIMEOUT when no reply comes in time, and forgets it', async () => {
    vi.useFakeTimers();
    const { requester } = wire();
    const ping = requester.request({ action: 'ping' }, { timeoutMs: 50 });
    const outcome = ping.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(49);
    expect(requester.waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toMatchObject({ code: 'TIMEOUT' });
    expect(requester.waiting).toBe(0);
    expect(requester.receive({ type: 'ack', reqId: 'q1', now: 'late' })).toBe(false);
  });

  it('fails every waiting request with the error failAll is given (the socket closed)', async () => {
    const { requester } = wire();
    const a = requester.request({ action: 'ping' }).catch((e: unknown) => e);
    const b = requester.exchange({ action: 'ping' }).catch((e: unknown) => e);
    const closed = new WaypostRequestError('DISCONNECTED', 'gone');
    requester.failAll(closed);
    expect(await a).toBe(closed);
    expect(await b).toBe(closed);
    expect(requester.waiting).toBe(0);
  });

  it('rejects at once, waiting for nothing, when the socket refuses to send', async () => {
    const requester = new Requester({
      send: () => {
        throw new Error('not open');
      },
    });
    await expect(requester.request({ action: 'ping' })).rejects.toThrow('not open');
    expect(requester.waiting).toBe(0);
  });
});
