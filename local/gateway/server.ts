/**
 * The local API Gateway: one HTTP server on 127.0.0.1 that
 * - upgrades `/ws` to a WebSocket (`websocket.ts`: `$connect`, `$default`,
 *   `$disconnect`, API Gateway's and the contract's limits);
 * - answers the `@connections` management API (`connections-api.ts`);
 * - turns `/api/*` into HTTP API (payload 2.0) events (`http-api.ts`);
 * - serves extra local routes (`/_local/*`, the console).
 * The events themselves are built in `events.ts`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../../shared/runtime/log';
import type { LocalCredentials } from '../credentials';
import { hostRefusal } from '../loopback-guard';
import { ConnectionsApi, managementId, type ManagementTransport } from './connections-api';
import { handleApiRequest, type HttpApiHandler } from './http-api';
import { refuse, requestUrl, sendJson } from './http';
import { WebSocketApi, type WebSocketHandlers } from './websocket';

/** Every handler the gateway invokes, typed with the events it builds. */
export interface GatewayHandlers extends WebSocketHandlers {
  readonly http: HttpApiHandler;
}

/** A local route: return true when it answered. */
export type LocalRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

export interface GatewayOptions {
  readonly port: number;
  /**
   * The handlers, read at each invocation: the runtime composes them once the
   * gateway listens (their config names its port). Nothing is invoked before
   * `isReady` (upgrades are refused with 503; the runtime's routes answer
   * `/api` with 503 until then).
   */
  readonly handlers: () => GatewayHandlers;
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

export class LocalGateway {
  private readonly server: Server;
  private readonly ws: WebSocketApi;
  private readonly connectionsApi: ConnectionsApi;
  private actualPort = 0;

  constructor(private readonly options: GatewayOptions) {
    this.ws = new WebSocketApi({
      handlers: options.handlers,
      log: options.log,
      idleSeconds: options.idleSeconds,
      maxSeconds: options.maxSeconds,
      isReady: options.isReady,
      domainName: () => this.domainName,
      ...(options.connectionExpiry !== undefined && { connectionExpiry: options.connectionExpiry }),
    });
    this.connectionsApi = new ConnectionsApi({ connections: this.ws, log: options.log, credentials: options.managementCredentials });
    this.server = createServer((req, res) => {
      this.handleHttp(req, res).catch((err: unknown) => {
        this.options.log.error('local gateway request failed', { path: req.url, error: err });
        if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'Local gateway error.' } });
        else res.destroy();
      });
    });
    this.server.on('upgrade', (req, socket, head) => {
      this.ws.upgrade(req, socket, head).catch((err: unknown) => {
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
    return this.ws.size;
  }

  private get domainName(): string {
    return `127.0.0.1:${this.actualPort}`;
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
    await this.ws.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Open connections, for local inspection (`GET /_local/connections`): no identities, no tokens. */
  describeConnections(): { connectionId: string; connectedAt: string; lastActiveAt: string; userAgent: string }[] {
    return this.ws.describe();
  }

  /**
   * The `@connections` API in this process, as an AWS SDK request handler:
   * the local runtime gives it to its `ApiGatewayManagementApiClient`.
   */
  managementTransport(): ManagementTransport {
    return this.connectionsApi.transport();
  }

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
      await this.connectionsApi.handleHttp(req, res, managed);
      return;
    }
    for (const route of this.options.routes) {
      if (await route(req, res, url)) return;
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      await handleApiRequest(this.options.handlers().http, req, res, url, this.domainName);
      return;
    }
    sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `No such path: ${url.pathname.slice(0, 200)}` } });
  }
}
