/**
 * The local `@connections` management API (`POST`/`GET`/`DELETE
 * /@connections/{id}`), so `ApiGatewayManagementApiClient` runs unchanged
 * against it: 410 with `x-amzn-errortype: GoneException` for a gone
 * connection (the SDK then raises `GoneException`), 413 past 128 KiB, and a
 * push answered as soon as it is queued on the socket, as API Gateway does.
 * Over HTTP only with a SigV4 signature of the runtime's own credentials
 * (403 otherwise); in this process through `transport()`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/runtime/log';
import type { LocalCredentials } from '../credentials';
import { sigV4Refusal } from '../sigv4';
import { decodedOrNull, HTTP_BODY_CAP_BYTES, readBody, sendJson } from './http';
import { WS_MESSAGE_MAX_BYTES, type WebSocketApi } from './websocket';

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

export interface ConnectionsApiOptions {
  readonly connections: WebSocketApi;
  readonly log: Logger;
  /** The credentials whose SigV4 signature the HTTP API requires (the runtime's own). */
  readonly credentials: LocalCredentials;
}

/** The `@connections` API over the WebSocket API's connections. */
export class ConnectionsApi {
  constructor(private readonly options: ConnectionsApiOptions) {}

  /**
   * The API over HTTP: what `ApiGatewayManagementApiClient` calls by
   * default. Only a request signed (SigV4) with the runtime's own
   * credentials is answered; anything else is 403, whatever the connection.
   *
   * @param id the connection id from `managementId` (null: malformed, a 400 once signed).
   */
  async handleHttp(req: IncomingMessage, res: ServerResponse, id: string | null): Promise<void> {
    // The whole body is signed, so it is read up to the HTTP cap; a POST over 128 KiB is then `manage`'s 413.
    const raw = await readBody(req, HTTP_BODY_CAP_BYTES);
    if (raw === null) {
      sendJson(res, 413, { message: 'Message too long' }, { 'x-amzn-errortype': 'PayloadTooLargeException' });
      return;
    }
    const refusal = await sigV4Refusal(req, req.url ?? '/', raw, this.options.credentials);
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
    const answer = this.manage(req.method ?? 'GET', id, body);
    res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) }).end(answer.body);
  }

  /**
   * The API in this process: the same requests and answers as over HTTP,
   * without the socket round trip. The local runtime gives it to the
   * fan-out's `ApiGatewayManagementApiClient` as its request handler, so the
   * SDK still builds, signs and parses every call.
   */
  transport(): ManagementTransport {
    return {
      metadata: { handlerProtocol: 'in-process' },
      handle: async (request) => {
        const id = managementId(request.path);
        if (id === undefined) throw new Error(`Not a @connections request: ${request.method} ${request.path}`);
        if (id === null) throw new Error(`Malformed connection id in ${request.path}`);
        const body = request.body === undefined || request.body === null ? null : Buffer.from(request.body as string | Uint8Array);
        const answer = this.manage(request.method, id, body);
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
  private manage(method: string, id: string, body: Buffer | null): ManagementAnswer {
    const connections = this.options.connections;
    const gone = () => jsonAnswer(410, { message: `Connection ${id} is gone` }, { 'x-amzn-errortype': 'GoneException' });
    switch (method) {
      case 'POST': {
        if (body === null || body.length > WS_MESSAGE_MAX_BYTES) {
          return jsonAnswer(413, { message: 'Message too long' }, { 'x-amzn-errortype': 'PayloadTooLargeException' });
        }
        // Answered once queued, never after the socket drains: a client that
        // does not read holds back nobody (past 1 MiB it is closed, and gone).
        return connections.post(id, body.toString('utf8')) ? { status: 200, headers: {}, body: Buffer.alloc(0) } : gone();
      }
      case 'GET': {
        const c = connections.info(id);
        if (!c) return gone();
        return jsonAnswer(200, {
          ConnectedAt: c.connectedAt.toISOString(),
          LastActiveAt: c.lastActiveAt.toISOString(),
          Identity: { SourceIp: c.identity.sourceIp, UserAgent: c.identity.userAgent },
        });
      }
      case 'DELETE':
        return connections.disconnect(id) ? { status: 204, headers: {}, body: Buffer.alloc(0) } : gone();
      default:
        return jsonAnswer(405, { message: 'Method not allowed' });
    }
  }
}
