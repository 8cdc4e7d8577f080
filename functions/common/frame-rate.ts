/**
 * The per-connection frame rate of CONTRACT §5 (20 a second, bursts of 100)
 * in the `$default` handler, for the cloud: API Gateway's own throttling is
 * per stage and route, not per connection, and answers in its own words, so
 * the handler keeps a token bucket per connection and answers `RATE_LIMITED`
 * without running the frame.
 *
 * The buckets live in the Lambda instance's memory: exact while one instance
 * serves a connection's frames, and at most N times the rate when N
 * instances share one connection's flood (each instance still answers past
 * its own bucket). The stage's throttle (lib/realtime-api.ts) bounds the sum.
 * Locally the gateway applies the same limit on arrival, before any queue,
 * so this middleware is off there (`WAYPOST_WS_FRAME_LIMIT=gateway`).
 */
import type { MiddlewareObj } from '@middy/core';
import { rateLimitedReply, TokenBucket } from '../../shared/domain/limits';
import { RecentMap } from '../../shared/runtime/recent-map';
import { reqIdOfText } from '../../shared/domain/protocol';
import { frameText, type WsMessageEvent, type WsResult } from './ws-events';

/** Connections whose buckets one instance remembers; the least recently seen go first. */
const REMEMBERED_CONNECTIONS = 50_000;

/**
 * A middy middleware for `$default`: a frame over its connection's rate is
 * answered `RATE_LIMITED` (with its `reqId`) and the handler is not called.
 *
 * @param options.enabled asked per frame (config is read on first use, not at import)
 * @param options.now milliseconds on a monotonic clock (tests pass their own)
 */
export function frameRateLimit(
  options: { enabled?: () => boolean; now?: () => number } = {},
): MiddlewareObj<WsMessageEvent, WsResult> {
  const { enabled = () => true, now = () => performance.now() } = options;
  const buckets = new RecentMap<string, TokenBucket>(REMEMBERED_CONNECTIONS);
  return {
    name: 'frame-rate-limit',
    before: (request) => {
      if (!enabled()) return undefined;
      const { connectionId } = request.event.requestContext;
      const bucket = buckets.get(connectionId) ?? new TokenBucket();
      buckets.set(connectionId, bucket);
      const at = now();
      if (bucket.take(at)) return undefined;
      const text = frameText(request.event);
      const reqId = text === undefined ? undefined : reqIdOfText(text);
      // Returning early skips the handler (middy's early response).
      return { statusCode: 200, body: JSON.stringify(rateLimitedReply(reqId, bucket.waitMs(at))) };
    },
  };
}
