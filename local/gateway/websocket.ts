/**
 * The local WebSocket API: upgrades `/ws` after the `$connect` handler
 * accepts (any non-2xx answer refuses the upgrade with that status, and no
 * socket opens), turns each frame into a `$default` event and sends the
 * route response back, and calls `$disconnect` when the socket ends. With
 * API Gateway's limits (128 KiB messages, close 1009 past it; 10 min idle;
 * 2 h at most) and the contract's: a socket closes with 4001 when its token
 * expires (CONTRACT §2), unless the client renewed it with `auth` before
 * then; frames past 20 a second (bursts of 100), or past 100 waiting to be
 * handled, are answered `RATE_LIMITED` at once and never run (CONTRACT §5);
 * a socket that does not read while more than 1 MiB waits for it is closed
 * with 1008, and nothing (no push, no reply) ever waits for a socket to drain.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WsResult } from '../../functions/common/ws-events';
import { FRAME_BURST, rateLimitedReply, SEND_BUFFER_MAX_BYTES, SLOW_READER_CLOSE_CODE, TokenBucket } from '../../shared/domain/limits';
import { reqIdOfText } from '../../shared/domain/protocol';
import type { Logger } from '../../shared/runtime/log';
import { invoke, type LambdaHandler } from '../lambda';
import { hostRefusal, originRefusal } from '../loopback-guard';
import {
  identityOf,
  wsConnectEvent,
  wsDisconnectEvent,
  wsMessageEvent,
  type WsConnectEventV2,
  type WsDisconnectEventV2,
  type WsEventSource,
  type WsIdentity,
  type WsMessageEventV2,
} from './events';
import { refuse, requestUrl } from './http';

/** The close code of a socket whose token expired (CONTRACT §2). */
export const TOKEN_EXPIRED_CLOSE_CODE = 4001;

/** API Gateway's WebSocket message limit in bytes: larger messages close the socket with 1009. */
export const WS_MESSAGE_MAX_BYTES = 128 * 1024;

/**
 * Frames of one connection that may wait to be handled: one burst. A client
 * that sends faster than its frames are handled gets `RATE_LIMITED` past it,
 * so a flood never grows the runtime's memory (at most 100 frames of 128 KiB).
 */
export const INBOUND_WAITING_MAX = FRAME_BURST;

/** The WebSocket API's route handlers, typed with the events the gateway builds. */
export interface WebSocketHandlers {
  readonly connect: LambdaHandler<WsConnectEventV2, WsResult>;
  readonly disconnect: LambdaHandler<WsDisconnectEventV2, WsResult>;
  readonly message: LambdaHandler<WsMessageEventV2, WsResult>;
}

export interface WebSocketApiOptions {
  /** Read at each invocation (the runtime composes them once it listens; nothing is invoked before `isReady`). */
  readonly handlers: () => WebSocketHandlers;
  readonly log: Logger;
  /** API Gateway's idle timeout, in seconds. */
  readonly idleSeconds: number;
  /** API Gateway's hard limit of a connection, in seconds. */
  readonly maxSeconds: number;
  /** Until true, upgrades are refused with 503. */
  readonly isReady: () => boolean;
  /** `host:port` of the gateway, for the events' `domainName`. */
  readonly domainName: () => string;
  /**
   * A connection's token expiry as the handlers keep it (epoch seconds; moved
   * on by `auth`), or null when the connection is not known. Read after
   * `$connect` and again when that time comes: the socket is closed with 4001
   * then, unless it was renewed. Without it, sockets live to the 2-hour limit.
   */
  readonly connectionExpiry?: (connectionId: string) => Promise<number | null>;
}

/** What the `@connections` API may read of a connection. */
export interface ConnectionInfo {
  readonly connectedAt: Date;
  readonly lastActiveAt: Date;
  readonly identity: WsIdentity;
}

interface Connection extends WsEventSource {
  readonly socket: WebSocket;
  lastActiveAt: Date;
  idleTimer: NodeJS.Timeout;
  readonly hardTimer: NodeJS.Timeout;
  /** Fires at the token's expiry, to check for a renewal and otherwise close with 4001. */
  expiryTimer?: NodeJS.Timeout;
  /** The token's expiry (epoch seconds) as last read. */
  exp?: number;
  /** Frames of one connection are handled one after another, in arrival order. */
  queue: Promise<void>;
  /** Frames received and not yet answered: at most `INBOUND_WAITING_MAX`. */
  waiting: number;
  /** The connection's frame rate (CONTRACT §5). */
  readonly bucket: TokenBucket;
  disconnected: boolean;
}

const STAGE = 'local';

function newConnectionId(): string {
  // API Gateway ids look like `L0SM9cOFvHcCIhw=`.
  return `${randomBytes(10).toString('base64').slice(0, 14)}=`;
}

/**
 * Is this frame an `auth` request? API Gateway selects a route from the
 * frame's `action` the same way (`$request.body.action`); locally only
 * `auth` matters to the gateway, since it may move the token's expiry.
 */
export function isAuthFrame(body: string, isBase64Encoded: boolean): boolean {
  if (isBase64Encoded || !body.includes('"auth"')) return false;
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed !== null && typeof parsed === 'object' && (parsed as { action?: unknown }).action === 'auth';
  } catch {
    return false;
  }
}

/** The WebSocket side of the local gateway: its connections and their events. */
export class WebSocketApi {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: WS_MESSAGE_MAX_BYTES });
  private readonly connections = new Map<string, Connection>();

  constructor(private readonly options: WebSocketApiOptions) {}

  /** Open connections. */
  get size(): number {
    return this.connections.size;
  }

  /** Open connections, for local inspection (`GET /_local/connections`): no identities, no tokens. */
  describe(): { connectionId: string; connectedAt: string; lastActiveAt: string; userAgent: string }[] {
    return [...this.connections.values()].map((c) => ({
      connectionId: c.connectionId,
      connectedAt: c.connectedAt.toISOString(),
      lastActiveAt: c.lastActiveAt.toISOString(),
      userAgent: c.identity.userAgent,
    }));
  }

  /** Close every socket (each gets its `$disconnect`) and stop accepting. */
  async close(): Promise<void> {
    const pending = [...this.connections.values()].map((c) => this.drop(c, 1001, 'Going away'));
    await Promise.allSettled(pending);
    this.wss.close();
  }

  /** An HTTP upgrade request: refused (loopback guard, path, readiness, `$connect`'s answer) or accepted. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const refusal = hostRefusal(req) ?? originRefusal(req);
    if (refusal !== null) {
      refuse(socket, refusal.status, refusal.text);
      return;
    }
    const url = requestUrl(req.url);
    if (url === null) {
      refuse(socket, 400, 'Bad Request');
      return;
    }
    if (url.pathname !== '/ws') {
      refuse(socket, 404, 'Not Found');
      return;
    }
    if (!this.options.isReady()) {
      refuse(socket, 503, 'Service Unavailable');
      return;
    }
    const source: WsEventSource = {
      connectionId: newConnectionId(),
      connectedAt: new Date(),
      identity: identityOf(req),
      domainName: this.options.domainName(),
      stage: STAGE,
    };
    const result = await invoke(this.options.handlers().connect, wsConnectEvent(source, req, url));
    if (result.statusCode < 200 || result.statusCode >= 300) {
      refuse(socket, result.statusCode, result.statusCode === 401 ? 'Unauthorized' : result.statusCode === 403 ? 'Forbidden' : 'Error');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, source));
  }

  /**
   * `PostToConnection`: queue `text` on the connection, answered as soon as
   * it is queued. False when the connection is gone (or was just closed for
   * not reading).
   */
  post(connectionId: string, text: string): boolean {
    const c = this.connections.get(connectionId);
    if (!c || !this.sendToClient(c, text)) return false;
    this.touch(c);
    return true;
  }

  /** `GetConnection`, or undefined when the connection is gone. */
  info(connectionId: string): ConnectionInfo | undefined {
    const c = this.connections.get(connectionId);
    return c === undefined ? undefined : { connectedAt: c.connectedAt, lastActiveAt: c.lastActiveAt, identity: c.identity };
  }

  /**
   * `DeleteConnection`: false when the connection is gone. As API Gateway,
   * answered at once, `$disconnect` follows (a handler closing its own
   * connection must not wait for its own frame to end).
   */
  disconnect(connectionId: string): boolean {
    const c = this.connections.get(connectionId);
    if (c === undefined) return false;
    void this.closeFromServer(c);
    return true;
  }

  private accept(ws: WebSocket, source: WsEventSource): void {
    const c: Connection = {
      ...source,
      socket: ws,
      lastActiveAt: source.connectedAt,
      idleTimer: setTimeout(() => void this.drop(c, 1001, 'Going away'), this.options.idleSeconds * 1000),
      hardTimer: setTimeout(() => void this.drop(c, 1001, 'Going away'), this.options.maxSeconds * 1000),
      queue: Promise.resolve(),
      waiting: 0,
      bucket: new TokenBucket(),
      disconnected: false,
    };
    this.connections.set(c.connectionId, c);
    ws.on('message', (data, isBinary) => {
      this.touch(c);
      const body = isBinary ? Buffer.from(data as Buffer).toString('base64') : data.toString();
      if (c.waiting >= INBOUND_WAITING_MAX || !c.bucket.take(performance.now())) {
        this.refuseFrame(c, body, isBinary);
        return;
      }
      c.waiting++;
      c.queue = c.queue.then(() => this.onMessage(c, body, isBinary)).finally(() => c.waiting--);
    });
    ws.on('close', () => void this.onClosed(c));
    ws.on('error', (err) => this.options.log.debug('websocket error', { connectionId: c.connectionId, error: err }));
    void this.watchExpiry(c);
  }

  /**
   * Close the socket with 4001 when its token expires: read the expiry the
   * handlers keep for it, wait until then, and read it again (the client may
   * have renewed with `auth`), until it is past.
   */
  private async watchExpiry(c: Connection): Promise<void> {
    const lookup = this.options.connectionExpiry;
    if (lookup === undefined || c.disconnected) return;
    let exp: number | null;
    try {
      exp = await lookup(c.connectionId);
    } catch (err) {
      if (c.disconnected) return;
      this.options.log.warn('could not read a connection\'s expiry; trying again', { connectionId: c.connectionId, error: err });
      c.expiryTimer = setTimeout(() => void this.watchExpiry(c), 1000);
      return;
    }
    if (c.disconnected) return;
    const wait = exp === null ? 0 : exp * 1000 - Date.now();
    if (exp !== null) c.exp = exp;
    if (wait <= 0) {
      await this.drop(c, TOKEN_EXPIRED_CLOSE_CODE, 'Token expired');
      return;
    }
    c.expiryTimer = setTimeout(() => void this.watchExpiry(c), Math.min(wait, 2 ** 31 - 1));
  }

  /**
   * A frame over the connection's rate, or past what may wait: answered
   * `RATE_LIMITED` (with its `reqId`, so the client can retry exactly it) and
   * not run. The frame is parsed only to find the `reqId`.
   */
  private refuseFrame(c: Connection, body: string, isBase64Encoded: boolean): void {
    const reqId = isBase64Encoded ? undefined : reqIdOfText(body);
    this.sendToClient(c, JSON.stringify(rateLimitedReply(reqId, c.bucket.waitMs(performance.now()))));
  }

  /**
   * Queue a frame on the socket without waiting for it to be written. When
   * more than 1 MiB would then wait for a client that does not read, the
   * socket is closed with 1008 instead (CONTRACT §5) and false is returned:
   * nobody else ever waits for it.
   */
  private sendToClient(c: Connection, text: string): boolean {
    if (c.disconnected || c.socket.readyState !== c.socket.OPEN) return false;
    if (c.socket.bufferedAmount + Buffer.byteLength(text) > SEND_BUFFER_MAX_BYTES) {
      this.options.log.warn('closing a connection that does not read its socket', {
        connectionId: c.connectionId,
        bufferedBytes: c.socket.bufferedAmount,
      });
      void this.drop(c, SLOW_READER_CLOSE_CODE, 'Not reading');
      return false;
    }
    c.socket.send(text);
    return true;
  }

  private touch(c: Connection): void {
    c.lastActiveAt = new Date();
    c.idleTimer.refresh();
  }

  private async onMessage(c: Connection, body: string, isBase64Encoded: boolean): Promise<void> {
    try {
      const result = await invoke(this.options.handlers().message, wsMessageEvent(c, body, isBase64Encoded));
      if (result.body !== undefined && this.sendToClient(c, result.body)) this.touch(c);
      // `auth` may have moved the token's expiry, sooner or later: watch the new one.
      if (isAuthFrame(body, isBase64Encoded) && !c.disconnected) {
        clearTimeout(c.expiryTimer);
        void this.watchExpiry(c);
      }
    } catch (err) {
      // API Gateway answers a failed integration with this frame.
      this.options.log.error('$default handler failed', { connectionId: c.connectionId, error: err });
      this.sendToClient(c, JSON.stringify({ message: 'Internal server error', connectionId: c.connectionId, requestId: randomUUID() }));
    }
  }

  private async onClosed(c: Connection): Promise<void> {
    if (c.disconnected) return;
    c.disconnected = true;
    clearTimeout(c.idleTimer);
    clearTimeout(c.hardTimer);
    clearTimeout(c.expiryTimer);
    this.connections.delete(c.connectionId);
    await c.queue.catch(() => undefined);
    try {
      await invoke(this.options.handlers().disconnect, wsDisconnectEvent(c));
    } catch (err) {
      this.options.log.error('$disconnect handler failed', { connectionId: c.connectionId, error: err });
    }
  }

  /**
   * A `DeleteConnection`. The handlers delete a connection whose token has
   * expired: locally that is a 4001 close. The expiry is read again (an
   * `auth` may have moved it, sooner too), falling back to the last one seen.
   */
  private async closeFromServer(c: Connection): Promise<void> {
    let exp = c.exp;
    try {
      exp = (await this.options.connectionExpiry?.(c.connectionId)) ?? exp;
    } catch (err) {
      this.options.log.warn("could not read a connection's expiry", { connectionId: c.connectionId, error: err });
    }
    const expired = exp !== undefined && exp * 1000 <= Date.now();
    await this.drop(c, expired ? TOKEN_EXPIRED_CLOSE_CODE : 1000, expired ? 'Token expired' : 'Closed by server');
  }

  private async drop(c: Connection, code: number, reason: string): Promise<void> {
    if (c.socket.readyState === c.socket.OPEN) c.socket.close(code, reason);
    else c.socket.terminate();
    await this.onClosed(c);
  }
}
