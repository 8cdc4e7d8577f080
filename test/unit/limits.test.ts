/**
 * CONTRACT §5's frame rate: the token bucket the gateway, the cloud's
 * `$default` handler and the SDK share, and the handler's middleware.
 */
import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { frameRateLimit } from '../../functions/common/frame-rate';
import type { WsMessageEvent, WsResult } from '../../functions/common/ws-events';
import { FRAME_BURST, FRAMES_PER_SECOND, rateLimitedReply, TokenBucket } from '../../shared/domain/limits';

describe('TokenBucket', () => {
  it('allows a burst of 100, then 20 a second', () => {
    const bucket = new TokenBucket();
    let allowed = 0;
    for (let i = 0; i < 150; i++) if (bucket.take(0)) allowed++;
    expect(allowed).toBe(FRAME_BURST);
    expect(bucket.waitMs(0)).toBe(1000 / FRAMES_PER_SECOND);
    expect(bucket.take(49)).toBe(false);
    expect(bucket.take(50)).toBe(true);
    // One second later: 20 more, not 21.
    let later = 0;
    for (let i = 0; i < 30; i++) if (bucket.take(1050)) later++;
    expect(later).toBe(20);
  });

  it('never holds more than its capacity, and ignores a clock that goes back', () => {
    const bucket = new TokenBucket(20, 5);
    expect(bucket.take(1_000_000)).toBe(true);
    let n = 0;
    for (let i = 0; i < 10; i++) if (bucket.take(10_000_000)) n++;
    expect(n).toBe(5);
    expect(bucket.take(0)).toBe(false);
    expect(bucket.waitMs(0)).toBeGreaterThan(0);
  });

  it('refuses a rate or capacity out of range', () => {
    expect(() => new TokenBucket(0, 10)).toThrow(RangeError);
    expect(() => new TokenBucket(10, 0.5)).toThrow(RangeError);
  });
});

describe('rateLimitedReply', () => {
  it('echoes the reqId and asks for at least 50 ms', () => {
    expect(rateLimitedReply('r1', 3.2)).toMatchObject({ type: 'error', reqId: 'r1', code: 'RATE_LIMITED', details: { retryAfterMs: 50 } });
    expect(rateLimitedReply(undefined, 120.1)).not.toHaveProperty('reqId');
    expect(rateLimitedReply(undefined, 120.1).details.retryAfterMs).toBe(121);
  });
});

describe('the $default frame-rate middleware', () => {
  function frame(connectionId: string, body: string): WsMessageEvent {
    return { requestContext: { connectionId, routeKey: '$default', eventType: 'MESSAGE' }, body, isBase64Encoded: false } as unknown as WsMessageEvent;
  }

  it('answers RATE_LIMITED without running the frame past the burst, per connection', async () => {
    let clock = 0;
    let ran = 0;
    const handler = middy(async (): Promise<WsResult> => {
      ran++;
      return { statusCode: 200, body: '{"type":"ack"}' };
    }).use(frameRateLimit({ now: () => clock }));
    const ctx = {} as never;
    for (let i = 0; i < FRAME_BURST; i++) await handler(frame('a', `{"action":"ping","reqId":"${i}"}`), ctx);
    expect(ran).toBe(FRAME_BURST);
    const refused = await handler(frame('a', '{"action":"ping","reqId":"over"}'), ctx);
    expect(ran).toBe(FRAME_BURST);
    expect(JSON.parse(refused.body ?? '')).toMatchObject({ type: 'error', reqId: 'over', code: 'RATE_LIMITED' });
    // Not JSON: still refused, with no reqId.
    expect(JSON.parse((await handler(frame('a', 'not json'), ctx)).body ?? '')).not.toHaveProperty('reqId');
    // Another connection has its own bucket.
    await handler(frame('b', '{"action":"ping"}'), ctx);
    expect(ran).toBe(FRAME_BURST + 1);
    // Time refills it.
    clock += 50;
    await handler(frame('a', '{"action":"ping"}'), ctx);
    expect(ran).toBe(FRAME_BURST + 2);
  });

  it('lets every frame through when disabled (the local gateway limits instead)', async () => {
    let ran = 0;
    const handler = middy(async (): Promise<WsResult> => {
      ran++;
      return { statusCode: 200 };
    }).use(frameRateLimit({ enabled: () => false, now: () => 0 }));
    for (let i = 0; i < FRAME_BURST + 20; i++) await handler(frame('a', '{}'), {} as never);
    expect(ran).toBe(FRAME_BURST + 20);
  });
});
