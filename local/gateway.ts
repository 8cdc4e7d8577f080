/**
 * The local API Gateway: one HTTP server on 127.0.0.1 that
 * - upgrades `/ws` to a WebSocket after the `$connect` handler accepts the
 *   token (401 and no socket otherwise), turns each text frame into a
 *   `$default` event and sends the route response back, and calls
 *   `$disconnect` when the socket ends; with API Gateway's limits (128 KiB
 *   messages, close 1009 past it; 10 min idle; 2 h at most), and the
 *   contract's own: a socket closes with 4001 when its token expires
 *   (CONTRACT §2), unless the client renewed it with `auth` before then;
 *   and the limits of CONTRACT §5 on each connection: frames past 20 a
 *   second (bursts of 100), or past 100 waiting to be handled, are answered
 *   `RATE_LIMITED` at once and never run; a socket that does not read while
 *   more than 1 MiB waits for it is closed with 1008, and nothing (no push,
 *   no reply) ever waits for a socket to drain;
 * - answers the `@connections` management API (`POST`/`GET`/`DELETE
 *   /@connections/{id}`, 410 for a gone connection), so
 *   `ApiGatewayManagementApiClient` runs unchanged against it; a push is
 *   answered as soon as it is queued on the socket, as API Gateway does;
 *   over HTTP only with a SigV4 signature of the runtime's own credentials
 *   (403 otherwise), and in this process through `managementTransport`;
 * - turns `/api/*` into HTTP API (payload 2.0) events for the HTTP handler;
 * - serves extra local routes (`/_local/*`, the console).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { WebSocketServer, type WebSocket } from 'ws';
import { FRAME_BURST, rateLimitedReply, SEND_BUFFER_MAX_BYTES, SLOW_READER_CLOSE_CODE, TokenBucket } from '../shared/domain/limits';
import { dict, ownValue } from '../shared/domain/user-keys';
import { reqIdOfText } from '../shared/domain/protocol';
import type { Logger } from '../shared/runtime/log';
import { invoke, type LambdaHandler } from './lambda';
import type { LocalCredentials } from './credentials';
import { hostRefusal, originRefusal } from './loopback-guard';
import { sigV4Refusal } from './sigv4';

/** The close code of a socket whose token expired (CONTRACT §2). */
export const TOKEN_EXPIRED_CLOSE_CODE = 4001;

/** API Gateway's WebSocket message limit: larger messages close the socket with 1009. */
export const WS_MESSAGE_MAX_BYTES = 128 * 1024;
/** The local HTTP body cap (API Gateway's is 10 MB; handlers enforce their own, smaller, limits). */
const HTTP_BODY_CAP_BYTES = 1024 * 1024;

/** One answer of the `@connections` API. */
interface ManagementAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

function jsonAnswer(status: number, value: unknown, headers: Record<string, string> = {}): ManagementAnswer {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(value)) };
}

/** An AWS SDK request handler (Smithy's `HttpHandler`) that answers `@connections` calls in this process. */
export interface ManagementTransport {
  readonly metadata: { readonly handlerProtocol: string };
  handle(request: { method: string; path: string; body?: unknown }): Promise<{
    response: { statusCode: number; headers: Record<string, string>; body: Uint8Array };
  }>;
  updateHttpClientConfig(): void;
  httpHandlerConfigs(): Record<string, never>;
  destroy(): void;
}

export interface WsResult {
  statusCode: number;
  body?: string;
}

export interface GatewayHandlers {
  readonly connect: LambdaHandler<unknown, WsResult>;
  readonly disconnect: LambdaHandler<unknown, WsResult>;
  readonly message: LambdaHandler<unknown, WsResult>;
  readonly http: LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
}

/** A local route: return true when it answered. */
export type LocalRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

export interface GatewayOptions {
  readonly port: number;
  readonly handlers: GatewayHandlers;
  readonly log: Logger;
  readonly idleSeconds: number;
  readonly maxSeconds: number;
  /** Routes tried before `/api`: health, `/_local/*`, the console. */
  readonly routes: readonly LocalRoute[];
  /** Until true, WebSocket upgrades are refused with 503. */
  readonly isReady: () => boolean;
  /**
   * A connection's token expiry as the handlers keep it (epoch seconds; moved
   * on by `auth`), or null when the connection is not known. Read after
   * `$connect` and again when that time comes: the socket is closed with 4001
   * then, unless it was renewed. Without it, sockets live to the 2-hour limit.
   */
  readonly connectionExpiry?: (connectionId: string) => Promise<number | null>;
  /** The credentials whose SigV4 signature the HTTP `@connections` API requires (the runtime's own). */
  readonly managementCredentials: LocalCredentials;
}

interface Connection {
  readonly id: string;
  readonly socket: WebSocket;
  readonly connectedAt: Date;
  readonly sourceIp: string;
  readonly userAgent: string;
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

/**
 * Frames of one connection that may wait to be handled: one burst. A client
 * that sends faster than its frames are handled gets `RATE_LIMITED` past it,
 * so a flood never grows the runtime's memory (at most 100 frames of 128 KiB).
 */
export const INBOUND_WAITING_MAX = FRAME_BURST;

function connectionId(): string {
  // API Gateway ids look like `L0SM9cOFvHcCIhw=`.
  return `${randomBytes(10).toString('base64').slice(0, 14)}=`;
}

export class LocalGateway {
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Map<string, Connection>();
  private readonly stage = 'local';
  private actualPort = 0;

  constructor(private readonly options: GatewayOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: WS_MESSAGE_MAX_BYTES });
    this.server = createServer((req, res) => {
      this.handleHttp(req, res).catch((err: unknown) => {
        this.options.log.error('local gateway request failed', { path: req.url, error: err });
        if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'Local gateway error.' } });
        else res.destroy();
      });
    });
    this.server.on('upgrade', (req, socket, head) => {
      this.handleUpgrade(req, socket, head).catch((err: unknown) => {
        this.options.log.error('websocket upgrade failed', { error: err });
        refuse(socket, 500, 'Internal Server Error');
      });
    });
    this.server.keepAliveTimeout = 5000;
  }

  get port(): number {
    return this.actualPort;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, '127.0.0.1', () => {
        const address = this.server.address();
        this.actualPort = typeof address === 'object' && address !== null ? address.port : this.options.port;
        resolve(this.actualPort);
      });
    });
  }

  /** Close every socket (each gets its `$disconnect`) and stop listening. */
  async close(): Promise<void> {
    const pending = [...this.connections.values()].map((c) => this.drop(c, 1001, 'Going away'));
    await Promise.allSettled(pending);
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Open connections, for local inspection (`GET /_local/connections`): no identities, no tokens. */
  describeConnections(): { connectionId: string; connectedAt: string; lastActiveAt: string; userAgent: string }[] {
    return [...this.connections.values()].map((c) => ({
      connectionId: c.id,
      connectedAt: c.connectedAt.toISOString(),
      lastActiveAt: c.lastActiveAt.toISOString(),
      userAgent: c.userAgent,
    }));
  }

  // ------------------------------------------------------------ WebSocket

  private requestContext(c: { id: string; connectedAt: Date }, eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT', routeKey: string) {
    const now = new Date();
    return {
      routeKey,
      eventType,
      messageId: eventType === 'MESSAGE' ? randomBytes(8).toString('base64url') : undefined,
      extendedRequestId: randomUUID(),
      requestTime: now.toUTCString(),
      messageDirection: 'IN',
      stage: this.stage,
      connectedAt: c.connectedAt.getTime(),
      requestTimeEpoch: now.getTime(),
      requestId: randomUUID(),
      domainName: `127.0.0.1:${this.actualPort}`,
      connectionId: c.id,
      apiId: 'local',
    };
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
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
    const id = connectionId();
    const connectedAt = new Date();
    const headers = flatHeaders(req.headers);
    // Names are the client's: a prototype-less object (the last of a repeated name wins, as before).
    const query = dict(url.searchParams);
    const result = await invoke(this.options.handlers.connect, {
      requestContext: this.requestContext({ id, connectedAt }, 'CONNECT', '$connect'),
      headers,
      queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
      isBase64Encoded: false,
    });
    if (result.statusCode < 200 || result.statusCode >= 300) {
      refuse(socket, result.statusCode, result.statusCode === 401 ? 'Unauthorized' : result.statusCode === 403 ? 'Forbidden' : 'Error');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, id, connectedAt, req));
  }

  private accept(ws: WebSocket, id: string, connectedAt: Date, req: IncomingMessage): void {
    const c: Connection = {
      id,
      socket: ws,
      connectedAt,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      userAgent: req.headers['user-agent'] ?? '',
      lastActiveAt: connectedAt,
      idleTimer: setTimeout(() => this.drop(c, 1001, 'Going away'), this.options.idleSeconds * 1000),
      hardTimer: setTimeout(() => this.drop(c, 1001, 'Going away'), this.options.maxSeconds * 1000),
      queue: Promise.resolve(),
      waiting: 0,
      bucket: new TokenBucket(),
      disconnected: false,
    };
    this.connections.set(id, c);
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
    ws.on('error', (err) => this.options.log.debug('websocket error', { connectionId: id, error: err }));
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
      exp = await lookup(c.id);
    } catch (err) {
      if (c.disconnected) return;
      this.options.log.warn('could not read a connection\'s expiry; trying again', { connectionId: c.id, error: err });
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
        connectionId: c.id,
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
      const result = await invoke(this.options.handlers.message, {
        requestContext: this.requestContext(c, 'MESSAGE', '$default'),
        body,
        isBase64Encoded,
      });
      if (result.body !== undefined && this.sendToClient(c, result.body)) this.touch(c);
      // `auth` may have moved the token's expiry, sooner or later: watch the new one.
      if (isAuthFrame(body, isBase64Encoded) && !c.disconnected) {
        clearTimeout(c.expiryTimer);
        void this.watchExpiry(c);
      }
    } catch (err) {
      // API Gateway answers a failed integration with this frame.
      this.options.log.error('$default handler failed', { connectionId: c.id, error: err });
      this.sendToClient(c, JSON.stringify({ message: 'Internal server error', connectionId: c.id, requestId: randomUUID() }));
    }
  }

  private async onClosed(c: Connection): Promise<void> {
    if (c.disconnected) return;
    c.disconnected = true;
    clearTimeout(c.idleTimer);
    clearTimeout(c.hardTimer);
    clearTimeout(c.expiryTimer);
    this.connections.delete(c.id);
    await c.queue.catch(() => undefined);
    try {
      await invoke(this.options.handlers.disconnect, {
        requestContext: this.requestContext(c, 'DISCONNECT', '$disconnect'),
        isBase64Encoded: false,
      });
    } catch (err) {
      this.options.log.error('$disconnect handler failed', { connectionId: c.id, error: err });
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
      exp = (await this.options.connectionExpiry?.(c.id)) ?? exp;
    } catch (err) {
      this.options.log.warn("could not read a connection's expiry", { connectionId: c.id, error: err });
    }
    const expired = exp !== undefined && exp * 1000 <= Date.now();
    await this.drop(c, expired ? TOKEN_EXPIRED_CLOSE_CODE : 1000, expired ? 'Token expired' : 'Closed by server');
  }

  private async drop(c: Connection, code: number, reason: string): Promise<void> {
    if (c.socket.readyState === c.socket.OPEN) c.socket.close(code, reason);
    else c.socket.terminate();
    await this.onClosed(c);
  }

  // ------------------------------------------------------------ HTTP

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const misdirected = hostRefusal(req);
    if (misdirected !== null) {
      sendJson(res, misdirected.status, { error: { code: 'FORBIDDEN', message: 'This server answers only 127.0.0.1, localhost and [::1].' } });
      return;
    }
    const url = requestUrl(req.url);
    if (url === null) {
      sendJson(res, 400, { error: { code: 'VALIDATION', message: 'The request target is not a valid path.' } });
      return;
    }
    const managed = managementId(req.url ?? '/');
    if (managed !== undefined) {
      await this.handleManagement(req, res, managed);
      return;
    }
    for (const route of this.options.routes) {
      if (await route(req, res, url)) return;
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      await this.handleApi(req, res, url);
      return;
    }
    sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `No such path: ${url.pathname.slice(0, 200)}` } });
  }

  /**
   * The `@connections` API over HTTP: what `ApiGatewayManagementApiClient`
   * calls by default. Only a request signed (SigV4) with the runtime's own
   * credentials is answered; anything else is 403, whatever the connection.
   */
  private async handleManagement(req: IncomingMessage, res: ServerResponse, id: string | null): Promise<void> {
    // The whole body is signed, so it is read up to the HTTP cap; a POST over 128 KiB is then `manage`'s 413.
    const raw = await readBody(req, HTTP_BODY_CAP_BYTES);
    if (raw === null) {
      sendJson(res, 413, { message: 'Message too long' }, { 'x-amzn-errortype': 'PayloadTooLargeException' });
      return;
    }
    const refusal = await sigV4Refusal(req, req.url ?? '/', raw, this.options.managementCredentials);
    if (refusal !== null) {
      this.options.log.debug('@connections request refused', { reason: refusal });
      sendJson(res, 403, { message: 'Forbidden' }, { 'x-amzn-errortype': 'ForbiddenException' });
      return;
    }
    if (id === null) {
      sendJson(res, 400, { message: 'Malformed connection id' });
      return;
    }
    const body = req.method === 'POST' ? raw : null;
    const answer = await this.manage(req.method ?? 'GET', id, body);
    res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) }).end(answer.body);
  }

  /**
   * The `@connections` API in this process: the same requests and answers as
   * over HTTP, without the socket round trip. The local runtime gives it to
   * the fan-out's `ApiGatewayManagementApiClient` as its request handler, so
   * the SDK still builds, signs and parses every call.
   */
  managementTransport(): ManagementTransport {
    return {
      metadata: { handlerProtocol: 'in-process' },
      handle: async (request) => {
        const id = managementId(request.path);
        if (id === undefined) throw new Error(`Not a @connections request: ${request.method} ${request.path}`);
        if (id === null) throw new Error(`Malformed connection id in ${request.path}`);
        const body = request.body === undefined || request.body === null ? null : Buffer.from(request.body as string | Uint8Array);
        const answer = await this.manage(request.method, id, body);
        return {
          response: {
            statusCode: answer.status,
            headers: { ...answer.headers, 'content-length': String(answer.body.length) },
            body: new Uint8Array(answer.body.buffer, answer.body.byteOffset, answer.body.length),
          },
        };
      },
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
      destroy: () => undefined,
    };
  }

  /** One `@connections` call, whichever way it came. */
  private async manage(method: string, id: string, body: Buffer | null): Promise<ManagementAnswer> {
    const c = this.connections.get(id);
    const gone = () => jsonAnswer(410, { message: `Connection ${id} is gone` }, { 'x-amzn-errortype': 'GoneException' });
    switch (method) {
      case 'POST': {
        if (body === null || body.length > WS_MESSAGE_MAX_BYTES) {
          return jsonAnswer(413, { message: 'Message too long' }, { 'x-amzn-errortype': 'PayloadTooLargeException' });
        }
        // Answered once queued, never after the socket drains: a client that
        // does not read holds back nobody (past 1 MiB it is closed, and gone).
        if (!c || !this.sendToClient(c, body.toString('utf8'))) return gone();
        this.touch(c);
        return { status: 200, headers: {}, body: Buffer.alloc(0) };
      }
      case 'GET':
        if (!c) return gone();
        return jsonAnswer(200, {
          ConnectedAt: c.connectedAt.toISOString(),
          LastActiveAt: c.lastActiveAt.toISOString(),
          Identity: { SourceIp: c.sourceIp, UserAgent: c.userAgent },
        });
      case 'DELETE': {
        if (!c) return gone();
        // As API Gateway: answered at once, `$disconnect` follows (a handler
        // closing its own connection must not wait for its own frame to end).
        void this.closeFromServer(c);
        return { status: 204, headers: {}, body: Buffer.alloc(0) };
      }
      default:
        return jsonAnswer(405, { message: 'Method not allowed' });
    }
  }

  private async handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const body = await readBody(req, HTTP_BODY_CAP_BYTES);
    if (body === null) {
      sendJson(res, 413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large.' } });
      return;
    }
    const now = new Date();
    const headers = flatHeaders(req.headers);
    const query = apiQuery(url.searchParams);
    const event: APIGatewayProxyEventV2 = {
      version: '2.0',
      routeKey: '$default',
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
      requestContext: {
        accountId: 'local',
        apiId: 'local',
        domainName: `127.0.0.1:${this.actualPort}`,
        domainPrefix: '127',
        http: {
          method: req.method ?? 'GET',
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: req.headers['user-agent'] ?? '',
        },
        requestId: randomUUID(),
        routeKey: '$default',
        stage: '$default',
        time: now.toUTCString(),
        timeEpoch: now.getTime(),
      },
      ...(body.length > 0 && { body: body.toString('utf8') }),
      isBase64Encoded: false,
    };
    const result = await invoke(this.options.handlers.http, event);
    const responseHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) responseHeaders[k] = String(v);
    res.writeHead(result.statusCode ?? 200, responseHeaders);
    res.end(result.isBase64Encoded && result.body !== undefined ? Buffer.from(result.body, 'base64') : (result.body ?? ''));
  }
}

/**
 * A request target as a URL on this server, or null when it is none (`//[`,
 * `//a:b`: a 400, never a thrown 500). An origin-form target (`/…`) is
 * always a path, so `//api/orders` stays the path `//api/orders` rather
 * than naming a host `api`.
 */
export function requestUrl(target: string | undefined): URL | null {
  const t = target ?? '/';
  try {
    return new URL(t.startsWith('/') ? `http://127.0.0.1${t}` : t, 'http://127.0.0.1');
  } catch {
    return null;
  }
}

/**
 * The connection id of a `@connections` request target: `/@connections/{id}`
 * at the path's root only (the SDK sends that for an endpoint without a
 * stage, as `WAYPOST_CALLBACK_URL` is locally), so `/api/x/@connections/id`
 * is no management call. Undefined for any other path, null for an id with
 * malformed percent-encoding.
 */
export function managementId(target: string): string | null | undefined {
  const queryAt = target.indexOf('?');
  const m = /^\/@connections\/([^/]+)$/.exec(queryAt < 0 ? target : target.slice(0, queryAt));
  return m === null ? undefined : decodedOrNull(m[1] ?? '');
}

/** `decodeURIComponent`, or null for malformed percent-encoding (`%E0`): a 4xx, never a thrown 500. */
export function decodedOrNull(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
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

/**
 * Request headers as API Gateway passes them: names lower-cased, repeated
 * values joined with commas. Names are the client's, so the object has no
 * prototype (`dict`): a header named `__proto__` or `constructor` is a
 * header like any other.
 */
export function flatHeaders(raw: IncomingMessage['headers']): Record<string, string> {
  const headers = dict<string>();
  for (const [k, v] of Object.entries(raw)) {
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  return headers;
}

/**
 * An HTTP API (payload 2.0) event's `queryStringParameters`: a repeated
 * parameter's values joined with commas, as API Gateway does. Names are the
 * client's, so the object has no prototype and "seen before" means an own
 * key: `?constructor=a` is `{constructor: "a"}`, not Object's function
 * joined with "a".
 */
export function apiQuery(params: URLSearchParams): Record<string, string> {
  const query = dict<string>();
  for (const [k, v] of params) {
    const before = ownValue(query, k);
    query[k] = before === undefined ? v : `${before},${v}`;
  }
  return query;
}

/** The body, or null when it is larger than `cap`. */
function readBody(req: IncomingMessage, cap: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > cap) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body).toString(),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** Refuse an upgrade with a plain HTTP status: no socket is opened. */
function refuse(socket: Duplex, status: number, text: string): void {
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
  }
  socket.destroy();
}
