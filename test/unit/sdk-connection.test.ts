/**
 * The SDK's connection parts without a server: `Backoff` (full jitter under
 * min(max, min·2^attempts), reset) and the `Connection` over a fake
 * WebSocketLike: failed dials wait the backoff's delays, an open resets it,
 * a `RATE_LIMITED` reply is waited out and the frame sent again, the
 * keep-alive pings, and requests fail `OFFLINE` when not connected.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '../support/fake-socket';
import { Backoff } from '../../web/sdk/backoff';
import { Connection, type ConnectionEvents, type ConnectionState } from '../../web/sdk/connection';
import { WaypostRequestError } from '../../web/sdk/requester';

describe('Backoff', () => {
  it('waits within [0, min(max, min·2^attempts)), the exponent capped at 16', () => {
    const top = new Backoff(100, 5_000, () => 0.999999);
    const low = new Backoff(100, 5_000, () => 0);
    expect(top.duration()).toBe(99);
    const caps = [200, 400, 800, 1600, 3200, 5000, 5000];
    for (const cap of caps) {
      expect(top.fail()).toBe(Math.floor(0.999999 * cap));
      expect(low.fail()).toBe(0);
    }
    expect(top.attempts).toBe(caps.length);
    const huge = new Backoff(1, Number.MAX_SAFE_INTEGER, () => 0.999999);
    for (let i = 0; i < 40; i++) huge.fail();
    expect(huge.duration()).toBe(Math.floor(0.999999 * 2 ** 16));
  });

  it('jitters fully: each wait is random × the cap, floored', () => {
    const values = [0.5, 0.25, 0.75, 0.1];
    const b = new Backoff(1000, 60_000, () => values.shift() ?? 0);
    expect([b.fail(), b.fail(), b.fail(), b.duration()]).toEqual([1000, 1000, 6000, 800]);
  });

  it('starts over at reset, and duration() does not count', () => {
    const b = new Backoff(250, 15_000, () => 0.5);
    b.fail();
    b.fail();
    expect(b.duration()).toBe(500);
    expect(b.duration()).toBe(500);
    expect(b.attempts).toBe(2);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.duration()).toBe(125);
    expect(new Backoff().duration()).toBeLessThan(250);
  });
});

function events(states: ConnectionState[]): ConnectionEvents {
  return { state: (s) => states.push(s), opened: () => undefined, push: () => undefined, renewed: () => undefined, expired: () => undefined };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Connection', () => {
  it('redials after the backoff delays while dialing fails, and resets the backoff once open', async () => {
    vi.useFakeTimers();
    const dials: number[] = [];
    const started = Date.now();
    const states: ConnectionState[] = [];
    const conn = new Connection(
      {
        url: 'ws://127.0.0.1:1/ws',
        token: 't',
        backoff: { initialMs: 100, maxMs: 1000 },
        random: () => 0.5,
        webSocket: () => {
          dials.push(Date.now() - started);
          if (dials.length <= 4) throw new Error('cannot dial');
          return new FakeSocket(() => ({ type: 'ack' }));
        },
      },
      events(states),
    );
    conn.connect();
    await vi.advanceTimersByTimeAsync(2_000);
    // Waits of 0.5 × 200, 400, 800, 1000 (the cap) ms.
    expect(dials).toEqual([0, 100, 300, 700, 1200]);
    expect(conn.state).toBe('open');
    expect(conn.backoff.attempts).toBe(0);
    expect(states).toEqual(['connecting', 'offline', 'connecting', 'offline', 'connecting', 'offline', 'connecting', 'offline', 'connecting', 'open']);
    conn.close();
    expect(conn.state).toBe('closed');
  });

  it('waits out a RATE_LIMITED reply (retryAfterMs) and sends the frame again; the caller only sees the ack', async () => {
    let socket: FakeSocket | undefined;
    const conn = new Connection(
      {
        url: 'ws://x/ws',
        token: 't',
        webSocket: () =>
          (socket = new FakeSocket((_f, n) =>
            n === 1 ? { type: 'error', code: 'RATE_LIMITED', message: 'slow down', details: { retryAfterMs: 30 } } : { type: 'ack', now: 'now' },
          )),
      },
      events([]),
    );
    await expect(conn.request({ action: 'ping' })).rejects.toMatchObject({ code: 'OFFLINE' });
    conn.connect();
    await vi.waitFor(() => expect(conn.state).toBe('open'));
    const started = Date.now();
    await expect(conn.request({ action: 'ping' })).resolves.toMatchObject({ type: 'ack', now: 'now' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(socket!.sent.map((f) => f.action)).toEqual(['ping', 'ping']);
    conn.close();
  });

  it('passes any other error reply to the caller, and pings to keep the socket alive', async () => {
    let socket: FakeSocket | undefined;
    const conn = new Connection(
      {
        url: 'ws://x/ws',
        token: 't',
        keepAliveMs: 20,
        webSocket: () => (socket = new FakeSocket((f) => (f.action === 'read' ? { type: 'error', code: 'FORBIDDEN', message: 'no' } : { type: 'ack', now: 'n' }))),
      },
      events([]),
    );
    conn.connect();
    await vi.waitFor(() => expect(conn.state).toBe('open'));
    const err = await conn.request({ action: 'read', orderId: 'o-1', seq: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaypostRequestError);
    expect((err as WaypostRequestError).code).toBe('FORBIDDEN');
    await vi.waitFor(() => expect(socket!.sent.filter((f) => f.action === 'ping').length).toBeGreaterThanOrEqual(2));
    conn.close();
  });
});
