/**
 * One WebSocket to Waypost, kept open: reconnects through a `Backoff` (full
 * jitter), a keep-alive `ping`, the token renewed before it expires (`auth`),
 * requests paired with replies by the `Requester` and paced under the
 * server's rate. It knows nothing of rooms or the outbox: pushes go to
 * `events.push`, and `events.opened` says when to rejoin and resend (the
 * socket.io-client `Manager` seam).
 */
import type { AckOf, Action, RequestInput } from '../../shared/domain/protocol';
import { FRAME_BURST, FRAMES_PER_SECOND, TokenBucket } from '../../shared/domain/limits';
import { Backoff } from './backoff';
import { Requester, WaypostRequestError } from './requester';
import { browserWebSocket, type WebSocketLike } from './socket';
import { currentToken, TokenRenewal, tokenTimes, type TokenSource, type TokenTimes } from './token';

/** The close code of a socket whose token expired (CONTRACT §2). */
export const TOKEN_EXPIRED_CLOSE_CODE = 4001;

export type ConnectionState = 'connecting' | 'open' | 'offline' | 'closed';

export interface ConnectionOptions {
  /** The WebSocket URL, without the token (added as `?token=`). */
  readonly url: string;
  readonly token: TokenSource;
  readonly webSocket?: (url: string) => WebSocketLike;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly requestTimeoutMs?: number;
  /** ms between keep-alive pings while open; 0 turns them off (default 9 minutes). */
  readonly keepAliveMs?: number;
  readonly random?: () => number;
}

/** What a connection tells its owner. */
export interface ConnectionEvents {
  readonly state: (state: ConnectionState) => void;
  /** The socket opened (after `state('open')`): rejoin rooms, resend the outbox. */
  readonly opened: () => void;
  /** A frame that is no reply to a request (`event`, `revoked`, a late reply). */
  readonly push: (frame: Record<string, unknown>) => void;
  readonly renewed: (exp: number) => void;
  readonly expired: (exp: number | undefined) => void;
}

/**
 * The client's own pace, 90% of the server's rate and burst (CONTRACT §5), so
 * that timer jitter and clock drift never make the server refuse a frame.
 */
const SEND_RATE = FRAMES_PER_SECOND * 0.9;
const SEND_BURST = Math.floor(FRAME_BURST * 0.9);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Connection {
  readonly backoff: Backoff;
  private socket: WebSocketLike | undefined;
  private stateValue: ConnectionState = 'closed';
  private wanted = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  /** Renews the open socket's token (a new one per socket). */
  private renewal: TokenRenewal | undefined;
  /** The `exp` (epoch seconds) of the token the last socket lived on. */
  private tokenExp: number | undefined;
  /** Pairs replies with requests on the current socket (a new one per socket). */
  private requester: Requester | undefined;
  /** Paces this connection's frames under the server's rate; a new connection starts with a full burst. */
  private sendBucket = new TokenBucket(SEND_RATE, SEND_BURST);

  constructor(
    private readonly options: ConnectionOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.backoff = new Backoff(options.backoff?.initialMs ?? 250, options.backoff?.maxMs ?? 15_000, options.random ?? Math.random);
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Keep the socket open from now on; when closed or offline, dial now (not at the end of the backoff). */
  connect(): void {
    this.wanted = true;
    if (this.stateValue === 'closed' || this.stateValue === 'offline') {
      clearTimeout(this.reconnectTimer);
      void this.dial();
    }
  }

  /** Close for good: no reconnect. */
  close(): void {
    this.wanted = false;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.keepAliveTimer);
    this.renewal?.stop();
    this.socket?.close(1000, 'client closed');
    this.setState('closed');
  }

  /** Drop the socket as a network failure would (code 4000); it reconnects. */
  drop(): void {
    this.socket?.close(4000, 'reconnect');
  }

  /**
   * One request, one reply: the ack, or a `WaypostRequestError` with the
   * contract's code. Requests are paced under the server's per-connection
   * rate (CONTRACT §5: 20 a second, bursts of 100) by a token bucket a little
   * below it, so a long outbox replay or a burst of subscribes waits instead
   * of being refused; and a `RATE_LIMITED` reply, which means the frame was
   * not run, is waited out (`details.retryAfterMs`, at most 10 s; else 1 s)
   * and the frame sent again, never reported to the caller.
   *
   * @throws {WaypostRequestError} the reply's code; `OFFLINE` when not connected (or the socket dropped while it waited its turn); `TIMEOUT`; `DISCONNECTED`
   */
  async request<A extends Action>(frame: RequestInput<A>): Promise<AckOf<A>> {
    for (;;) {
      await this.pace();
      try {
        const requester = this.requester;
        if (requester === undefined || this.stateValue !== 'open') throw new WaypostRequestError('OFFLINE', 'Not connected.');
        return await requester.request(frame);
      } catch (err) {
        if (!(err instanceof WaypostRequestError) || err.code !== 'RATE_LIMITED') throw err;
        const retryAfterMs = (err.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
        await sleep(typeof retryAfterMs === 'number' && retryAfterMs > 0 ? Math.min(retryAfterMs, 10_000) : 1000);
      }
    }
  }

  /** Wait for a token of the client-side bucket; fails with `OFFLINE` when not connected. */
  private async pace(): Promise<void> {
    for (;;) {
      if (this.socket === undefined || this.stateValue !== 'open') throw new WaypostRequestError('OFFLINE', 'Not connected.');
      if (this.sendBucket.take(Date.now())) return;
      await sleep(this.sendBucket.waitMs(Date.now()));
    }
  }

  private async dial(): Promise<void> {
    this.setState('connecting');
    let socket: WebSocketLike;
    let times: TokenTimes | null;
    let receivedAt: number;
    try {
      const token = await currentToken(this.options.token);
      receivedAt = Date.now();
      times = tokenTimes(token);
      socket = (this.options.webSocket ?? browserWebSocket)(`${this.options.url}?token=${encodeURIComponent(token)}`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    const requester = new Requester({ send: (text) => socket.send(text), timeoutMs: this.options.requestTimeoutMs ?? 15_000 });
    this.requester = requester;
    socket.onopen = () => {
      this.backoff.reset();
      this.sendBucket = new TokenBucket(SEND_RATE, SEND_BURST);
      this.setState('open');
      const every = this.options.keepAliveMs ?? 9 * 60_000;
      clearInterval(this.keepAliveTimer);
      if (every > 0) this.keepAliveTimer = setInterval(() => void this.request({ action: 'ping' }).catch(() => undefined), every);
      this.renewal?.stop();
      this.renewal = new TokenRenewal(
        this.options.token,
        async (fresh) => {
          const ack = await this.request({ action: 'auth', token: fresh });
          return typeof ack.exp === 'number' ? ack.exp : undefined;
        },
        (exp) => this.events.renewed(exp),
      );
      this.renewal.start(times, receivedAt);
      this.events.opened();
    };
    socket.onmessage = (ev) => this.onFrame(requester, typeof ev.data === 'string' ? ev.data : String(ev.data));
    socket.onerror = () => undefined;
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      clearInterval(this.keepAliveTimer);
      if (this.renewal !== undefined) this.tokenExp = this.renewal.exp;
      this.renewal?.stop();
      this.renewal = undefined;
      this.requester = undefined;
      requester.failAll(new WaypostRequestError('DISCONNECTED', 'The connection dropped before the reply.'));
      if (ev.code === TOKEN_EXPIRED_CLOSE_CODE && typeof this.options.token === 'string') {
        // The token ran out and there is nothing to renew it with: reconnecting would only be refused.
        this.wanted = false;
        this.setState('closed');
        this.events.expired(this.tokenExp);
        return;
      }
      // After a 4001 close (token expired) too: `dial` asks the provider for a fresh token.
      if (this.wanted) this.scheduleReconnect();
      else this.setState('closed');
    };
  }

  private scheduleReconnect(): void {
    this.setState('offline');
    const wait = this.backoff.fail();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.dial(), wait);
  }

  private onFrame(requester: Requester, text: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (!requester.receive(frame)) this.events.push(frame);
  }

  private setState(s: ConnectionState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.events.state(s);
  }
}
