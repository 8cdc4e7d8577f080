/**
 * The WebSocket API's limits on one connection (CONTRACT §5), and the token
 * bucket that enforces the frame rate. Browser-safe: the SDK paces itself
 * with the same figures and the same bucket the server applies.
 */

/** Frames a connection may send per second, sustained (CONTRACT §5). */
export const FRAMES_PER_SECOND = 20;
/** Frames a connection may send at once after a quiet spell (CONTRACT §5). */
export const FRAME_BURST = 100;
/** Rooms one connection may hold at once; one more is `LIMIT_EXCEEDED` (CONTRACT §5). */
export const ROOMS_PER_CONNECTION_MAX = 500;
/**
 * Bytes of pushes and replies that may wait for a connection that does not
 * read its socket; past it the socket is closed with 1008 (CONTRACT §5).
 */
export const SEND_BUFFER_MAX_BYTES = 1024 * 1024;
/** The close code of a socket closed for not reading (RFC 6455 §7.4.1: policy violation). */
export const SLOW_READER_CLOSE_CODE = 1008;

/**
 * A token bucket: `capacity` tokens, refilled continuously at `ratePerSecond`
 * (the rate and burst of CONTRACT §5 by default). Each allowed frame takes
 * one token; a frame that finds none is refused, and takes nothing.
 *
 * Time is passed in (milliseconds, any monotonic origin), so the bucket is a
 * pure value that tests drive without clocks.
 */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  /**
   * @param ratePerSecond tokens added per second (> 0)
   * @param capacity the most tokens held, the burst (>= 1)
   * @throws RangeError for a rate or capacity out of range
   */
  constructor(
    readonly ratePerSecond = FRAMES_PER_SECOND,
    readonly capacity = FRAME_BURST,
  ) {
    if (!(ratePerSecond > 0) || !(capacity >= 1)) throw new RangeError('a token bucket needs a rate > 0 and a capacity >= 1');
    this.tokens = capacity;
  }

  private refill(nowMs: number): void {
    if (this.last !== undefined && nowMs > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((nowMs - this.last) * this.ratePerSecond) / 1000);
    }
    if (this.last === undefined || nowMs > this.last) this.last = nowMs;
  }

  /** Take one token at `nowMs`: true when there was one (the frame may go), false otherwise. */
  take(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds from `nowMs` until a token is there (0: there is one now). */
  waitMs(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }
}

/** The reply to a frame refused for its connection's rate: it was not run, and may be sent again after `retryAfterMs`. */
export interface RateLimitedReply {
  readonly type: 'error';
  readonly reqId?: string;
  readonly code: 'RATE_LIMITED';
  readonly message: string;
  readonly details: { readonly retryAfterMs: number };
}

/**
 * The `RATE_LIMITED` reply (CONTRACT §5), the same from the local gateway and
 * the cloud's handler.
 *
 * @param reqId the refused frame's, when it had one
 * @param retryAfterMs when a token is there again (at least 50 ms is given)
 */
export function rateLimitedReply(reqId: string | undefined, retryAfterMs: number): RateLimitedReply {
  return {
    type: 'error',
    ...(reqId !== undefined && { reqId }),
    code: 'RATE_LIMITED',
    message: `Too many requests on this connection: at most ${FRAMES_PER_SECOND} a second, in bursts of ${FRAME_BURST}. Wait and send it again.`,
    details: { retryAfterMs: Math.max(50, Math.ceil(retryAfterMs)) },
  };
}
